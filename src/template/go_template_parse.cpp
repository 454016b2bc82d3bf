// Lexer and recursive-descent parser for the Go text/template subset (see go_template.h).
#include <cctype>
#include <cstdint>

#include "base/utf8.h"
#include "base/error.h"
#include "template/go_template_ast.h"

namespace smolvlm::gotmpl {
namespace {

struct Token {
  enum class T { kText, kLeft, kRight, kIdent, kField, kDot, kVar, kString, kNumber, kLParen, kRParen,
                 kPipe, kDeclare, kAssign, kComma, kEof };
  T t = T::kEof;
  Pos pos;
  std::string s;         // text, identifier, field name (without '.'), variable, decoded string
  nlohmann::json num;    // kNumber (and char constants)
  bool adjacent = false; // no space before this token (".A.B", "$x.A", "(...).A")
};
using T = Token::T;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

class Lexer {
 public:
  Lexer(const std::string& src, const std::string& name) : s_(src), name_(name) {}

  std::vector<Token> run() {
    while (i_ < s_.size()) {
      const size_t open = s_.find("{{", i_);
      const size_t end = open == std::string::npos ? s_.size() : open;
      std::string text = s_.substr(i_, end - i_);
      if (trim_next_) {
        size_t k = 0;
        while (k < text.size() && is_space(text[k])) ++k;
        text.erase(0, k);
        trim_next_ = false;
      }
      const Pos text_pos = pos_at(i_);
      advance_to(end);
      if (open == std::string::npos) {
        push_text(text, text_pos);
        break;
      }
      // "{{- " trims the text before it (the dash must be followed by a space).
      const bool trim_left = open + 3 < s_.size() && s_[open + 2] == '-' && is_space(s_[open + 3]);
      if (trim_left) {
        while (!text.empty() && is_space(text.back())) text.pop_back();
      }
      push_text(text, text_pos);
      const Pos left_pos = pos_at(open);
      advance_to(open + 2 + (trim_left ? 2 : 0));
      if (s_.compare(i_, 2, "/*") == 0) {
        comment(left_pos);
        continue;
      }
      toks_.push_back(make(T::kLeft, left_pos));
      action();
    }
    toks_.push_back(make(T::kEof, pos_at(s_.size())));
    return std::move(toks_);
  }

