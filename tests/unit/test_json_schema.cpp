// Schema-constrained decoding: compile errors name their JSON pointer; the recognizer accepts and
// rejects hand-picked documents for each keyword; random walks over the bytes it allows always end
// in a document that parses and validates (a small validator of the supported keywords, written
// here independently); the token mask equals testing every token on its own with the real
// vocabulary (and its cost per step); a session with the tiny golden model and the server's
// /api/chat format and /v1/chat/completions response_format give matching JSON.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "base/error.h"
#include "runtime/json_schema.h"
#include "runtime/json_schema_recognizer.h"
#include "runtime/session.h"
#include "support/testing.h"
#include "test_json_util.h"
#include "test_server_util.h"
#include "test_tokenizer_util.h"

namespace smolvlm {
namespace {

using nlohmann::json;
using ojson = nlohmann::ordered_json;

std::shared_ptr<const JsonSchema> compile(const char* text) { return JsonSchema::compile(ojson::parse(text)); }

// --- an independent validator of the supported keywords (llama.cpp's reading of them) ---------

size_t code_points(const std::string& s) {
  size_t n = 0;
  for (const char c : s) n += (static_cast<uint8_t>(c) & 0xC0) != 0x80;
  return n;
}

bool has_type(const ojson& v, const std::string& t) {
  if (t == "object") return v.is_object();
  if (t == "array") return v.is_array();
  if (t == "string") return v.is_string();
  if (t == "boolean") return v.is_boolean();
  if (t == "null") return v.is_null();
  if (t == "number") return v.is_number();
  if (t == "integer") return v.is_number_integer() || (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
  return false;
}

bool validate(const ojson& s, const ojson& v, const ojson& root, std::string* why) {
  auto no = [&](const std::string& w) {
    *why = w + " in " + v.dump() + " for " + s.dump();
    return false;
  };
  if (s.is_boolean()) return s.get<bool>() || no("false schema");
  if (s.contains("$ref")) {
    const std::string ref = s["$ref"].get<std::string>().substr(1);
    return validate(root.at(ojson::json_pointer(ref)), v, root, why);
  }
  for (const char* k : {"anyOf", "oneOf"})
    if (s.contains(k)) {
      for (const ojson& alt : s[k])
        if (validate(alt, v, root, why)) return true;
      return no(std::string("no ") + k + " alternative");
    }
  if (s.contains("type")) {
    bool ok = false;
    if (s["type"].is_array()) {
      for (const ojson& t : s["type"]) ok |= has_type(v, t.get<std::string>());
    } else {
      ok = has_type(v, s["type"].get<std::string>());
    }
    if (!ok) return no("type");
  }
  if (s.contains("const") && v != s["const"]) return no("const");
  if (s.contains("enum")) {
    bool ok = false;
    for (const ojson& e : s["enum"]) ok |= v == e;
    if (!ok) return no("enum");
  }
  if (v.is_string() && s.value("type", ojson()) == "string") {  // (llama.cpp: only with the type)
    const size_t n = code_points(v.get<std::string>());
    if (n < s.value("minLength", 0u) || n > s.value("maxLength", 1u << 30)) return no("length");
  }
  if (v.is_object() && (s.contains("properties") || s.contains("additionalProperties"))) {
    const ojson props = s.value("properties", ojson::object());
    const ojson required = s.value("required", ojson::array());
    // emission order: required ones (schema order), then optional ones, then additional ones
    std::vector<std::string> order;
    for (const bool req : {true, false})
      for (auto it = props.begin(); it != props.end(); ++it) {
        const bool is_req = std::find(required.begin(), required.end(), it.key()) != required.end();
        if (is_req == req) order.push_back(it.key());
      }
    size_t next = 0;
    for (auto it = v.begin(); it != v.end(); ++it) {
      const auto pos = std::find(order.begin(), order.end(), it.key());
      if (pos == order.end()) {
        const ojson add = s.value("additionalProperties", ojson(false));
        if (add == false) return no("additional property " + it.key());
        next = order.size();
        if (!validate(add, it.value(), root, why)) return false;
        continue;
      }
      if (static_cast<size_t>(pos - order.begin()) < next) return no("property order");
      next = static_cast<size_t>(pos - order.begin()) + 1;
      if (!validate(props[it.key()], it.value(), root, why)) return false;
    }
    for (const ojson& r : required)
      if (props.contains(r.get<std::string>()) && !v.contains(r.get<std::string>())) return no("required");
  }
  if (v.is_array()) {
    const ojson prefix = s.value("prefixItems", ojson::array());
    if (v.size() < s.value("minItems", 0u) || v.size() > s.value("maxItems", 1u << 30)) return no("item count");
    if (v.size() < prefix.size()) return no("prefixItems");
    for (size_t i = 0; i < v.size(); ++i) {
      if (i < prefix.size()) {
        if (!validate(prefix[i], v[i], root, why)) return false;
      } else if (s.contains("items")) {
        if (!validate(s["items"], v[i], root, why)) return false;
      } else if (!prefix.empty()) {
        return no("item past prefixItems");
      }
    }
  }
  return true;
}

// --- recognizer helpers --------------------------------------------------------------------------

bool matches(const JsonSchema& schema, std::string_view doc) {
  JsonSchemaRecognizer r(schema, 64);
  if (!r.accepts(doc)) return false;
  r.advance(doc);
  return r.complete();
}

void expect_docs(const char* schema_text, std::initializer_list<const char*> good,
                 std::initializer_list<const char*> bad) {
  const auto schema = compile(schema_text);
  const ojson s = ojson::parse(schema_text);
  for (const char* doc : good) {
    EXPECT_TRUE(matches(*schema, doc)) << schema_text << " should accept " << doc;
    std::string why;
    EXPECT_TRUE(validate(s, ojson::parse(doc), s, &why)) << "(test's validator) " << why;
  }
  for (const char* doc : bad) EXPECT_FALSE(matches(*schema, doc)) << schema_text << " should reject " << doc;
}

TEST(JsonSchemaCompile, ErrorsNameTheirPointer) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"type": 5})", "\"#/type\""},
      {R"({"type": "strng"})", "unknown type \"strng\" at \"#/type\""},
      {R"({"properties": {"a": {"type": ["string", 3]}}})", "\"#/properties/a/type/1\""},
      {R"({"allOf": [{"type": "string"}, {"maxLength": 3}]})", "unsupported keyword \"allOf\" at \"#/allOf\""},
      {R"({"allOf": [{"type": "strng"}]})", "\"#/allOf/0/type\""},
      {R"({"properties": {"a/b": {"not": {}}}})", "\"#/properties/a~1b/not\""},
      {R"({"$ref": "#/$defs/missing"})", "does not resolve at \"#/$ref\""},
      {R"({"$ref": "http://x/y.json"})", "only local references"},
      {R"({"type": "array", "items": {"type": "string", "minLength": -1}})", "\"#/items/minLength\""},
      {R"({"type": "array", "minItems": 3, "maxItems": 2})", "minItems is greater than maxItems"},
      {R"({"type": "object", "required": "a", "properties": {"a": {}}})", "\"#/required\""},
      {R"({"enum": []})", "\"#/enum\""},
      {R"({"anyOf": {}})", "\"#/anyOf\""},
      {R"({"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"})", "cycle"},
      {R"({"properties": {"x": false}})", "the schema false accepts nothing at \"#/properties/x\""},
      {R"([1])", "must be an object or a boolean"},
  };
  for (const auto& [schema, want] : cases) {
    try {
      compile(schema);
      ADD_FAILURE() << schema << " compiled";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << schema << ": " << e.what();
    }
  }
  // Annotations and the ignored value checks compile.
  EXPECT_NO_THROW(compile(R"({"title": "t", "description": "d", "$schema": "x", "type": "string", "format": "date",
                             "pattern": "^a", "default": "a", "examples": ["a"]})"));
  EXPECT_NO_THROW(compile(R"({"type": "integer", "minimum": 0, "maximum": 9, "multipleOf": 3})"));
}

