// A Go text/template engine: the subset Ollama's Modelfile TEMPLATEs use (ollama-contract.md §5.1).
// Parsed once into an AST, executed against a nlohmann::json value ("dot"). Supported: text and
// {{ }} actions with {{- -}} trimming, comments, .Field chains, $ and variables (:= and =),
// pipelines, if / else if / else with, range (arrays, objects, integers; $i, $e :=; else; break,
// continue), with, literals (strings, raw strings, chars, numbers, true/false/nil), parenthesised
// pipelines, and the functions and or not eq ne lt le gt ge len index slice print printf println
// plus Ollama's json, currentDate and yesterdayDate. Missing object keys give nil (Ollama runs with
// missingkey=zero), printed as "<no value>" as Go does. define / template / block and other
// functions are rejected at parse time with line:column.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace smolvlm {

namespace gotmpl {
struct Tree;
}

class GoTemplate {
 public:
  GoTemplate() = default;  // the empty template: renders ""
  // Throws Error "template: <name>:<line>:<col>: <message>" on a syntax error or unknown function.
  static GoTemplate parse(const std::string& text, const std::string& name = "template");

  // Throws Error "template: <name>:<line>:<col>: executing \"<name>\": <message>" on a run-time error
  // (a field of a non-object, an index out of range, incomparable types, ...).
  std::string execute(const nlohmann::json& data) const;

  // Every field name the template references (in .A.B chains and $x.A chains), lower-cased:
  // what Ollama's Template.Vars() reports ("messages", "response", "tools", "suffix", ...).
  const std::set<std::string>& vars() const;
  bool references(const std::string& lower_field) const { return vars().count(lower_field) > 0; }

  const std::string& source() const;
  const std::string& name() const;

 private:
  std::shared_ptr<const gotmpl::Tree> tree_;
};

}  // namespace smolvlm