 private:
  static Token make(T t, Pos p, std::string s = {}) {
    Token k;
    k.t = t;
    k.pos = p;
    k.s = std::move(s);
    return k;
  }
  [[noreturn]] void error(Pos p, const std::string& msg) const {
    fail("template: ", name_, ":", p.line, ":", p.col, ": ", msg);
  }
  Pos pos_at(size_t k) {
    while (pi_ < k) {
      if (s_[pi_] == '\n') {
        ++pp_.line;
        pp_.col = 1;
      } else {
        ++pp_.col;
      }
      ++pi_;
    }
    return pp_;
  }
  void advance_to(size_t k) { i_ = k; }
  void push_text(const std::string& text, Pos p) {
    if (!text.empty()) toks_.push_back(make(T::kText, p, text));
  }
  // Closing delimiter at i_: "}}" or " -}}" (the latter trims the following text).
  bool at_right(bool consume) {
    if (s_.compare(i_, 2, "}}") == 0) {
      if (consume) i_ += 2;
      return true;
    }
    if (i_ + 3 < s_.size() + 0 && is_space(s_[i_]) && s_.compare(i_ + 1, 3, "-}}") == 0) {
      if (consume) {
        i_ += 4;
        trim_next_ = true;
      }
      return true;
    }
    return false;
  }
  void comment(Pos p) {
    const size_t close = s_.find("*/", i_ + 2);
    if (close == std::string::npos) error(p, "unclosed comment");
    i_ = close + 2;
    if (!at_right(true)) error(p, "comment ends before closing delimiter");
  }
  void action() {
    bool prev_space = true;
    for (;;) {
      if (i_ >= s_.size()) error(pos_at(i_), "unclosed action");
      if (at_right(false)) {
        toks_.push_back(make(T::kRight, pos_at(i_)));
        at_right(true);
        return;
      }
      const char c = s_[i_];
      if (is_space(c)) {
        ++i_;
        prev_space = true;
        continue;
      }
      Token t;
      t.pos = pos_at(i_);
      t.adjacent = !prev_space;
      prev_space = false;
      const char n = i_ + 1 < s_.size() ? s_[i_ + 1] : '\0';
      if (c == '.' && !std::isdigit(static_cast<unsigned char>(n))) {
        size_t k = i_ + 1;
        while (k < s_.size() && is_ident_char(s_[k])) ++k;
        t.t = k == i_ + 1 ? T::kDot : T::kField;
        t.s = s_.substr(i_ + 1, k - i_ - 1);
        i_ = k;
      } else if (c == '$') {
        size_t k = i_ + 1;
        while (k < s_.size() && is_ident_char(s_[k])) ++k;
        t.t = T::kVar;
        t.s = s_.substr(i_, k - i_);
        i_ = k;
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t k = i_;
        while (k < s_.size() && is_ident_char(s_[k])) ++k;
        t.t = T::kIdent;
        t.s = s_.substr(i_, k - i_);
        i_ = k;
      } else if (std::isdigit(static_cast<unsigned char>(c)) ||
                 ((c == '-' || c == '+' || c == '.') && (std::isdigit(static_cast<unsigned char>(n)) || n == '.'))) {
        number(t);
      } else if (c == '"' || c == '`') {
        t.t = T::kString;
        t.s = c == '"' ? quoted(t.pos) : raw(t.pos);
      } else if (c == '\'') {
        char_const(t);
      } else if (c == ':' && n == '=') {
        t.t = T::kDeclare;
        i_ += 2;
      } else {
        static const std::string singles = "=|(),";
        static const T kinds[] = {T::kAssign, T::kPipe, T::kLParen, T::kRParen, T::kComma};
        const size_t k = singles.find(c);
        if (k == std::string::npos) error(t.pos, cat("unexpected \"", c, "\" in action"));
        t.t = kinds[k];
        ++i_;
      }
      toks_.push_back(std::move(t));
    }
  }
  void number(Token& t) {
    size_t k = i_;
    if (s_[k] == '-' || s_[k] == '+') ++k;
    const size_t start = k;
    bool is_float = false;
    if (s_.compare(k, 2, "0x") == 0 || s_.compare(k, 2, "0X") == 0) {
      k += 2;
      while (k < s_.size() && (std::isxdigit(static_cast<unsigned char>(s_[k])) || s_[k] == '_')) ++k;
    } else {
      while (k < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[k])) || s_[k] == '_' || s_[k] == '.' ||
                               s_[k] == 'e' || s_[k] == 'E' ||
                               ((s_[k] == '-' || s_[k] == '+') && (s_[k - 1] == 'e' || s_[k - 1] == 'E')))) {
        if (!std::isdigit(static_cast<unsigned char>(s_[k])) && s_[k] != '_') is_float = true;
        ++k;
      }
    }
    if (k < s_.size() && is_ident_char(s_[k])) error(t.pos, cat("bad number syntax: \"", s_.substr(i_, k + 1 - i_), "\""));
    std::string lit = s_.substr(i_, k - i_), digits;
    for (char ch : lit)
      if (ch != '_') digits += ch;
    t.t = T::kNumber;
    try {
      if (is_float) {
        t.num = std::stod(digits);
      } else {
        const bool hex = k - start > 2 && (s_[start + 1] == 'x' || s_[start + 1] == 'X');
        t.num = static_cast<int64_t>(std::stoll(digits, nullptr, hex ? 16 : 10));
      }
    } catch (const std::exception&) {
      error(t.pos, cat("bad number syntax: \"", lit, "\""));
    }
    i_ = k;
  }
  // One escape after a backslash at s_[i_] (i_ on the backslash); appends UTF-8.
  void escape(std::string& out, Pos p) {
    const char e = i_ + 1 < s_.size() ? s_[i_ + 1] : '\0';
    static const std::string from = "abfnrtv\\\"'", to = "\a\b\f\n\r\t\v\\\"'";
    const size_t k = from.find(e);
    if (k != std::string::npos && e) {
      out += to[k];
      i_ += 2;
      return;
    }
    int width = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
    if (width == 0) error(p, "unknown escape sequence in string");
    if (i_ + 2 + width > s_.size()) error(p, "unterminated escape in string");
    const uint32_t cp = static_cast<uint32_t>(std::stoul(s_.substr(i_ + 2, width), nullptr, 16));
    i_ += 2 + width;
    if (e == 'x') {
      out += static_cast<char>(cp);
      return;
    }
    smolvlm::append_utf8(out, cp);
  }
  std::string quoted(Pos p) {
    std::string out;
    ++i_;
    for (;;) {
      if (i_ >= s_.size() || s_[i_] == '\n') error(p, "unterminated quoted string");
      if (s_[i_] == '"') break;
      if (s_[i_] == '\\') {
        escape(out, p);
      } else {
        out += s_[i_++];
      }
    }
    ++i_;
    return out;
  }
  std::string raw(Pos p) {
    const size_t close = s_.find('`', i_ + 1);
    if (close == std::string::npos) error(p, "unterminated raw quoted string");
    std::string out = s_.substr(i_ + 1, close - i_ - 1);
    i_ = close + 1;
    return out;
  }
  void char_const(Token& t) {
    std::string out;
    ++i_;
    if (i_ < s_.size() && s_[i_] == '\\') {
      escape(out, t.pos);
    } else if (i_ < s_.size()) {
      out += s_[i_++];
      while (i_ < s_.size() && (static_cast<unsigned char>(s_[i_]) & 0xC0) == 0x80) out += s_[i_++];
    }
    if (i_ >= s_.size() || s_[i_] != '\'') error(t.pos, "unterminated character constant");
    ++i_;
    // Decode the (single) UTF-8 character to its code point.
    uint32_t cp = static_cast<unsigned char>(out[0]);
    const int extra = cp >= 0xF0 ? 3 : cp >= 0xE0 ? 2 : cp >= 0xC0 ? 1 : 0;
    cp &= extra == 0 ? 0xFF : (0x3F >> extra);
    for (int k = 1; k <= extra && k < static_cast<int>(out.size()); ++k) cp = (cp << 6) | (out[k] & 0x3F);
    t.t = T::kNumber;
    t.num = static_cast<int64_t>(cp);
  }

  const std::string& s_;
  const std::string& name_;
  size_t i_ = 0, pi_ = 0;
  Pos pp_;
  bool trim_next_ = false;
  std::vector<Token> toks_;
};