TEST(JsonSchemaRecognizer, TypesAndNullable) {
  expect_docs(R"({"type": "string"})", {R"("a")", R"(  "\u00e9\n")"}, {"1", "null", R"("a)"});
  expect_docs(R"({"type": "integer"})", {"0", "-12", " 7 "}, {"1.5", "1e3", "\"1\""});
  expect_docs(R"({"type": "number"})", {"0", "-1.5e3"}, {"true", "01"});
  expect_docs(R"({"type": "boolean"})", {"true", "false"}, {"null", "1"});
  expect_docs(R"({"type": "null"})", {"null"}, {"false"});
  expect_docs(R"({"type": ["string", "null"]})", {R"("x")", "null"}, {"1", "[]"});
  expect_docs(R"({"type": ["integer", "number"]})", {"1", "1.5"}, {"\"1\""});
  expect_docs(R"({})", {R"({"any": [1, {"x": null}]})", "3", R"("s")"}, {"]"});
  expect_docs(R"({"type": "object"})", {R"({"free": [1]})", "{}"}, {"[]"});
  // no type: inferred as llama.cpp does; a lone maxLength / additionalProperties true constrain nothing
  expect_docs(R"({"properties": {}})", {"{}"}, {R"({"a": 1})", "1"});
  expect_docs(R"({"additionalProperties": true})", {"1", R"({"a": 1})"}, {});
  expect_docs(R"({"maxLength": 1})", {R"("long")", "[]"}, {});
  expect_docs(R"({"items": {"type": "null"}})", {"[null]"}, {"[1]", "{}"});
  expect_docs(R"({"allOf": [{"$ref": "#/$defs/a"}], "$defs": {"a": {"type": "boolean"}}})", {"true"}, {"1"});
}

TEST(JsonSchemaRecognizer, PropertiesRequiredOrderAndAdditional) {
  // required first (schema order), optional after, each skippable; keys exactly the names
  const char* schema = R"({"type": "object", "properties": {"b": {"type": "integer"}, "a": {"type": "string"},
                           "c": {"type": "boolean"}}, "required": ["a"]})";
  expect_docs(schema, {R"({"a": "x"})", R"({"a": "x", "b": 1})", R"({"a":"x","c":true})", R"({"a":"x","b":1,"c":false})"},
              {"{}", R"({"b": 1, "a": "x"})", R"({"a": "x", "c": true, "b": 1})", R"({"a": "x", "d": 1})",
               R"({"a": 1})", R"({"a": "x", "a": "y"})", R"({"A": "x"})", R"({"a": "x",})"});
  // additionalProperties absent: no other keys (as llama.cpp); true / a schema: other keys, last
  expect_docs(R"({"properties": {"a": {"type": "integer"}}, "additionalProperties": {"type": "string"}})",
              {"{}", R"({"a": 1})", R"({"a": 1, "z": "s", "y": "t"})", R"({"zz": "s"})"},
              {R"({"z": 1})", R"({"z": "s", "a": 1})", R"({"a": 1, "a": 2})"});
  expect_docs(R"({"properties": {"a": {"const": 1}}, "additionalProperties": true})", {R"({"a": 1, "ab": [true]})"},
              {R"({"a": 2})"});
  expect_docs(R"({"type": "object", "additionalProperties": false})", {"{}", "{ }"}, {R"({"a": 1})"});
  // a key with characters that need escaping is matched as its JSON text
  expect_docs(R"({"properties": {"q\"k\u00e9": {"type": "null"}}, "required": ["q\"k\u00e9"]})",
              {"{\"q\\\"k\xC3\xA9\": null}"}, {"{\"q\\\"k\\u00e9\": null}", "{}"});
}

