// GGUF v3 (v2 readable) — reader with full validation and zero-copy mmap'd tensor views, and a
// streaming writer producing files llama.cpp accepts (strict key types, tensors in info order,
// data 32-byte aligned unless general.alignment says otherwise).
//
// Every error is a smolvlm::Error whose message names the file, the byte offset and the problem,
// e.g. "model.gguf: offset 1234: tensor 'blk.0.attn_q.weight': data [..] runs past end of file".
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/mapped_file.h"
#include "io/ggml_type.h"

namespace smolvlm {

class Progress;

enum class GgufType : uint32_t {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};
const char* gguf_type_name(GgufType t);  // "u32", "f32", "str", "arr", ...
size_t gguf_scalar_size(GgufType t);      // bytes of one scalar; 0 for STRING and ARRAY
bool gguf_type_valid(uint32_t id);        // id is one of the 13 value types

// One metadata value with its exact GGUF type. Arrays hold elements of one scalar/string type
// (nested arrays are rejected by the reader and cannot be built).
class GgufValue {
 public:
  GgufValue() = default;
  static GgufValue u8(uint8_t v);
  static GgufValue i8(int8_t v);
  static GgufValue u16(uint16_t v);
  static GgufValue i16(int16_t v);
  static GgufValue u32(uint32_t v);
  static GgufValue i32(int32_t v);
  static GgufValue f32(float v);
  static GgufValue boolean(bool v);
  static GgufValue str(std::string v);
  static GgufValue u64(uint64_t v);
  static GgufValue i64(int64_t v);
  static GgufValue f64(double v);
  static GgufValue str_array(std::vector<std::string> v);
  static GgufValue i32_array(std::vector<int32_t> v);
  static GgufValue u32_array(std::vector<uint32_t> v);
  static GgufValue f32_array(std::vector<float> v);
  // Array of any scalar element type from its little-endian packed bytes (count * element size).
  static GgufValue scalar_array(GgufType elem, std::vector<uint8_t> packed, uint64_t count);
  // Scalar of type t from its little-endian bits (zero-extended); keeps the exact bits (NaN
  // payloads, a bool byte > 1) so that a file rewritten from what was read is byte-identical.
  static GgufValue from_bits(GgufType t, uint64_t bits);

  GgufType type() const { return type_; }
  GgufType elem_type() const { return elem_; }  // arrays only
  bool is_array() const { return type_ == GgufType::ARRAY; }
  uint64_t array_size() const;                  // arrays only

  // Strict typed access: throws Error("... has type X, expected Y") on a mismatch.
  uint32_t as_u32() const;
  int32_t as_i32() const;
  uint64_t as_u64() const;
  float as_f32() const;
  bool as_bool() const;
  const std::string& as_str() const;
  const std::vector<std::string>& as_str_array() const;
  std::vector<int32_t> as_i32_array() const;
  std::vector<float> as_f32_array() const;
  // Lenient access for readers of third-party files: any integer type / any numeric type.
  int64_t as_int() const;
  double as_number() const;
  // Exact little-endian bits of a scalar (zero-extended), whatever its type.
  uint64_t raw_bits() const;
  // Packed little-endian bytes of a scalar array (not for string arrays).
  const std::vector<uint8_t>& packed() const;

  // Human-readable rendering for `inspect` (arrays abbreviated after max_elems elements).
  std::string to_string(size_t max_elems = 8) const;

  bool operator==(const GgufValue& o) const;
  std::string type_string() const;  // "u32", "str", "arr[i32]", ...

 private:
  void expect(GgufType t) const;
  void expect_array(GgufType elem) const;
  GgufType type_ = GgufType::UINT8;
  GgufType elem_ = GgufType::UINT8;
  uint64_t count_ = 0;  // array length
  // scalars: the value's bits in a uint64 (zero-extended) / string / string array / packed scalars
  std::variant<uint64_t, std::string, std::vector<std::string>, std::vector<uint8_t>> v_;
};

struct GgufKV {
  std::string key;
  GgufValue value;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> ne;  // ggml order: ne[0] is the contiguous dimension; 1..4 entries
  GgmlType type = GgmlType::F32;
  uint64_t offset = 0;  // relative to the start of the data section
  uint64_t nbytes = 0;
  int64_t n_elements() const;
  int64_t n_rows() const { return ne.empty() ? 0 : n_elements() / ne[0]; }
};

class GgufFile {
 public:
  // Maps and validates the file. Throws Error naming the path, offset and problem.
  static GgufFile open(const std::string& path);
  // Parses bytes the caller keeps alive (fuzzing, tests). `name` is used in error messages.
  static GgufFile parse(std::span<const uint8_t> bytes, std::string name = "<memory>");

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  const std::string& path() const { return name_; }

  const std::vector<GgufKV>& metadata() const { return kv_; }  // file order
  const GgufValue* find(std::string_view key) const;
  const GgufValue& get(std::string_view key) const;  // throws "missing key 'x'"
  std::string architecture() const;                   // general.architecture or ""

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }  // file order
  const GgufTensorInfo* find_tensor(std::string_view name) const;
  const GgufTensorInfo& tensor(std::string_view name) const;  // throws "missing tensor 'x'"
  std::span<const uint8_t> tensor_data(const GgufTensorInfo& t) const;  // zero-copy view

 private:
  std::shared_ptr<MappedFile> map_;  // null when parsed from caller memory
  std::span<const uint8_t> bytes_;
  std::string name_;
  uint32_t version_ = 0;
  uint32_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<GgufKV> kv_;
  std::vector<GgufTensorInfo> tensors_;
  friend struct GgufParser;
};

// Builds a GGUF file: metadata in insertion order, tensor infos in insertion order, tensor data
// streamed one tensor at a time from a producer (so a model never needs to fit in memory).
class GgufWriter {
 public:
  // Appends, or replaces the value in place when the key exists (keeps its position).
  void set(const std::string& key, GgufValue v);
  // Removes and re-appends at the end (what llama-quantize's gguf_set_* does to an existing key).
  void set_last(const std::string& key, GgufValue v);
  void remove(std::string_view key);
  const GgufValue* find(std::string_view key) const;
  const std::vector<GgufKV>& metadata() const { return kv_; }

  // Validates the name (< 64 bytes, unique), dims (1..4, > 0) and ne[0] % block size.
  void add_tensor(const std::string& name, GgmlType type, std::vector<int64_t> ne);
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }

  // Called once per tensor, in order; must fill `out` with exactly info.nbytes bytes.
  using Producer = std::function<void(size_t index, const GgufTensorInfo& info, std::vector<uint8_t>& out)>;

  // Writes atomically (temporary file, fsync, rename); refuses an existing path unless overwrite.
  // `progress`, if given, is advanced by each tensor's byte count.
  void write_file(const std::string& path, bool overwrite, const Producer& produce, Progress* progress = nullptr) const;
  std::vector<uint8_t> write_memory(const Producer& produce) const;

 private:
  std::vector<GgufKV> kv_;
  std::vector<GgufTensorInfo> tensors_;
};

}  // namespace smolvlm
