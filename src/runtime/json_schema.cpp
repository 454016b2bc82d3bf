#include "runtime/json_schema.h"

#include <algorithm>
#include <map>
#include <set>

#include "base/error.h"

namespace smolvlm {

using ojson = nlohmann::ordered_json;

// Builds the node graph: one node per schema location (memoised by JSON pointer, so $ref cycles
// close on themselves), then each union's flattened alternatives.
class SchemaCompiler {
 public:
  explicit SchemaCompiler(const ojson& root) : root_(root) {}

  std::shared_ptr<const JsonSchema> run() {
    out_ = std::make_shared<JsonSchema>();
    out_->root_ = visit(root_, "");
    out_->alts_.resize(out_->nodes_.size());
    std::vector<uint8_t> state(out_->nodes_.size(), 0);  // 0 new, 1 in progress, 2 done
    for (size_t i = 0; i < out_->nodes_.size(); ++i) flatten(static_cast<int32_t>(i), state);
    return out_;
  }

 private:
  [[noreturn]] static void bad(const std::string& ptr, const std::string& what) {
    fail("JSON schema: ", what, " at \"", ptr.empty() ? "#" : "#" + ptr, "\"");
  }
  static std::string escape_token(const std::string& key) {  // RFC 6901
    std::string out;
    for (const char c : key) out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
    return out;
  }

  int32_t add(SchemaNode n, const std::string& where) {
    if (out_->nodes_.size() >= 65535) bad(where, "more than 65535 schema nodes");
    out_->nodes_.push_back(std::move(n));
    where_.push_back(where);
    return static_cast<int32_t>(out_->nodes_.size() - 1);
  }
  static SchemaNode leaf(JsonKind k) {
    SchemaNode n;
    n.leaf = k;
    return n;
  }

  // The node for the schema at `ptr` (memoised: a $ref to it returns the same node).
  int32_t visit(const ojson& s, const std::string& ptr) {
    if (auto it = memo_.find(ptr); it != memo_.end()) return it->second;
    const int32_t id = add({}, ptr);
    memo_[ptr] = id;
    SchemaNode n = build(s, ptr);
    out_->nodes_[static_cast<size_t>(id)] = std::move(n);
    return id;
  }

  static uint32_t count(const ojson& s, const char* key, const std::string& ptr, uint32_t dflt) {
    auto it = s.find(key);
    if (it == s.end()) return dflt;
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > UINT32_MAX - 1)
      bad(ptr + "/" + key, "expected a non-negative integer");
    return static_cast<uint32_t>(it->get<int64_t>());
  }

  SchemaNode build(const ojson& s, const std::string& ptr) {
    if (s.is_boolean()) {
      if (!s.get<bool>()) bad(ptr, "the schema false accepts nothing");
      return leaf(JsonKind::kAny);
    }
    if (!s.is_object()) bad(ptr, "a schema must be an object or a boolean");
    if (auto it = s.find("allOf"); it != s.end() && it->is_array() && it->size() == 1)
      return build(it->front(), ptr + "/allOf/0");  // (pydantic v1 wraps a $ref so)
    for (const char* k : {"allOf", "not", "if", "then", "else", "patternProperties", "propertyNames",
                          "dependentSchemas", "dependentRequired", "dependencies", "contains", "unevaluatedProperties",
                          "unevaluatedItems", "$dynamicRef", "$recursiveRef", "minProperties", "maxProperties"})
      if (s.contains(k)) bad(ptr + "/" + k, cat("unsupported keyword \"", k, "\""));
    if (auto it = s.find("$ref"); it != s.end()) return ref(*it, ptr + "/$ref");
    for (const char* k : {"anyOf", "oneOf"}) {
      auto it = s.find(k);
      if (it == s.end()) continue;
      if (!it->is_array() || it->empty()) bad(ptr + "/" + k, "expected a non-empty array of schemas");
      SchemaNode n;
      n.kind = SchemaNode::kUnion;
      for (size_t i = 0; i < it->size(); ++i) n.children.push_back(visit((*it)[i], cat(ptr, "/", k, "/", i)));
      return n;
    }
    auto type = s.find("type");
    if (type != s.end() && type->is_array()) {
      if (type->empty()) bad(ptr + "/type", "expected a type name or a non-empty array of them");
      SchemaNode n;
      n.kind = SchemaNode::kUnion;
      for (size_t i = 0; i < type->size(); ++i) {
        if (!(*type)[i].is_string()) bad(cat(ptr, "/type/", i), "expected a type name");
        n.children.push_back(add(typed(s, ptr, (*type)[i].get<std::string>(), cat(ptr, "/type/", i)), cat(ptr, "/type/", i)));
      }
      return n;
    }
    if (type != s.end() && !type->is_string()) bad(ptr + "/type", "expected a type name or an array of them");
    return typed(s, ptr, type == s.end() ? "" : type->get<std::string>(), ptr + "/type");
  }