TEST(JsonSchemaRecognizer, ArraysEnumsConstStrings) {
  expect_docs(R"({"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3})",
              {"[1]", "[1, 2, 3]"}, {"[]", "[1,2,3,4]", "[1.5]", "[\"a\"]"});
  expect_docs(R"({"type": "array", "prefixItems": [{"type": "string"}, {"type": "boolean"}]})",
              {R"(["a", true])"}, {R"(["a"])", R"([true, "a"])", R"(["a", true, 1])"});
  expect_docs(R"({"type": "array", "prefixItems": [{"type": "null"}], "items": {"type": "integer"}})",
              {"[null]", "[null, 1, 2]"}, {"[]", "[1]"});
  expect_docs(R"({"type": "array", "maxItems": 2})", {"[]", "[{}, [1]]"}, {"[1, 2, 3]"});
  expect_docs(R"({"enum": ["red", "green", 1, 12, null, {"a": [1, 2]}]})",
              {R"("red")", R"("green")", "1", "12", "null", R"({"a":[1,2]})"},
              {R"("re")", R"("blue")", "2", "123", R"({"a": [1, 2]})", "1.0"});
  expect_docs(R"({"const": "x"})", {R"("x")"}, {R"("y")", R"("xx")"});
  expect_docs(R"({"type": "string", "minLength": 2, "maxLength": 3})",
              {R"("ab")", R"("abc")", "\"\xC3\xA9\xE2\x82\xAC\"", R"("\n\t")", R"("\uD83D\uDE00x")"},
              {R"("a")", R"("abcd")", "\"\xC3\xA9\xE2\x82\xAC\xC3\xA9\xC3\xA9\""});
}

