// Executes a parsed Go template against a nlohmann::json value; the built-in functions.
#include <ctime>

#include "base/error.h"
#include "template/go_template.h"
#include "template/go_template_ast.h"
#include "template/go_template_value.h"

namespace smolvlm::gotmpl {
namespace {

using json = nlohmann::json;

const char* const kFunctions[] = {"and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "len", "index",
                                  "slice", "print", "printf", "println", "json", "currentDate", "yesterdayDate"};

// Go's "2006-01-02" of now (or yesterday) in local time, as Ollama's currentDate / yesterdayDate.
std::string local_date(int days_back) {
  std::time_t t = std::time(nullptr) - static_cast<std::time_t>(days_back) * 86400;
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

int64_t to_index(const json& v, const char* what) {
  if (!v.is_number_integer()) fail("cannot index slice/array with type ", type_name(v), " (", what, ")");
  return v.get<int64_t>();
}

class Exec {
 public:
  Exec(const Tree& tree, const json& root) : tree_(tree) { vars_.push_back({"$", root}); }

  std::string run(const json& dot) {
    walk_list(tree_.root, dot);
    return std::move(out_);
  }

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  [[noreturn]] void error(Pos p, const std::string& msg) const {
    fail("template: ", tree_.name, ":", p.line, ":", p.col, ": executing \"", tree_.name, "\": ", msg);
  }

  Flow walk_list(const NodeList& list, const json& dot) {
    for (const auto& n : list) {
      const Flow f = walk(*n, dot);
      if (f != Flow::kNormal) return f;
    }
    return Flow::kNormal;
  }

  Flow walk(const Node& n, const json& dot) {
    switch (n.kind) {
      case Node::Kind::kText: out_ += n.text; return Flow::kNormal;
      case Node::Kind::kBreak: return Flow::kBreak;
      case Node::Kind::kContinue: return Flow::kContinue;
      case Node::Kind::kAction: {
        json v = pipeline(n.pipe, dot, true);
        if (n.pipe.decl.empty()) out_ += v.is_null() ? "<no value>" : sprint_value(v);
        return Flow::kNormal;
      }
      case Node::Kind::kIf:
      case Node::Kind::kWith: {
        const size_t mark = vars_.size();
        json v = pipeline(n.pipe, dot, true);
        Flow f;
        if (truth(v)) {
          f = walk_list(n.list, n.kind == Node::Kind::kWith ? v : dot);
        } else {
          f = walk_list(n.else_list, dot);
        }
        vars_.resize(mark);
        return f;
      }
      case Node::Kind::kRange: return range(n, dot);
    }
    return Flow::kNormal;
  }

  Flow range(const Node& n, const json& dot) {
    const size_t mark = vars_.size();
    json v = pipeline(n.pipe, dot, false);
    const auto& decl = n.pipe.decl;
    for (const auto& d : decl) vars_.push_back({d, nullptr});
    // One iteration: bind $i, $e (or $e alone) and walk the body with dot = the element.
    auto body = [&](const json& key, const json& elem) {
      if (decl.size() == 1) vars_[mark].second = elem;
      if (decl.size() == 2) {
        vars_[mark].second = key;
        vars_[mark + 1].second = elem;
      }
      const size_t inner = vars_.size();
      const Flow f = walk_list(n.list, elem);
      vars_.resize(inner);
      return f;
    };
    bool any = false;
    if (v.is_array()) {
      for (size_t i = 0; i < v.size(); ++i) {
        any = true;
        if (body(json(static_cast<int64_t>(i)), v[i]) == Flow::kBreak) break;
      }
    } else if (v.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it) {
        any = true;
        if (body(json(it.key()), it.value()) == Flow::kBreak) break;
      }
    } else if (v.is_number_integer()) {
      if (decl.size() > 1) error(n.pos, "can't use two variables when ranging over an integer");
      for (int64_t i = 0; i < v.get<int64_t>(); ++i) {
        any = true;
        if (body(json(i), json(i)) == Flow::kBreak) break;
      }
    } else if (!v.is_null()) {
      error(n.pos, cat("range can't iterate over ", sprint_value(v)));
    }
    Flow f = Flow::kNormal;
    if (!any) f = walk_list(n.else_list, dot);
    vars_.resize(mark);
    return f;
  }

  // Evaluates a pipeline; with bind, a declaration (:=) or assignment (=) takes the value.
  json pipeline(const Pipeline& p, const json& dot, bool bind) {
    json v;
    bool has_final = false;
    for (const Command& c : p.cmds) {
      v = command(c, dot, has_final ? &v : nullptr);
      has_final = true;
    }
    if (bind && !p.decl.empty()) {
      if (p.assign) {
        lookup(p.pos, p.decl[0]) = v;
      } else {
        vars_.push_back({p.decl[0], v});
      }
    }
    return v;
  }

  json& lookup(Pos pos, const std::string& name) {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
      if (it->first == name) return it->second;
    error(pos, cat("undefined variable: ", name));
  }

  json field_chain(Pos pos, json v, const std::vector<std::string>& fields) {
    for (const std::string& f : fields) {
      if (v.is_object()) {
        auto it = v.find(f);
        v = it == v.end() ? json() : json(*it);  // missingkey=zero
      } else if (v.is_null()) {
        error(pos, cat("nil pointer evaluating interface {}.", f));
      } else {
        error(pos, cat("can't evaluate field ", f, " in type ", type_name(v)));
      }
    }
    return v;
  }

  // An operand as a value (a function name alone is a call without arguments).
  json operand(const Operand& o, const json& dot) {
    switch (o.kind) {
      case Operand::Kind::kDot: return field_chain(o.pos, dot, o.fields);
      case Operand::Kind::kVariable: return field_chain(o.pos, lookup(o.pos, o.name), o.fields);
      case Operand::Kind::kPipe: return field_chain(o.pos, pipeline(*o.pipe, dot, false), o.fields);
      case Operand::Kind::kLiteral: return o.literal;
      case Operand::Kind::kNil: return nullptr;
      case Operand::Kind::kFunction: return call(o, {}, dot, nullptr);
    }
    return nullptr;
  }

  json command(const Command& c, const json& dot, const json* final) {
    const Operand& head = c.args[0];
    if (head.kind == Operand::Kind::kFunction) return call(head, {c.args.begin() + 1, c.args.end()}, dot, final);
    if (c.args.size() > 1 || final) {
      const std::string what = head.fields.empty() ? "value" : cat("field ", head.fields.back());
      error(head.pos, cat("can't give argument to non-function ", what));
    }
    if (head.kind == Operand::Kind::kNil) error(head.pos, "nil is not a command");
    return operand(head, dot);
  }

  json call(const Operand& fn, const std::vector<Operand>& args, const json& dot, const json* final) {
    const std::string& name = fn.name;
    const size_t n = args.size() + (final ? 1 : 0);
    // The i-th argument, evaluated on demand (and / or short-circuit).
    auto arg = [&](size_t i) -> json { return i < args.size() ? operand(args[i], dot) : *final; };
    auto want = [&](size_t lo, size_t hi) {
      if (n < lo || n > hi) error(fn.pos, cat("wrong number of args for ", name, ": want ", lo == hi ? cat(lo) : cat("at least ", lo), " got ", n));
    };
    try {
      if (name == "and" || name == "or") {
        want(1, SIZE_MAX);
        json v;
        for (size_t i = 0; i < n; ++i) {
          v = arg(i);
          if (truth(v) != (name == "and")) break;
        }
        return v;
      }
      if (name == "not") {
        want(1, 1);
        return !truth(arg(0));
      }
      std::vector<json> a;
      for (size_t i = 0; i < n; ++i) a.push_back(arg(i));
      if (name == "eq") {
        want(2, SIZE_MAX);
        for (size_t i = 1; i < n; ++i)
          if (go_equal(a[0], a[i])) return true;
        return false;
      }
      if (name == "ne") {
        want(2, 2);
        return !go_equal(a[0], a[1]);
      }
      if (name == "lt" || name == "le" || name == "gt" || name == "ge") {
        want(2, 2);
        if (name == "lt") return go_less(a[0], a[1]);
        if (name == "ge") return !go_less(a[0], a[1]);
        if (name == "gt") return go_less(a[1], a[0]);
        return !go_less(a[1], a[0]);
      }
      if (name == "len") {
        want(1, 1);
        if (a[0].is_string()) return static_cast<int64_t>(a[0].get_ref<const std::string&>().size());
        if (a[0].is_array() || a[0].is_object()) return static_cast<int64_t>(a[0].size());
        fail("len of type ", type_name(a[0]));
      }
      if (name == "index") return index(a);
      if (name == "slice") return slice(a);
      if (name == "print") return sprint(a);
      if (name == "println") return sprintln(a);
      if (name == "printf") {
        want(1, SIZE_MAX);
        if (!a[0].is_string()) fail("printf format is ", type_name(a[0]), ", not string");
        return sprintf(a[0].get<std::string>(), {a.begin() + 1, a.end()});
      }
      if (name == "json") {
        want(1, 1);
        return go_json(a[0]);
      }
      if (name == "currentDate" || name == "yesterdayDate") {
        want(0, 0);
        return local_date(name == "currentDate" ? 0 : 1);
      }
    } catch (const Error& e) {
      const std::string msg = e.what();
      if (msg.rfind("template: ", 0) == 0) throw;
      error(fn.pos, cat("error calling ", name, ": ", msg));
    }
    error(fn.pos, cat("function \"", name, "\" not defined"));
  }

  static json index(const std::vector<json>& a) {
    if (a.empty()) fail("wrong number of args: want at least 1 got 0");
    json v = a[0];
    for (size_t i = 1; i < a.size(); ++i) {
      if (v.is_array() || v.is_string()) {
        const int64_t k = to_index(a[i], "index");
        const int64_t len = v.is_array() ? static_cast<int64_t>(v.size()) : static_cast<int64_t>(v.get_ref<const std::string&>().size());
        if (k < 0 || k >= len) fail("index out of range: ", k);
        v = v.is_array() ? json(v[static_cast<size_t>(k)])
                         : json(static_cast<int64_t>(static_cast<unsigned char>(v.get_ref<const std::string&>()[k])));
      } else if (v.is_object()) {
        if (!a[i].is_string()) fail("value has type ", type_name(a[i]), "; should be string");
        auto it = v.find(a[i].get<std::string>());
        v = it == v.end() ? json() : json(*it);
      } else if (v.is_null()) {
        fail("index of untyped nil");
      } else {
        fail("can't index item of type ", type_name(v));
      }
    }
    return v;
  }

  static json slice(const std::vector<json>& a) {
    if (a.empty() || a.size() > 4) fail("wrong number of args: want 1 to 4 got ", a.size());
    const json& v = a[0];
    if (!v.is_array() && !v.is_string()) fail("can't slice item of type ", type_name(v));
    if (v.is_string() && a.size() == 4) fail("cannot 3-index slice a string");
    const int64_t len = v.is_array() ? static_cast<int64_t>(v.size()) : static_cast<int64_t>(v.get_ref<const std::string&>().size());
    int64_t idx[2] = {0, len};
    for (size_t i = 1; i < std::min<size_t>(a.size(), 3); ++i) {
      idx[i - 1] = to_index(a[i], "slice");
      if (idx[i - 1] < 0 || idx[i - 1] > len) fail("index out of range: ", idx[i - 1]);
    }
    if (idx[0] > idx[1]) fail("invalid slice index: ", idx[0], " > ", idx[1]);
    if (v.is_string()) return v.get_ref<const std::string&>().substr(static_cast<size_t>(idx[0]), static_cast<size_t>(idx[1] - idx[0]));
    return json(std::vector<json>(v.begin() + idx[0], v.begin() + idx[1]));
  }

  const Tree& tree_;
  std::vector<std::pair<std::string, json>> vars_;
  std::string out_;
};

}  // namespace

bool is_known_function(const std::string& name) {
  for (const char* f : kFunctions)
    if (name == f) return true;
  return false;
}

std::string execute_tree(const Tree& tree, const json& data) { return Exec(tree, data).run(data); }

}  // namespace smolvlm::gotmpl

namespace smolvlm {

GoTemplate GoTemplate::parse(const std::string& text, const std::string& name) {
  GoTemplate t;
  t.tree_ = gotmpl::parse_tree(text, name);
  return t;
}

// A default-constructed GoTemplate is the empty template.
static const gotmpl::Tree& tree_or_empty(const std::shared_ptr<const gotmpl::Tree>& t) {
  static const gotmpl::Tree empty;
  return t ? *t : empty;
}

std::string GoTemplate::execute(const nlohmann::json& data) const {
  return gotmpl::execute_tree(tree_or_empty(tree_), data);
}
const std::set<std::string>& GoTemplate::vars() const { return tree_or_empty(tree_).vars; }
const std::string& GoTemplate::source() const { return tree_or_empty(tree_).source; }
const std::string& GoTemplate::name() const { return tree_or_empty(tree_).name; }

}  // namespace smolvlm