  SchemaNode ref(const ojson& r, const std::string& ptr) {
    if (!r.is_string()) bad(ptr, "expected a string");
    const std::string target = r.get<std::string>();
    if (target.empty() || target[0] != '#' || (target.size() > 1 && target[1] != '/'))
      bad(ptr, cat("only local references (\"#/$defs/...\") are supported, not \"", target, "\""));
    const std::string pointer = target.substr(1);
    ojson::json_pointer jp;
    try {
      jp = ojson::json_pointer(pointer);
    } catch (const std::exception&) {
      bad(ptr, cat("invalid JSON pointer \"", target, "\""));
    }
    if (!root_.contains(jp)) bad(ptr, cat("the reference \"", target, "\" does not resolve"));
    SchemaNode n;
    n.kind = SchemaNode::kUnion;  // of one: flattened away
    n.children.push_back(visit(root_.at(jp), pointer));
    return n;
  }

  static SchemaNode literals(std::vector<std::string> texts) {
    std::sort(texts.begin(), texts.end());
    texts.erase(std::unique(texts.begin(), texts.end()), texts.end());
    SchemaNode n;
    n.kind = SchemaNode::kLiterals;
    n.literals = std::move(texts);
    return n;
  }

  // The schema at ptr with one type name ("" if none: inferred from the keywords, or any value).
  SchemaNode typed(const ojson& s, const std::string& ptr, std::string type, const std::string& type_ptr) {
    if (auto it = s.find("const"); it != s.end()) return literals({it->dump()});
    if (auto it = s.find("enum"); it != s.end()) {
      if (!it->is_array() || it->empty()) bad(ptr + "/enum", "expected a non-empty array");
      std::vector<std::string> texts;
      for (const ojson& v : *it) texts.push_back(v.dump());
      return literals(std::move(texts));
    }
    if (type.empty()) {  // (as llama.cpp infers it)
      const auto add = s.find("additionalProperties");
      if (s.contains("properties") || (add != s.end() && *add != true)) type = "object";
      else if (s.contains("items") || s.contains("prefixItems")) type = "array";
      else return leaf(JsonKind::kAny);
    }
    if (type == "object") return object(s, ptr);
    if (type == "array") return array(s, ptr);
    if (type == "string") {
      SchemaNode n = leaf(JsonKind::kString);
      n.min_length = count(s, "minLength", ptr, 0);
      n.max_length = count(s, "maxLength", ptr, UINT32_MAX);
      if (n.min_length > n.max_length) bad(ptr + "/minLength", "minLength is greater than maxLength");
      return n;
    }
    if (type == "number") return leaf(JsonKind::kNumber);
    if (type == "integer") return leaf(JsonKind::kInteger);
    if (type == "boolean") return leaf(JsonKind::kBoolean);
    if (type == "null") return leaf(JsonKind::kNull);
    bad(type_ptr, cat("unknown type \"", type, "\""));
  }

  SchemaNode object(const ojson& s, const std::string& ptr) {
    const auto props = s.find("properties");
    const auto add_props = s.find("additionalProperties");
    if (props != s.end() && !props->is_object()) bad(ptr + "/properties", "expected an object");
    if (add_props != s.end() && !add_props->is_boolean() && !add_props->is_object())
      bad(ptr + "/additionalProperties", "expected a boolean or a schema");
    std::set<std::string> required;
    if (auto it = s.find("required"); it != s.end()) {
      if (!it->is_array()) bad(ptr + "/required", "expected an array of property names");
      for (size_t i = 0; i < it->size(); ++i) {
        if (!(*it)[i].is_string()) bad(cat(ptr, "/required/", i), "expected a property name");
        required.insert((*it)[i].get<std::string>());
      }
    }
    const bool has_props = props != s.end() && !props->empty();
    // No "properties" and additionalProperties absent or true: any object (as llama.cpp).
    if (props == s.end() && (add_props == s.end() || *add_props == true)) return leaf(JsonKind::kObject);
    if (has_props && props->size() > JsonSchema::kMaxProperties)
      bad(ptr + "/properties", cat("more than ", JsonSchema::kMaxProperties, " properties"));
    SchemaNode n;
    n.kind = SchemaNode::kObject;
    for (const bool want_required : {true, false}) {  // required ones first, each group in schema order
      if (!has_props) break;
      for (auto it = props->begin(); it != props->end(); ++it) {
        if (required.count(it.key()) != static_cast<size_t>(want_required)) continue;
        n.literals.push_back(ojson(it.key()).dump());
        n.children.push_back(visit(it.value(), ptr + "/properties/" + escape_token(it.key())));
      }
      if (want_required) n.n_required = static_cast<uint32_t>(n.children.size());
    }
    if (add_props != s.end() && !(add_props->is_boolean() && !add_props->get<bool>()))
      n.extra = visit(*add_props, ptr + "/additionalProperties");
    return n;
  }