TEST(JsonSchemaRecognizer, AnyOfRefsAndRecursion) {
  // alternatives in parallel: both objects begin alike and differ only late
  const char* either = R"({"anyOf": [
      {"type": "object", "properties": {"kind": {"const": "a"}, "x": {"type": "integer"}}, "required": ["kind", "x"]},
      {"type": "object", "properties": {"kind": {"const": "b"}, "y": {"type": "string"}}, "required": ["kind", "y"]}]})";
  expect_docs(either, {R"({"kind": "a", "x": 1})", R"({"kind": "b", "y": "s"})"},
              {R"({"kind": "a", "y": "s"})", R"({"kind": "b", "x": 1})", R"({"kind": "c"})"});
  const char* tree = R"({"$defs": {"node": {"type": "object", "properties": {
      "v": {"type": "integer"}, "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}, "required": ["v"]}},
      "$ref": "#/$defs/node"})";
  expect_docs(tree, {R"({"v": 1})", R"({"v": 1, "kids": [{"v": 2, "kids": [{"v": 3}]}, {"v": 4}]})"},
              {R"({"v": 1, "kids": [{}]})", R"({"kids": []})"});
  expect_docs(R"({"definitions": {"n": {"type": ["integer", "null"]}}, "type": "array", "items": {"$ref": "#/definitions/n"}})",
              {"[1, null]"}, {"[\"1\"]"});
  expect_docs(R"({"type": "object", "properties": {"self": {"$ref": "#"}}})", {R"({"self": {"self": {}}})"},
              {R"({"self": 1})"});
  // whitespace: runs up to the limit between tokens, none inside literals
  const auto s = compile(R"({"properties": {"a": {"enum": [true]}}})");
  JsonSchemaRecognizer r(*s, 2);
  EXPECT_TRUE(r.accepts("{  \"a\"  :  true  }"));
  EXPECT_FALSE(r.accepts("{   "));
  EXPECT_FALSE(r.accepts("{\"a\": tr ue"));
}

// --- random walks ----------------------------------------------------------------------------------

const char* const kWalkSchemas[] = {
    R"({"type": "object", "properties": {"name": {"type": "string", "maxLength": 12}, "age": {"type": "integer"},
        "tags": {"type": "array", "items": {"enum": ["a", "b\"c", 7]}, "maxItems": 3},
        "ok": {"type": ["boolean", "null"]}}, "required": ["name", "age"]})",
    R"({"$defs": {"n": {"type": "object", "properties": {"v": {"type": "number"},
        "next": {"anyOf": [{"$ref": "#/$defs/n"}, {"type": "null"}]}}, "required": ["v", "next"]}}, "$ref": "#/$defs/n"})",
    R"({"anyOf": [{"type": "object", "properties": {"t": {"const": "x"}, "p": {"type": "string", "minLength": 2, "maxLength": 4}},
        "required": ["t", "p"]}, {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string", "maxLength": 3}],
        "items": {"type": "boolean"}, "maxItems": 4}]})",
    R"({"type": "object", "properties": {"a": {"type": "object", "properties": {"b": {"type": "array",
        "items": {"type": "object", "properties": {"c": {"type": "string", "maxLength": 5}}, "additionalProperties": {"type": "integer"}},
        "minItems": 1, "maxItems": 2}}}}, "required": ["a"]})",
};

