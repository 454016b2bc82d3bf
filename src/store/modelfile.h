// Ollama's Modelfile grammar (reference/ollama-contract.md §4): INSTRUCTION arguments lines,
// case-insensitive instructions, '#' comment lines, values to the end of the line (trimmed) or
// "quoted" / """triple quoted""" across lines (no escapes), PARAMETER values typed by the option
// table of §1.5 (repeated `stop` lines accumulate), MESSAGE roles system/user/assistant.
// Every error names the source, line and column: "Modelfile (line 3, column 11): unknown parameter 'x'".
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace smolvlm {

struct ModelfileCommand {
  std::string name;  // lower case: from, parameter, template, system, message, license, renderer,
                     // parser, requires
  std::string key;   // PARAMETER name / MESSAGE role
  std::string value; // unquoted
  int line = 0, column = 0;  // of the instruction
};

struct Modelfile {
  std::vector<ModelfileCommand> commands;  // in file order
  // Derived, in the shape of Ollama's /api/create request:
  std::vector<std::string> from;               // every FROM argument, as written
  nlohmann::json parameters = nlohmann::json::object();  // typed values; stop is an array
  std::optional<std::string> template_text, system, renderer, parser, requires_version;
  std::vector<nlohmann::json> messages;        // {"role","content"}
  std::vector<std::string> licenses;
  std::vector<std::string> warnings;           // deprecated parameters dropped
};

// Parses Modelfile text; `source` names it in errors. Throws Error.
Modelfile parse_modelfile(const std::string& text, const std::string& source = "Modelfile");

// Whether the real Ollama accepts PARAMETER `name` (max_tiles is ours: Ollama would refuse it).
bool is_ollama_parameter(const std::string& name);

// Types one PARAMETER value by Ollama's option table: int, float, bool or string (stop). Throws
// Error "unknown parameter 'x'" / "invalid int value [x]" ...; returns nullopt for a deprecated name.
std::optional<nlohmann::json> modelfile_parameter(const std::string& name, const std::string& value);

// Ollama's quoting when it writes a Modelfile back: "…" or """…""" only when the value has a
// newline or a leading/trailing space.
std::string modelfile_quote(const std::string& s);

}  // namespace smolvlm
