// Go semantics for template values: truthiness, fmt printing, comparisons, Printf, json.
#include "template/go_template_value.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "base/error.h"

namespace smolvlm::gotmpl {
namespace {

using json = nlohmann::json;

bool is_int(const json& v) { return v.is_number_integer(); }  // signed or unsigned

// Go's %v for a float64: strconv's 'g' with the shortest digits that round-trip, in exponent form
// when the decimal exponent is < -4 or >= 6 (1e+06, 123456, 0.0001, 1e-05).
std::string format_float(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "+Inf" : "-Inf";
  // Shortest round-tripping precision.
  char buf[64];
  int prec = 1;
  for (; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  // buf = "[-]d.ddde[+-]xx": split the digits and the decimal exponent.
  std::string s = buf;
  const size_t e = s.find('e');
  const int exp = std::atoi(s.c_str() + e + 1);
  std::string digits;
  for (size_t i = 0; i < e; ++i)
    if (std::isdigit(static_cast<unsigned char>(s[i]))) digits += s[i];
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  const std::string sign = d < 0 || (d == 0 && std::signbit(d)) ? "-" : "";
  if (exp < -4 || exp >= 6) {
    std::string m = digits.substr(0, 1);
    if (digits.size() > 1) m += "." + digits.substr(1);
    return cat(sign, m, "e", exp < 0 ? "-" : "+", std::abs(exp) < 10 ? "0" : "", std::abs(exp));
  }
  if (exp < 0) return sign + "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
  if (static_cast<int>(digits.size()) <= exp + 1) return sign + digits + std::string(exp + 1 - digits.size(), '0');
  return sign + digits.substr(0, exp + 1) + "." + digits.substr(exp + 1);
}

std::string bad_verb(char verb, const json& v) {
  if (v.is_null()) return cat("%!", verb, "(<nil>)");
  return cat("%!", verb, "(", type_name(v), "=", sprint_value(v), ")");
}

// Pads to width (left-aligned with '-', zero-filled with '0' for numbers).
std::string pad(std::string s, int width, bool left, bool zero) {
  // Width counts runes.
  int runes = 0;
  for (unsigned char c : s) runes += (c & 0xC0) != 0x80;
  if (runes >= width) return s;
  const size_t n = static_cast<size_t>(width - runes);
  if (left) return s + std::string(n, ' ');
  if (zero) {
    const size_t at = !s.empty() && (s[0] == '-' || s[0] == '+') ? 1 : 0;
    return s.insert(at, std::string(n, '0'));
  }
  return std::string(n, ' ') + s;
}

}  // namespace

bool truth(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return false;
    case json::value_t::boolean: return v.get<bool>();
    case json::value_t::number_integer: return v.get<int64_t>() != 0;
    case json::value_t::number_unsigned: return v.get<uint64_t>() != 0;
    case json::value_t::number_float: return v.get<double>() != 0;
    case json::value_t::string: return !v.get_ref<const std::string&>().empty();
    default: return !v.empty();
  }
}

std::string type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "<nil>";
    case json::value_t::boolean: return "bool";
    case json::value_t::number_integer: return "int";
    case json::value_t::number_unsigned: return "uint64";
    case json::value_t::number_float: return "float64";
    case json::value_t::string: return "string";
    case json::value_t::array: return "[]interface {}";
    default: return "map[string]interface {}";
  }
}

std::string sprint_value(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "<nil>";
    case json::value_t::boolean: return v.get<bool>() ? "true" : "false";
    case json::value_t::number_integer: return std::to_string(v.get<int64_t>());
    case json::value_t::number_unsigned: return std::to_string(v.get<uint64_t>());
    case json::value_t::number_float: return format_float(v.get<double>());
    case json::value_t::string: return v.get<std::string>();
    case json::value_t::array: {
      std::string s = "[";
      for (size_t i = 0; i < v.size(); ++i) s += (i ? " " : "") + sprint_value(v[i]);
      return s + "]";
    }
    default: {
      std::string s = "map[";
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        s += cat(first ? "" : " ", it.key(), ":", sprint_value(it.value()));
        first = false;
      }
      return s + "]";
    }
  }
}

std::string sprint(const std::vector<json>& args) {
  // fmt.Sprint adds a space between operands when neither is a string.
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0 && !args[i].is_string() && !args[i - 1].is_string()) out += ' ';
    out += sprint_value(args[i]);
  }
  return out;
}

std::string sprintln(const std::vector<json>& args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) out += (i ? " " : "") + sprint_value(args[i]);
  return out + "\n";
}

std::string go_quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\v': out += "\\v"; break;
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string go_json(const json& v) {
  const std::string s = v.dump();
  std::string out;
  for (char c : s) {
    if (c == '<') out += "\\u003c";
    else if (c == '>') out += "\\u003e";
    else if (c == '&') out += "\\u0026";
    else out += c;
  }
  return out;
}