TEST(JsonSchemaRecognizer, RandomWalksAlwaysEndInValidDocuments) {
  std::mt19937 rng(11);
  int walks = 0;
  for (const char* text : kWalkSchemas) {
    const ojson s = ojson::parse(text);
    const auto schema = JsonSchema::compile(s);
    for (int w = 0; w < 60; ++w) {
      JsonSchemaRecognizer r(*schema, 3);
      std::string doc;
      int steps = 0;
      while (!r.done()) {
        ASSERT_LT(++steps, 4000) << text << ": " << doc;
        std::vector<uint8_t> allowed;
        for (int c = 0; c < 256; ++c) {
          const char ch = static_cast<char>(c);
          if (r.accepts(std::string_view(&ch, 1))) allowed.push_back(static_cast<uint8_t>(c));
        }
        ASSERT_FALSE(allowed.empty()) << "stuck after " << doc;
        // Later on, prefer bytes that close things so that walks end.
        uint8_t pick = allowed[rng() % allowed.size()];
        if (steps > 40 + static_cast<int>(rng() % 40)) {
          for (const char pref : std::string("\"}]0nft")) {
            if (std::find(allowed.begin(), allowed.end(), static_cast<uint8_t>(pref)) != allowed.end()) {
              pick = static_cast<uint8_t>(pref);
              break;
            }
          }
        }
        doc += static_cast<char>(pick);
        r.advance(std::string_view(&doc.back(), 1));
      }
      ojson v;
      ASSERT_NO_THROW(v = ojson::parse(doc)) << doc;
      std::string why;
      EXPECT_TRUE(validate(s, v, s, &why)) << doc << ": " << why;
      ++walks;
    }
  }
  EXPECT_EQ(walks, 240);
}

// Random documents built from the schemas (the emission order, random optional properties,
// lengths and counts within bounds, awkward characters): the recognizer accepts them compact and
// indented.
ojson random_instance(const ojson& s, const ojson& root, std::mt19937& rng, int depth) {
  if (s.contains("$ref")) return random_instance(root.at(ojson::json_pointer(s["$ref"].get<std::string>().substr(1))), root, rng, depth);
  if (s.contains("anyOf")) {
    // (deep down, prefer the last alternative: the schemas here put their base case last)
    const size_t n = s["anyOf"].size();
    return random_instance(s["anyOf"][depth > 3 ? n - 1 : rng() % n], root, rng, depth);
  }
  if (s.contains("type") && s["type"].is_array()) {
    ojson one = s;
    one["type"] = s["type"][rng() % s["type"].size()];
    return random_instance(one, root, rng, depth);
  }
  if (s.contains("const")) return s["const"];
  if (s.contains("enum")) return s["enum"][rng() % s["enum"].size()];
  const std::string type = s.value("type", std::string(s.contains("properties") ? "object" : "array"));
  if (type == "object") {
    ojson o = ojson::object();
    const ojson props = s.value("properties", ojson::object());
    const ojson required = s.value("required", ojson::array());
    for (const bool req : {true, false})
      for (auto it = props.begin(); it != props.end(); ++it) {
        const bool is_req = std::find(required.begin(), required.end(), it.key()) != required.end();
        if (is_req == req && (req || rng() % 2 == 0)) o[it.key()] = random_instance(it.value(), root, rng, depth + 1);
      }
    if (s.contains("additionalProperties") && s["additionalProperties"].is_object() && rng() % 2 == 0)
      o["extra \u00e9"] = random_instance(s["additionalProperties"], root, rng, depth + 1);
    return o;
  }
  if (type == "array") {
    ojson a = ojson::array();
    for (const ojson& p : s.value("prefixItems", ojson::array())) a.push_back(random_instance(p, root, rng, depth + 1));
    const size_t lo = std::max<size_t>(a.size(), s.value("minItems", 0u));
    const size_t hi = std::min<size_t>(s.value("maxItems", 1u << 30), lo + 3);
    if (s.contains("items"))
      for (size_t n = lo + rng() % (hi - lo + 1); a.size() < n;) a.push_back(random_instance(s["items"], root, rng, depth + 1));
    return a;
  }
  if (type == "string") {
    static const char* const kChars[] = {"a", " ", "\"", "\\", "\n", "\xC3\xA9", "\xF0\x9F\x98\x80", "/", "\x01"};
    const size_t lo = s.value("minLength", 0u), hi = std::min<size_t>(s.value("maxLength", 1u << 30), lo + 6);
    std::string out;
    for (size_t n = lo + rng() % (hi - lo + 1); n > 0; --n) out += kChars[rng() % 9];
    return out;
  }
  if (type == "integer") return static_cast<int64_t>(rng() % 2001) - 1000;
  if (type == "number") return std::ldexp(static_cast<double>(static_cast<int32_t>(rng())), -static_cast<int>(rng() % 30));
  if (type == "boolean") return rng() % 2 == 0;
  return nullptr;
}