class Parser {
 public:
  Parser(std::vector<Token> toks, Tree& tree) : toks_(std::move(toks)), tree_(tree) {}

  void run() {
    End end = list(tree_.root);
    if (end != End::kEof) error(keyword_pos_, end == End::kEnd ? "unexpected {{end}}" : "unexpected {{else}}");
  }

 private:
  enum class End { kEof, kEnd, kElse };

  [[noreturn]] void error(Pos p, const std::string& msg) const {
    fail("template: ", tree_.name, ":", p.line, ":", p.col, ": ", msg);
  }
  const Token& peek(size_t ahead = 0) const { return toks_[std::min(k_ + ahead, toks_.size() - 1)]; }
  const Token& next() {
    return toks_[std::min(k_++, toks_.size() - 1)];
  }
  void expect(T t, const char* what) {
    if (peek().t != t) error(peek().pos, cat("expected ", what));
    next();
  }
  bool keyword(const char* kw) const { return peek().t == T::kIdent && peek().s == kw; }

  // Nodes until EOF, {{end}} or {{else}} (the latter two consumed up to the keyword).
  End list(NodeList& out) {
    for (;;) {
      const Token& t = next();
      if (t.t == T::kEof) return End::kEof;
      if (t.t == T::kText) {
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::kText;
        n->pos = t.pos;
        n->text = t.s;
        out.push_back(std::move(n));
        continue;
      }
      // t is "{{".
      const Token& kw = peek();
      if (kw.t == T::kIdent) {
        if (kw.s == "end" || kw.s == "else") keyword_pos_ = kw.pos;
        if (kw.s == "end") {
          next();
          expect(T::kRight, "}} after end");
          return End::kEnd;
        }
        if (kw.s == "else") {
          next();
          return End::kElse;
        }
        if (kw.s == "if" || kw.s == "range" || kw.s == "with") {
          out.push_back(control());
          continue;
        }
        if (kw.s == "break" || kw.s == "continue") {
          if (range_depth_ == 0) error(kw.pos, cat("{{", kw.s, "}} outside {{range}}"));
          auto n = std::make_unique<Node>();
          n->kind = kw.s == "break" ? Node::Kind::kBreak : Node::Kind::kContinue;
          n->pos = kw.pos;
          next();
          expect(T::kRight, cat("}} after ", n->kind == Node::Kind::kBreak ? "break" : "continue").c_str());
          out.push_back(std::move(n));
          continue;
        }
        if (kw.s == "define" || kw.s == "template" || kw.s == "block")
          error(kw.pos, cat("{{", kw.s, "}} is not supported"));
      }
      auto n = std::make_unique<Node>();
      n->kind = Node::Kind::kAction;
      n->pos = kw.pos;
      n->pipe = pipeline(true, T::kRight);
      out.push_back(std::move(n));
    }
  }

