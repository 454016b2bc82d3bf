#include "store/names.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "base/error.h"

namespace smolvlm {
namespace {

const char* const kDefaultHost = "registry.ollama.ai";
const char* const kDefaultNamespace = "library";
const char* const kDefaultTag = "latest";

bool alnum_or_underscore(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool iequals(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

const char* part_name(NamePart k) {
  switch (k) {
    case NamePart::Host: return "host";
    case NamePart::Namespace: return "namespace";
    case NamePart::Model: return "model";
    case NamePart::Tag: return "tag";
  }
  return "part";
}

// Why `s` is not a valid part of kind k ("" when it is).
std::string part_problem(NamePart k, const std::string& s) {
  const size_t max = k == NamePart::Host ? 350 : 80;
  if (s.empty()) return cat("empty ", part_name(k));
  if (s.size() > max) return cat(part_name(k), " longer than ", max, " characters");
  if (!alnum_or_underscore(s[0])) return cat(part_name(k), " '", s, "' must start with a letter, digit or '_'");
  for (char c : s.substr(1)) {
    const bool ok = alnum_or_underscore(c) || c == '-' || (c == '.' && k != NamePart::Namespace) ||
                    (c == ':' && k == NamePart::Host);
    if (!ok) return cat(part_name(k), " '", s, "' contains '", c, "'");
  }
  return "";
}

}  // namespace

bool valid_name_part(NamePart kind, const std::string& s) { return part_problem(kind, s).empty(); }

bool ModelName::looks_like_path(const std::string& s) {
  if (s.empty()) return false;
  if (s[0] == '/' || s[0] == '.' || s[0] == '~' || s.back() == '/') return true;
  if (s.size() >= 5 && s.compare(s.size() - 5, 5, ".gguf") == 0) return true;
  return s.find('/') != std::string::npos && !try_parse(s);
}

std::optional<ModelName> ModelName::try_parse(const std::string& s) {
  try {
    return parse(s);
  } catch (const Error&) {
    return std::nullopt;
  }
}

ModelName ModelName::parse(const std::string& input) {
  // Ollama's split: the tag after the last ':' when it follows the last '/', then model, namespace
  // and host from the right ("a/b/c/d" leaves "a/b" as the host, which the host rule rejects).
  ModelName n;
  std::string s = input;
  bool has_tag = false, has_ns = false, has_host = false;
  const auto colon = s.rfind(':');
  const auto slash = s.rfind('/');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    n.tag = s.substr(colon + 1);
    s.resize(colon);
    has_tag = true;
  }
  auto cut = s.rfind('/');
  if (cut == std::string::npos) {
    n.model = s;
  } else {
    n.model = s.substr(cut + 1);
    s.resize(cut);
    cut = s.rfind('/');
    has_ns = true;
    if (cut == std::string::npos) {
      n.ns = s;
    } else {
      n.ns = s.substr(cut + 1);
      n.host = s.substr(0, cut);
      has_host = true;
      if (const auto scheme = n.host.find("://"); scheme != std::string::npos) n.host = n.host.substr(scheme + 3);
    }
  }
  if (!has_host) n.host = kDefaultHost;
  if (!has_ns) n.ns = kDefaultNamespace;
  if (!has_tag) n.tag = kDefaultTag;
  const std::pair<NamePart, const std::string*> parts[] = {
      {NamePart::Host, &n.host}, {NamePart::Namespace, &n.ns}, {NamePart::Model, &n.model}, {NamePart::Tag, &n.tag}};
  for (const auto& [kind, value] : parts) {
    const std::string why = part_problem(kind, *value);
    if (!why.empty()) fail("invalid model name '", input, "': ", why);
  }
  return n;
}

std::optional<ModelName> ModelName::from_relative_path(const std::string& rel) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const auto p = rel.find('/', start);
    parts.push_back(rel.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  if (parts.size() != 4) return std::nullopt;
  ModelName n{parts[0], parts[1], parts[2], parts[3]};
  if (!valid_name_part(NamePart::Host, n.host) || !valid_name_part(NamePart::Namespace, n.ns) ||
      !valid_name_part(NamePart::Model, n.model) || !valid_name_part(NamePart::Tag, n.tag)) {
    return std::nullopt;
  }
  return n;
}

std::string ModelName::full() const { return cat(host, "/", ns, "/", model, ":", tag); }

std::string ModelName::shortest() const {
  if (!iequals(host, kDefaultHost)) return cat(host, "/", ns, "/", model, ":", tag);
  if (!iequals(ns, kDefaultNamespace)) return cat(ns, "/", model, ":", tag);
  return cat(model, ":", tag);
}

std::string ModelName::relative_path() const { return cat(host, "/", ns, "/", model, "/", tag); }

bool ModelName::equal_fold(const ModelName& o) const {
  return iequals(host, o.host) && iequals(ns, o.ns) && iequals(model, o.model) && iequals(tag, o.tag);
}

}  // namespace smolvlm