TEST(JsonSchemaRecognizer, AcceptsRandomValidDocuments) {
  std::mt19937 rng(5);
  int docs = 0;
  for (const char* text : kWalkSchemas) {
    const ojson s = ojson::parse(text);
    const auto schema = JsonSchema::compile(s);
    for (int i = 0; i < 100; ++i) {
      const ojson v = random_instance(s, s, rng, 0);
      std::string why;
      ASSERT_TRUE(validate(s, v, s, &why)) << "(the generator) " << why;
      for (const std::string& doc : {v.dump(), v.dump(2), v.dump(-1, ' ', true)}) {
        EXPECT_TRUE(matches(*schema, doc)) << text << "\n" << doc;
        ++docs;
      }
    }
  }
  EXPECT_EQ(docs, 1200);
}

// --- the token mask ---------------------------------------------------------------------------------

void expect_mask_matches(const JsonTokenMask& mask, const JsonSchemaRecognizer& rec, const std::vector<std::string>& bytes,
                         const std::vector<bool>& eog, const std::string& where) {
  std::vector<float> logits(bytes.size() + 1, 1.0f);
  const size_t allowed = mask.apply(rec, logits);
  size_t expect = 0;
  for (size_t id = 0; id < bytes.size(); ++id) {
    const bool ok = eog[id] ? rec.complete() : !bytes[id].empty() && rec.accepts(bytes[id]);
    expect += ok;
    ASSERT_EQ(std::isinf(logits[id]), !ok) << where << ": token " << id << " \"" << bytes[id] << "\"";
  }
  EXPECT_EQ(allowed, expect) << where;
  EXPECT_GT(allowed, 0u) << where;
}

const char* const kNested = R"({"type": "object", "properties": {
    "name": {"type": "string", "maxLength": 20}, "age": {"type": "integer"},
    "address": {"type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"},
        "zip": {"type": ["string", "null"]}}, "required": ["street", "city"]},
    "tags": {"type": "array", "items": {"enum": ["red", "green", "blue"]}, "maxItems": 4},
    "scores": {"type": "array", "items": {"type": "number"}}}, "required": ["name", "age", "address"]})";

