#include "store/modelfile.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <map>

#include "base/error.h"

namespace smolvlm {
namespace {

enum class ParamType { Int, Float, Bool, StringList };

// §1.5: the options a Modelfile PARAMETER may set, and their types.
const std::map<std::string, ParamType>& param_types() {
  static const std::map<std::string, ParamType> t = {
      {"num_ctx", ParamType::Int},        {"num_batch", ParamType::Int},       {"num_gpu", ParamType::Int},
      {"main_gpu", ParamType::Int},       {"use_mmap", ParamType::Bool},       {"num_thread", ParamType::Int},
      {"draft_num_predict", ParamType::Int}, {"num_keep", ParamType::Int},     {"seed", ParamType::Int},
      {"num_predict", ParamType::Int},    {"top_k", ParamType::Int},           {"top_p", ParamType::Float},
      {"min_p", ParamType::Float},        {"typical_p", ParamType::Float},     {"repeat_last_n", ParamType::Int},
      {"temperature", ParamType::Float},  {"repeat_penalty", ParamType::Float},
      {"presence_penalty", ParamType::Float}, {"frequency_penalty", ParamType::Float},
      {"stop", ParamType::StringList},
      {"max_tiles", ParamType::Int}};  // ours (is_ollama_parameter: false): at most N image tiles
  return t;
}

bool deprecated_param(const std::string& n) {
  static const char* const kNames[] = {"penalize_newline", "low_vram", "f16_kv", "logits_all", "vocab_only",
                                       "use_mlock", "mirostat", "mirostat_tau", "mirostat_eta"};
  return std::find(std::begin(kNames), std::end(kNames), n) != std::end(kNames);
}

const char* const kInstructions[] = {"from", "parameter", "template", "system", "adapter", "license",
                                     "message", "requires", "draft", "renderer", "parser"};

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_space(char c) { return c == ' ' || c == '\t'; }
bool is_newline(char c) { return c == '\r' || c == '\n'; }

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n\v\f";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// Ollama's unquote: strips """…""" or "…" when the value both starts and ends with them; false
// when it starts with a quote that is not closed (yet).
bool unquote(const std::string& s, std::string& out) {
  if (s.rfind("\"\"\"", 0) == 0) {
    if (s.size() >= 6 && s.compare(s.size() - 3, 3, "\"\"\"") == 0) {
      out = s.substr(3, s.size() - 6);
      return true;
    }
    return false;
  }
  if (!s.empty() && s[0] == '"') {
    if (s.size() >= 2 && s.back() == '"') {
      out = s.substr(1, s.size() - 2);
      return true;
    }
    return false;
  }
  out = s;
  return true;
}

bool parse_go_bool(const std::string& s, bool& v) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return v = true, true;
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False") return v = false, true;
  return false;
}

// A cursor over the text that tracks line and column (columns count characters, not bytes).
class Cursor {
 public:
  Cursor(const std::string& text, const std::string& source) : s_(text), source_(source) {
    if (s_.rfind("\xEF\xBB\xBF", 0) == 0) pos_ = 3;  // UTF-8 BOM
  }
  bool eof() const { return pos_ >= s_.size(); }
  char peek() const { return eof() ? '\0' : s_[pos_]; }
  size_t pos() const { return pos_; }
  int line() const { return line_; }
  int column() const { return col_; }
  void advance() {
    const char c = s_[pos_++];
    if (c == '\n' || (c == '\r' && peek() != '\n')) {
      ++line_;
      col_ = 1;
    } else if (c != '\r' && (static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      ++col_;
    }
  }
  std::string take_while(bool (*pred)(char)) {
    const size_t b = pos_;
    while (!eof() && pred(peek())) advance();
    return s_.substr(b, pos_ - b);
  }
  [[noreturn]] void error(int line, int col, const std::string& msg) const {
    fail(source_, " (line ", line, ", column ", col, "): ", msg);
  }
  [[noreturn]] void error_here(const std::string& msg) const { error(line_, col_, msg); }

 private:
  const std::string& s_;
  const std::string& source_;
  size_t pos_ = 0;
  int line_ = 1, col_ = 1;
};

bool word_char(char c) { return is_alpha(c) || (c >= '0' && c <= '9') || c == '_'; }

// The value after an instruction: up to the end of the line, or across lines until the quote that
// opened it closes (Ollama's rule: the value ends at the first newline where it unquotes).
std::string read_value(Cursor& cur) {
  const int line = cur.line(), col = cur.column();
  std::string raw;
  for (;;) {
    while (!cur.eof() && !is_newline(cur.peek())) {
      raw += cur.peek();
      cur.advance();
    }
    std::string out;
    if (unquote(trim(raw), out)) return out;
    if (cur.eof()) cur.error(line, col, "unexpected EOF: the quoted value that starts here is never closed");
    raw += cur.peek();  // the newline is part of a multi-line value
    cur.advance();
  }
}

}  // namespace

bool is_ollama_parameter(const std::string& name) { return name != "max_tiles" && param_types().count(name) > 0; }

std::optional<nlohmann::json> modelfile_parameter(const std::string& name, const std::string& value) {
  if (deprecated_param(name)) return std::nullopt;
  const auto it = param_types().find(name);
  if (it == param_types().end()) fail("unknown parameter '", name, "'");
  switch (it->second) {
    case ParamType::Int: {
      int64_t v = 0;
      const char* b = value.data();
      const char* e = b + value.size();
      if (b != e && *b == '+') ++b;
      auto r = std::from_chars(b, e, v);
      if (value.empty() || r.ec != std::errc() || r.ptr != e) fail("invalid int value [", value, "] for parameter '", name, "'");
      return nlohmann::json(v);
    }
    case ParamType::Float: {
      char* end = nullptr;
      const float f = std::strtof(value.c_str(), &end);
      if (value.empty() || std::isspace(static_cast<unsigned char>(value[0])) || end != value.c_str() + value.size()) {
        fail("invalid float value [", value, "] for parameter '", name, "'");
      }
      // Stored as Go stores a float32: its shortest decimal.
      char buf[64];
      auto r = std::to_chars(buf, buf + sizeof buf, f);
      *r.ptr = 0;
      return nlohmann::json(std::strtod(buf, nullptr));
    }
    case ParamType::Bool: {
      bool v = false;
      if (!parse_go_bool(value, v)) fail("invalid bool value [", value, "] for parameter '", name, "'");
      return nlohmann::json(v);
    }
    case ParamType::StringList: return nlohmann::json::array({value});
  }
  return std::nullopt;
}

std::string modelfile_quote(const std::string& s) {
  if (s.find('\n') != std::string::npos || (!s.empty() && (s.front() == ' ' || s.back() == ' '))) {
    if (s.find('"') != std::string::npos) return "\"\"\"" + s + "\"\"\"";
    return "\"" + s + "\"";
  }
  return s;
}

Modelfile parse_modelfile(const std::string& text, const std::string& source) {
  Modelfile mf;
  Cursor cur(text, source);
  for (;;) {
    while (!cur.eof() && (is_space(cur.peek()) || is_newline(cur.peek()))) cur.advance();
    if (cur.eof()) break;
    if (cur.peek() == '#') {
      while (!cur.eof() && !is_newline(cur.peek())) cur.advance();
      continue;
    }
    ModelfileCommand cmd;
    cmd.line = cur.line();
    cmd.column = cur.column();
    const std::string word = cur.take_while(is_alpha);
    cmd.name = lower(word);
    const bool known = std::find(std::begin(kInstructions), std::end(kInstructions), cmd.name) != std::end(kInstructions);
    if (word.empty() || !known || (!cur.eof() && !is_space(cur.peek()) && !is_newline(cur.peek()))) {
      std::string shown = word;
      while (!cur.eof() && !is_space(cur.peek()) && !is_newline(cur.peek()) && shown.size() < 40) {
        shown += cur.peek();
        cur.advance();
      }
      cur.error(cmd.line, cmd.column,
                cat("unknown instruction '", shown, "': command must be one of \"from\", \"license\", \"template\", "
                    "\"system\", \"adapter\", \"draft\", \"renderer\", \"parser\", \"parameter\", \"message\", or \"requires\""));
    }
    if (cur.eof() || is_newline(cur.peek())) cur.error(cmd.line, cmd.column, cat(word, " needs an argument"));
    cur.take_while(is_space);
    if (cmd.name == "adapter") {
      cur.error(cmd.line, cmd.column, "ADAPTER is not supported: smolvlm cannot apply LoRA adapters (merge the adapter into the model first)");
    }
    if (cmd.name == "draft") cur.error(cmd.line, cmd.column, "DRAFT is not supported: smolvlm has no speculative decoding");
    int kl = 0, kc = 0;  // the PARAMETER name / MESSAGE role
    if (cmd.name == "parameter" || cmd.name == "message") {
      kl = cur.line();
      kc = cur.column();
      cmd.key = cur.take_while(cmd.name == "parameter" ? word_char : is_alpha);
      if (cmd.key.empty() || !is_space(cur.peek())) {
        cur.error(kl, kc, cmd.name == "parameter" ? "PARAMETER needs a name (letters, digits, '_') and a value"
                                                  : "MESSAGE needs a role and a message");
      }
      if (cmd.name == "message" && cmd.key != "system" && cmd.key != "user" && cmd.key != "assistant") {
        cur.error(kl, kc, cat("message role must be one of \"system\", \"user\", or \"assistant\" (got '", cmd.key, "')"));
      }
      cur.take_while(is_space);
    }
    const int vl = cur.line(), vc = cur.column();
    cmd.value = read_value(cur);
    if (cmd.name == "from") {
      if (cmd.value.empty()) cur.error(vl, vc, "FROM needs a model name or a path");
      mf.from.push_back(cmd.value);
    } else if (cmd.name == "parameter") {
      std::optional<nlohmann::json> v;
      try {
        v = modelfile_parameter(cmd.key, cmd.value);
      } catch (const Error& e) {
        const bool unknown = std::string(e.what()).rfind("unknown parameter", 0) == 0;
        cur.error(unknown ? kl : vl, unknown ? kc : vc, e.what());
      }
      if (!v) {
        mf.warnings.push_back(cat("parameter ", cmd.key, " is deprecated (line ", cmd.line, ")"));
      } else if (v->is_array() && mf.parameters.contains(cmd.key)) {
        mf.parameters[cmd.key].push_back((*v)[0]);
      } else {
        mf.parameters[cmd.key] = *v;
      }
    } else if (cmd.name == "template") {
      mf.template_text = cmd.value;
    } else if (cmd.name == "system") {
      mf.system = cmd.value;
    } else if (cmd.name == "license") {
      mf.licenses.push_back(cmd.value);
    } else if (cmd.name == "renderer") {
      mf.renderer = cmd.value;
    } else if (cmd.name == "parser") {
      mf.parser = cmd.value;
    } else if (cmd.name == "requires") {
      std::string v = cmd.value.rfind('v', 0) == 0 ? cmd.value.substr(1) : cmd.value;
      // semver: MAJOR.MINOR.PATCH with an optional -pre / +build suffix
      size_t dots = 0, i = 0;
      bool ok = !v.empty();
      for (; i < v.size() && v[i] != '-' && v[i] != '+'; ++i) {
        if (v[i] == '.') ok = ok && i > 0 && v[i - 1] != '.', ++dots;
        else if (!std::isdigit(static_cast<unsigned char>(v[i]))) ok = false;
      }
      if (!ok || dots != 2 || i == 0 || v[i - 1] == '.') cur.error(vl, vc, "requires must be a valid semver (e.g. 0.14.0)");
      mf.requires_version = v;
    } else if (cmd.name == "message") {
      mf.messages.push_back(nlohmann::json{{"role", cmd.key}, {"content", cmd.value}});
    }
    mf.commands.push_back(std::move(cmd));
  }
  if (mf.from.empty()) fail(source, ": no FROM line");
  return mf;
}

}  // namespace smolvlm