  // At the keyword if / range / with; consumes through the matching {{end}}.
  std::unique_ptr<Node> control() {
    const Token kw = next();
    auto n = std::make_unique<Node>();
    n->kind = kw.s == "if" ? Node::Kind::kIf : kw.s == "range" ? Node::Kind::kRange : Node::Kind::kWith;
    n->pos = kw.pos;
    n->pipe = pipeline(true, T::kRight);
    if (n->kind == Node::Kind::kRange) ++range_depth_;
    End end = list(n->list);
    if (n->kind == Node::Kind::kRange) --range_depth_;
    if (end == End::kEof) error(kw.pos, cat("unexpected EOF: {{", kw.s, "}} has no {{end}}"));
    if (end == End::kElse) {
      // "{{else if ...}}" / "{{else with ...}}" chain: a nested node that shares our {{end}}.
      if (n->kind != Node::Kind::kRange && keyword(kw.s.c_str())) {
        n->else_list.push_back(control());
        return n;
      }
      expect(T::kRight, "}} after else");
      if (list(n->else_list) != End::kEnd) error(kw.pos, cat("expected {{end}} for {{", kw.s, "}}"));
    }
    return n;
  }

  // A pipeline up to `close` (consumed): optional declaration, commands separated by '|'.
  Pipeline pipeline(bool allow_decl, T close) {
    Pipeline p;
    p.pos = peek().pos;
    if (allow_decl && peek().t == T::kVar) {
      size_t k = 1;
      std::vector<std::string> vars = {peek().s};
      if (peek(1).t == T::kComma && peek(2).t == T::kVar) {
        vars.push_back(peek(2).s);
        k = 3;
      }
      const T op = peek(k).t;
      if (op == T::kDeclare || op == T::kAssign) {
        for (size_t j = 0; j <= k; ++j) next();
        p.decl = vars;
        p.assign = op == T::kAssign;
        if (p.assign && vars.size() > 1) error(p.pos, "too many variables in assignment");
      }
    }
    for (;;) {
      Command c;
      c.pos = peek().pos;
      while (peek().t != T::kPipe && peek().t != close) {
        if (peek().t == T::kEof || peek().t == T::kRight) error(peek().pos, "unclosed action or missing \")\"");
        c.args.push_back(operand());
      }
      if (c.args.empty()) error(c.pos, p.cmds.empty() && peek().t == close ? "missing value for command" : "missing command");
      p.cmds.push_back(std::move(c));
      if (next().t == close) break;
    }
    return p;
  }

  Operand operand() {
    const Token& t = next();
    Operand o;
    o.pos = t.pos;
    switch (t.t) {
      case T::kDot: o.kind = Operand::Kind::kDot; break;
      case T::kField:
        o.kind = Operand::Kind::kDot;
        add_field(o, t.s);
        break;
      case T::kVar:
        o.kind = Operand::Kind::kVariable;
        o.name = t.s;
        break;
      case T::kString:
        o.kind = Operand::Kind::kLiteral;
        o.literal = t.s;
        break;
      case T::kNumber:
        o.kind = Operand::Kind::kLiteral;
        o.literal = t.num;
        break;
      case T::kLParen:
        o.kind = Operand::Kind::kPipe;
        o.pipe = std::make_shared<Pipeline>(pipeline(false, T::kRParen));
        break;
      case T::kIdent:
        if (t.s == "true" || t.s == "false") {
          o.kind = Operand::Kind::kLiteral;
          o.literal = t.s == "true";
        } else if (t.s == "nil") {
          o.kind = Operand::Kind::kNil;
        } else if (is_known_function(t.s)) {
          o.kind = Operand::Kind::kFunction;
          o.name = t.s;
        } else {
          error(t.pos, cat("function \"", t.s, "\" not defined"));
        }
        return o;
      default: error(t.pos, "unexpected token in operand");
    }
    while (peek().t == T::kField && peek().adjacent) add_field(o, next().s);
    return o;
  }

  void add_field(Operand& o, const std::string& f) {
    o.fields.push_back(f);
    std::string lower = f;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    tree_.vars.insert(lower);
  }

  std::vector<Token> toks_;
  Tree& tree_;
  size_t k_ = 0;
  Pos keyword_pos_;
  int range_depth_ = 0;
};

}  // namespace

std::shared_ptr<Tree> parse_tree(const std::string& text, const std::string& name) {
  auto tree = std::make_shared<Tree>();
  tree->name = name;
  tree->source = text;
  Parser(Lexer(tree->source, name).run(), *tree).run();
  return tree;
}

}  // namespace smolvlm::gotmpl