TEST(JsonSchemaMask, RealVocabularyMatchesPerTokenTestAndIsCheap) {
  SMOLVLM_REQUIRE_SHARED(testing::kRealTokenizerDir);
  const Tokenizer& tok = testing::real_tokenizer();
  const JsonTokenMask mask(tok);
  const auto [bytes, eog] = testing::vocab_table(tok, mask);
  const auto schema = compile(kNested);
  const char* const states[] = {"", "{", "{\"na", "{\"name\": \"Bob Smith the fir", "{\"name\": \"Bob\", \"age\": 4",
                                "{\"name\": \"Bob\", \"age\": 4, ", "{\"name\": \"B\", \"age\": 4, \"address\": {\"street\": \"Main St",
                                "{\"name\": \"B\", \"age\": 4, \"address\": {\"street\": \"M\", \"city\": \"X\"}, \"tags\": [\"re",
                                "{\"name\": \"B\", \"age\": 4, \"address\": {\"street\": \"M\", \"city\": \"X\"}, \"scores\": [1.5, "};
  std::vector<float> logits(bytes.size());
  double total_us = 0;
  int steps = 0;
  for (const char* st : states) {
    JsonSchemaRecognizer rec(*schema);
    rec.advance(st);
    expect_mask_matches(mask, rec, bytes, eog, st);
    double state_us = 0;
    for (int rep = 0; rep < 5; ++rep) {
      std::fill(logits.begin(), logits.end(), 0.0f);
      const auto t0 = std::chrono::steady_clock::now();
      mask.apply(rec, logits);
      const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
      state_us += us;
      total_us += us;
      ++steps;
    }
    std::cout << "[ schema mask ] after '" << st << "': " << state_us / 5 << " us\n";
  }
  std::cout << "[ schema mask ] " << tok.n_vocab() << " tokens, nested schema: " << total_us / steps
            << " us per step (mean of " << steps << "); recognizer " << sizeof(JsonSchemaRecognizer) << " bytes\n";
  // The string's maxLength holds for multi-character tokens too: 19 of 20 characters used.
  JsonSchemaRecognizer near_full(*schema);
  near_full.advance("{\"name\": \"0123456789abcdefghi");
  expect_mask_matches(mask, near_full, bytes, eog, "maxLength");
}

// --- decoding with the golden tiny model, and the server -----------------------------------------

const char* const kDecodeSchema = R"({"type": "object", "properties": {
    "name": {"type": "string", "maxLength": 10},
    "n": {"type": "integer"},
    "kind": {"enum": ["cat", "dog"]},
    "items": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "integer"},
        "ok": {"type": ["boolean", "null"]}}, "required": ["id", "ok"]}, "minItems": 1, "maxItems": 2}},
    "required": ["name", "n", "kind", "items"]})";

void expect_valid(const char* schema_text, const std::string& text) {
  const ojson s = ojson::parse(schema_text);
  ojson v;
  ASSERT_NO_THROW(v = ojson::parse(text)) << text;
  std::string why;
  EXPECT_TRUE(validate(s, v, s, &why)) << text << ": " << why;
}

TEST(JsonSchemaSession, TinyModelGivesValidDocuments) {
  const char* const kModel = "golden/tiny512/gguf/text-F32.gguf";
  SMOLVLM_REQUIRE_SHARED(kModel);
  const auto model = LoadedModel::load(testing::shared_path(kModel).string());
  kernels::ThreadPool pool(2);
  const auto schema = compile(kDecodeSchema);
  int stopped = 0;
  for (int64_t seed = 0; seed <= 3; ++seed) {  // seed 0: greedy
    Session s(model, {.n_ctx = 512}, pool);
    GenerateOptions o;
    o.sampling.temperature = seed == 0 ? 0.0f : 1.0f;
    o.sampling.top_k = 0;
    o.sampling.top_p = 1.0f;
    o.sampling.seed = seed;
    o.num_predict = 400;
    o.json_schema = schema;
    const GenerateResult r = s.generate(std::vector<int32_t>{1, 2, 3, 4}, o, [](std::string_view) { return true; });
    if (seed == 0) {
      EXPECT_EQ(r.reason, DoneReason::kStop) << r.text;
    }
    if (r.reason != DoneReason::kStop) continue;
    ++stopped;
    expect_valid(kDecodeSchema, r.text);
    if (seed == 0) std::cout << "[ schema session ] greedy: " << r.text << " (" << r.eval_tokens << " tokens)\n";
  }
  EXPECT_GE(stopped, 1);
}

// Posts an ordered body (the schema's properties in their written order); the reply as JSON.
json post_ordered(httplib::Client& c, const std::string& path, const ojson& body, int* status) {
  auto res = c.Post(path, body.dump(), "application/json");
  if (!res) {
    ADD_FAILURE() << "no response from " << path;
    return json();
  }
  *status = res->status;
  return json::parse(res->body);
}

