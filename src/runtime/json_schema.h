// A JSON Schema compiled for constrained decoding (what Ollama's `format: {schema}` and OpenAI's
// response_format json_schema ask for), following llama.cpp's json-schema-to-grammar, which is
// what Ollama runs:
//   - type (a name or an array of names, "null" included), enum and const (the value's compact
//     JSON text, byte for byte), anyOf / oneOf (alternatives; oneOf is read as anyOf), $ref to a
//     local JSON pointer ("#", "#/$defs/x", "#/definitions/x"; recursion allowed);
//   - objects: properties in the schema's order, required ones first, then the optional ones,
//     each of which may be skipped; keys are exactly the property names; other keys only when
//     additionalProperties is true or a schema (they come last, any number, never a property's
//     name); absent means none (as llama.cpp); "type":"object" without "properties" (and
//     additionalProperties absent or true): any object;
//   - arrays: prefixItems (all required, in order), then items (a schema; false: none),
//     minItems / maxItems (llama.cpp reads prefixItems as the exact tuple and drops it when items
//     is also given, and ignores minItems / maxItems without items: we follow JSON Schema there);
//   - strings ("type":"string" given): minLength / maxLength (characters: a UTF-8 sequence or one
//     escape counts one);
//   - integer: no fraction or exponent;
//   - no type: an object if "properties" (or additionalProperties other than true), an array if
//     items / prefixItems, else any value (as llama.cpp).
// Annotations (title, description, default, examples, $schema, $id, $comment, ...) and the value
// checks "format", "pattern", minimum / maximum, multipleOf, uniqueItems are ignored (llama.cpp
// enforces pattern, a few formats and integer bounds). allOf of one schema is that schema;
// allOf of several (llama.cpp merges objects' properties), not, if/then/else,
// patternProperties and the other applicators throw Error naming their JSON pointer, as does
// anything malformed (a wrong keyword type, an unknown type name, a dangling $ref, ...).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "runtime/json_constraint.h"

namespace smolvlm {

struct SchemaNode {
  enum Kind : uint8_t {
    kLeaf,      // one value read by a JsonRecognizer of JsonKind `leaf` (any value, any object, ...)
    kLiterals,  // exactly one of `literals` (sorted, distinct)
    kObject,    // keys `literals` ("\"name\"", emission order) with values `children`
    kArray,     // `children`: prefix items; then `extra` items
    kUnion,     // any of `children`
  };
  Kind kind = kLeaf;
  JsonKind leaf = JsonKind::kAny;
  uint32_t min_length = 0, max_length = UINT32_MAX;  // kLeaf kString
  std::vector<std::string> literals;
  std::vector<int32_t> children;
  uint32_t n_required = 0;   // kObject: the first n_required properties must appear
  int32_t extra = -1;        // kObject: additional properties' node; kArray: items' node (-1: none)
  uint32_t min_items = 0, max_items = UINT32_MAX;  // kArray
};

class JsonSchema {
 public:
  static constexpr size_t kMaxProperties = 64;    // per object
  static constexpr size_t kMaxAlternatives = 8;   // per value (flattened anyOf / type arrays)

  // Throws Error naming the JSON pointer of what is invalid or unsupported. Keys keep the
  // document's order with ordered_json; nlohmann::json sorts them (properties then come sorted).
  static std::shared_ptr<const JsonSchema> compile(const nlohmann::ordered_json& schema);
  static std::shared_ptr<const JsonSchema> compile(const nlohmann::json& schema);
  // Any JSON value (kAny), or any value of one top-level type.
  static std::shared_ptr<const JsonSchema> of_kind(JsonKind kind);

  int32_t root() const { return root_; }
  const SchemaNode& node(int32_t i) const { return nodes_[static_cast<size_t>(i)]; }
  size_t size() const { return nodes_.size(); }
  // The non-union nodes a value of node i may match (i itself unless it is a union).
  std::span<const int32_t> alternatives(int32_t i) const { return alts_[static_cast<size_t>(i)]; }

 private:
  friend class SchemaCompiler;
  std::vector<SchemaNode> nodes_;
  std::vector<std::vector<int32_t>> alts_;
  int32_t root_ = 0;
};

}  // namespace smolvlm