  SchemaNode array(const ojson& s, const std::string& ptr) {
    SchemaNode n;
    n.kind = SchemaNode::kArray;
    auto items = s.find("items");
    auto prefix = s.find("prefixItems");
    const ojson* tuple = nullptr;
    std::string tuple_ptr;
    if (prefix != s.end()) {
      if (!prefix->is_array()) bad(ptr + "/prefixItems", "expected an array of schemas");
      tuple = &*prefix;
      tuple_ptr = ptr + "/prefixItems";
    } else if (items != s.end() && items->is_array()) {  // draft-04 tuple form
      tuple = &*items;
      tuple_ptr = ptr + "/items";
      items = s.end();
    }
    if (tuple != nullptr)
      for (size_t i = 0; i < tuple->size(); ++i) n.children.push_back(visit((*tuple)[i], cat(tuple_ptr, "/", i)));
    if (items != s.end()) {
      if (!items->is_object() && !items->is_boolean()) bad(ptr + "/items", "expected a schema");
      if (!(items->is_boolean() && !items->get<bool>())) n.extra = visit(*items, ptr + "/items");
    } else if (tuple == nullptr) {
      n.extra = add(leaf(JsonKind::kAny), ptr + "/items");
    }
    n.min_items = count(s, "minItems", ptr, 0);
    n.max_items = count(s, "maxItems", ptr, UINT32_MAX);
    if (n.min_items > n.max_items) bad(ptr + "/minItems", "minItems is greater than maxItems");
    const size_t most = n.extra >= 0 ? SIZE_MAX : n.children.size();
    if (n.children.size() > n.max_items || n.min_items > most)
      bad(ptr, "no array satisfies prefixItems, items, minItems and maxItems together");
    if (n.children.empty() && n.min_items == 0 && n.max_items == UINT32_MAX && items == s.end())
      return leaf(JsonKind::kArray);  // any array
    return n;
  }

  // alts_[i]: the non-union nodes reachable from i through unions; a union that reaches itself
  // (a $ref cycle with no object or array in between) can never start a value.
  void flatten(int32_t i, std::vector<uint8_t>& state) {
    const auto u = static_cast<size_t>(i);
    if (state[u] == 2) return;
    if (state[u] == 1) bad(where_[u], "a $ref / anyOf cycle with no object or array in between");
    const SchemaNode& n = out_->nodes_[u];
    if (n.kind != SchemaNode::kUnion) {
      out_->alts_[u] = {i};
      state[u] = 2;
      return;
    }
    state[u] = 1;
    std::vector<int32_t> all;
    for (const int32_t c : n.children) {
      flatten(c, state);
      for (const int32_t a : out_->alts_[static_cast<size_t>(c)])
        if (std::find(all.begin(), all.end(), a) == all.end()) all.push_back(a);
    }
    if (all.size() > JsonSchema::kMaxAlternatives)
      bad(where_[u], cat("more than ", JsonSchema::kMaxAlternatives, " alternatives for one value"));
    out_->alts_[u] = std::move(all);
    state[u] = 2;
  }

  const ojson& root_;
  std::shared_ptr<JsonSchema> out_;
  std::map<std::string, int32_t> memo_;
  std::vector<std::string> where_;  // per node: its JSON pointer
};

std::shared_ptr<const JsonSchema> JsonSchema::compile(const nlohmann::ordered_json& schema) {
  return SchemaCompiler(schema).run();
}

std::shared_ptr<const JsonSchema> JsonSchema::compile(const nlohmann::json& schema) {
  return compile(nlohmann::ordered_json::parse(schema.dump()));
}

std::shared_ptr<const JsonSchema> JsonSchema::of_kind(JsonKind kind) {
  if (kind == JsonKind::kOff) fail("JsonSchema::of_kind: kOff is no constraint");
  auto s = std::make_shared<JsonSchema>();
  SchemaNode n;
  n.leaf = kind;
  s->nodes_.push_back(n);
  s->alts_.push_back({0});
  return s;
}

}  // namespace smolvlm