TEST(JsonSchemaServer, ChatFormatAndOpenAIResponseFormat) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/text-F32.gguf");
  auto c = testing::server_env().client();
  const ojson schema = ojson::parse(kDecodeSchema);
  const ojson messages = ojson::array({{{"role", "user"}, {"content", "hi"}}});
  int status = 0;
  const json chat = post_ordered(c, "/api/chat",
                                 {{"model", "tiny"}, {"messages", messages}, {"format", schema}, {"stream", false},
                                  {"options", {{"temperature", 0}, {"num_predict", 400}}}},
                                 &status);
  ASSERT_EQ(status, 200) << chat.dump();
  EXPECT_EQ(chat["done_reason"], "stop") << chat.dump();
  expect_valid(kDecodeSchema, chat["message"]["content"].get<std::string>());
  // The properties come in the order the request writes them, though nlohmann::json sorts keys.
  const ojson zeta_first = ojson::parse(R"({"type": "object", "properties": {"zeta": {"type": "integer"},
      "alpha": {"type": "boolean"}}, "required": ["zeta", "alpha"]})");
  const json zr = post_ordered(c, "/api/chat",
                               {{"model", "tiny"}, {"messages", messages}, {"format", zeta_first}, {"stream", false},
                                {"options", {{"temperature", 0}, {"num_predict", 200}}}},
                               &status);
  ASSERT_EQ(status, 200) << zr.dump();
  const std::string content = zr["message"]["content"].get<std::string>();
  const size_t z = content.find("\"zeta\""), a = content.find("\"alpha\"");
  EXPECT_TRUE(z != std::string::npos && a != std::string::npos && z < a) << content;

  const json oa = post_ordered(
      c, "/v1/chat/completions",
      {{"model", "tiny"}, {"messages", messages}, {"temperature", 0}, {"max_tokens", 400},
       {"response_format", {{"type", "json_schema"}, {"json_schema", {{"name", "x"}, {"schema", schema}}}}}},
      &status);
  ASSERT_EQ(status, 200) << oa.dump();
  EXPECT_EQ(oa["choices"][0]["finish_reason"], "stop") << oa.dump();
  expect_valid(kDecodeSchema, oa["choices"][0]["message"]["content"].get<std::string>());
  // json_object: any JSON; text: no constraint (the random model's free text is not JSON).
  for (const char* type : {"json_object", "text"}) {
    const json r = post_ordered(c, "/v1/chat/completions",
                                {{"model", "tiny"}, {"messages", messages}, {"temperature", 0}, {"max_tokens", 64},
                                 {"response_format", {{"type", type}}}},
                                &status);
    ASSERT_EQ(status, 200) << r.dump();
    const std::string text = r["choices"][0]["message"]["content"].get<std::string>();
    if (std::string(type) == "text") {
      EXPECT_FALSE(json::accept(text)) << text;
    } else if (r["choices"][0]["finish_reason"] == "stop") {
      EXPECT_TRUE(json::accept(text)) << text;
    } else {
      EXPECT_TRUE(JsonRecognizer(JsonKind::kAny).accepts(text)) << text;
    }
  }
  // Invalid schemas: 400 naming the pointer.
  const ojson bad = {{"type", "object"}, {"properties", {{"a", {{"type", "strng"}}}}}};
  const json e1 = post_ordered(c, "/api/chat", {{"model", "tiny"}, {"messages", messages}, {"format", bad}}, &status);
  EXPECT_EQ(status, 400);
  EXPECT_NE(e1.dump().find("#/properties/a/type"), std::string::npos) << e1.dump();
  const json e2 = post_ordered(
      c, "/v1/chat/completions",
      {{"model", "tiny"}, {"messages", messages}, {"response_format", {{"type", "json_schema"}, {"json_schema", {{"schema", bad}}}}}},
      &status);
  EXPECT_EQ(status, 400);
  EXPECT_NE(e2.dump().find("#/properties/a/type"), std::string::npos) << e2.dump();
}

}  // namespace
}  // namespace smolvlm
