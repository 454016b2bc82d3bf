// The parsed form of a Go template (internal to src/template): a list of nodes, each with its
// source position for error messages.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace smolvlm::gotmpl {

struct Pos {
  int line = 1, col = 1;
};

struct Pipeline;

// One operand of a command.
struct Operand {
  enum class Kind { kDot, kVariable, kFunction, kLiteral, kNil, kPipe };
  Kind kind = Kind::kDot;
  Pos pos;
  std::string name;                    // variable ("$", "$x") or function name
  std::vector<std::string> fields;     // .A.B after the base (dot, variable or parenthesised pipe)
  nlohmann::json literal;              // kLiteral
  std::shared_ptr<Pipeline> pipe;      // kPipe
};

// "f a b" or a single operand; a function call when the first operand is kFunction.
struct Command {
  Pos pos;
  std::vector<Operand> args;
};

struct Pipeline {
  Pos pos;
  std::vector<std::string> decl;  // "$x" or "$i", "$e"
  bool assign = false;            // "$x = ..." (not ":=")
  std::vector<Command> cmds;
};

struct Node;
using NodeList = std::vector<std::unique_ptr<Node>>;

struct Node {
  enum class Kind { kText, kAction, kIf, kRange, kWith, kBreak, kContinue };
  Kind kind = Kind::kText;
  Pos pos;
  std::string text;  // kText
  Pipeline pipe;     // kAction, kIf, kRange, kWith
  NodeList list;     // if / range / with body
  NodeList else_list;
};

struct Tree {
  std::string name, source;
  NodeList root;
  std::set<std::string> vars;  // lower-cased field names referenced
};

// The functions the parser accepts (and the executor implements).
bool is_known_function(const std::string& name);

std::shared_ptr<Tree> parse_tree(const std::string& text, const std::string& name);
std::string execute_tree(const Tree& tree, const nlohmann::json& data);

}  // namespace smolvlm::gotmpl