std::string sprintf(const std::string& f, const std::vector<json>& args) {
  std::string out;
  size_t argi = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      out += f[i];
      continue;
    }
    bool left = false, zero = false, plus = false;
    size_t k = i + 1;
    for (; k < f.size() && (f[k] == '-' || f[k] == '0' || f[k] == '+' || f[k] == ' ' || f[k] == '#'); ++k) {
      left |= f[k] == '-';
      zero |= f[k] == '0';
      plus |= f[k] == '+';
    }
    int width = 0, prec = -1;
    while (k < f.size() && std::isdigit(static_cast<unsigned char>(f[k]))) width = width * 10 + (f[k++] - '0');
    if (k < f.size() && f[k] == '.') {
      prec = 0;
      ++k;
      while (k < f.size() && std::isdigit(static_cast<unsigned char>(f[k]))) prec = prec * 10 + (f[k++] - '0');
    }
    if (k >= f.size()) {
      out += "%!(NOVERB)";
      break;
    }
    const char verb = f[k];
    i = k;
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (argi >= args.size()) {
      out += cat("%!", verb, "(MISSING)");
      continue;
    }
    const json& a = args[argi++];
    std::string s;
    bool numeric = false;
    switch (verb) {
      case 'v':
        s = sprint_value(a);
        break;
      case 's':
        if (!a.is_string()) {
          s = a.is_array() || a.is_object() ? sprint_value(a) : bad_verb(verb, a);
        } else {
          s = a.get<std::string>();
          if (prec >= 0) {  // precision truncates to that many runes
            size_t b = 0;
            for (int r = 0; b < s.size() && r < prec; ++r) {
              ++b;
              while (b < s.size() && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) ++b;
            }
            s.resize(b);
          }
        }
        break;
      case 'q': s = a.is_string() ? go_quote(a.get<std::string>()) : bad_verb(verb, a); break;
      case 't': s = a.is_boolean() ? sprint_value(a) : bad_verb(verb, a); break;
      case 'd':
      case 'x':
      case 'X':
      case 'c':
        if (!is_int(a)) {
          s = bad_verb(verb, a);
        } else if (verb == 'd') {
          s = sprint_value(a);
          numeric = true;
          if (plus && s[0] != '-') s = "+" + s;
        } else if (verb == 'c') {
          s = sprint_value(json(std::string(1, static_cast<char>(a.get<int64_t>()))));
        } else {
          char buf[32];
          std::snprintf(buf, sizeof buf, verb == 'x' ? "%llx" : "%llX", static_cast<long long>(a.get<int64_t>()));
          s = buf;
          numeric = true;
        }
        break;
      case 'f':
      case 'e':
      case 'g':
        if (!a.is_number_float()) {
          s = bad_verb(verb, a);
        } else {
          char fmt[16], buf[512];
          std::snprintf(fmt, sizeof fmt, "%%%s.*%c", plus ? "+" : "", verb);
          std::snprintf(buf, sizeof buf, fmt, prec < 0 ? 6 : prec, a.get<double>());
          s = buf;
          numeric = true;
        }
        break;
      default: s = bad_verb(verb, a);
    }
    out += pad(s, width, left, zero && numeric && !left);
  }
  if (argi < args.size()) {
    out += "%!(EXTRA ";
    for (size_t j = argi; j < args.size(); ++j)
      out += cat(j > argi ? ", " : "", type_name(args[j]), "=", sprint_value(args[j]));
    out += ")";
  }
  return out;
}

bool go_equal(const json& a, const json& b) {
  if (a.is_null() || b.is_null()) return a.is_null() && b.is_null();
  if (is_int(a) && is_int(b)) {
    if (a.is_number_unsigned() && b.is_number_unsigned()) return a.get<uint64_t>() == b.get<uint64_t>();
    if (a.is_number_unsigned() && a.get<uint64_t>() > INT64_MAX) return false;
    if (b.is_number_unsigned() && b.get<uint64_t>() > INT64_MAX) return false;
    return a.get<int64_t>() == b.get<int64_t>();
  }
  if (a.is_array() || a.is_object() || b.is_array() || b.is_object())
    fail("non-comparable type ", type_name(a.is_array() || a.is_object() ? a : b));
  if (a.type() != b.type()) fail("incompatible types for comparison");
  return a == b;
}

bool go_less(const json& a, const json& b) {
  const auto ordered = [](const json& v) { return v.is_number() || v.is_string(); };
  if (!ordered(a) || !ordered(b)) fail("invalid type for comparison");
  if (is_int(a) && is_int(b)) {
    if (a.is_number_unsigned() && b.is_number_unsigned()) return a.get<uint64_t>() < b.get<uint64_t>();
    if (a.is_number_unsigned() && a.get<uint64_t>() > INT64_MAX) return false;
    if (b.is_number_unsigned() && b.get<uint64_t>() > INT64_MAX) return true;
    return a.get<int64_t>() < b.get<int64_t>();
  }
  if (a.type() != b.type()) fail("incompatible types for comparison");
  return a < b;
}

}  // namespace smolvlm::gotmpl
