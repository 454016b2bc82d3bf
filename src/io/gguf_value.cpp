// GgufValue: one typed GGUF metadata value (construction, strict and lenient access, rendering).
#include <algorithm>
#include <bit>
#include <cstring>
#include <iomanip>
#include <sstream>

#include "base/error.h"
#include "io/gguf.h"

namespace smolvlm {

const char* gguf_type_name(GgufType t) {
  switch (t) {
    case GgufType::UINT8: return "u8";
    case GgufType::INT8: return "i8";
    case GgufType::UINT16: return "u16";
    case GgufType::INT16: return "i16";
    case GgufType::UINT32: return "u32";
    case GgufType::INT32: return "i32";
    case GgufType::FLOAT32: return "f32";
    case GgufType::BOOL: return "bool";
    case GgufType::STRING: return "str";
    case GgufType::ARRAY: return "arr";
    case GgufType::UINT64: return "u64";
    case GgufType::INT64: return "i64";
    case GgufType::FLOAT64: return "f64";
  }
  return "?";
}

size_t gguf_scalar_size(GgufType t) {
  switch (t) {
    case GgufType::UINT8: case GgufType::INT8: case GgufType::BOOL: return 1;
    case GgufType::UINT16: case GgufType::INT16: return 2;
    case GgufType::UINT32: case GgufType::INT32: case GgufType::FLOAT32: return 4;
    case GgufType::UINT64: case GgufType::INT64: case GgufType::FLOAT64: return 8;
    case GgufType::STRING: case GgufType::ARRAY: return 0;
  }
  return 0;
}

bool gguf_type_valid(uint32_t id) { return id <= static_cast<uint32_t>(GgufType::FLOAT64); }

namespace {

// Value of a scalar of type t stored in the low bytes of `bits` (little-endian order).
int64_t signed_of(GgufType t, uint64_t bits) {
  switch (t) {
    case GgufType::INT8: return static_cast<int8_t>(bits);
    case GgufType::INT16: return static_cast<int16_t>(bits);
    case GgufType::INT32: return static_cast<int32_t>(bits);
    case GgufType::INT64: return static_cast<int64_t>(bits);
    default: return static_cast<int64_t>(bits);
  }
}

bool is_integer(GgufType t) {
  return gguf_scalar_size(t) != 0 && t != GgufType::FLOAT32 && t != GgufType::FLOAT64 && t != GgufType::BOOL;
}

uint64_t load_bits(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  std::memcpy(&v, p, n);  // little-endian host
  return v;
}

template <typename T>
std::vector<uint8_t> pack(const std::vector<T>& v) {
  std::vector<uint8_t> out(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(out.data(), v.data(), out.size());
  return out;
}

template <typename T>
std::vector<T> unpack(const std::vector<uint8_t>& b) {
  std::vector<T> out(b.size() / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), b.data(), out.size() * sizeof(T));
  return out;
}

// Renders one scalar of type t held in `bits`.
std::string scalar_text(GgufType t, uint64_t bits) {
  std::ostringstream os;
  switch (t) {
    case GgufType::FLOAT32: os << std::setprecision(9) << std::bit_cast<float>(static_cast<uint32_t>(bits)); break;
    case GgufType::FLOAT64: os << std::setprecision(17) << std::bit_cast<double>(bits); break;
    case GgufType::BOOL: os << (bits != 0 ? "true" : "false"); break;
    case GgufType::INT8: case GgufType::INT16: case GgufType::INT32: case GgufType::INT64:
      os << signed_of(t, bits);
      break;
    default: os << bits; break;
  }
  return os.str();
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      out += cat("\\x", "0123456789abcdef"[c >> 4], "0123456789abcdef"[c & 15]);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace

GgufValue GgufValue::from_bits(GgufType t, uint64_t bits) {
  const size_t n = gguf_scalar_size(t);
  if (n == 0) fail("GGUF ", gguf_type_name(t), " is not a scalar type");
  if (n < 8 && (bits >> (8 * n)) != 0) fail("GGUF ", gguf_type_name(t), ": bits 0x", std::hex, bits, " out of range");
  GgufValue v;
  v.type_ = t;
  v.v_ = bits;
  return v;
}

GgufValue GgufValue::u8(uint8_t x) { return from_bits(GgufType::UINT8, x); }
GgufValue GgufValue::i8(int8_t x) { return from_bits(GgufType::INT8, static_cast<uint8_t>(x)); }
GgufValue GgufValue::u16(uint16_t x) { return from_bits(GgufType::UINT16, x); }
GgufValue GgufValue::i16(int16_t x) { return from_bits(GgufType::INT16, static_cast<uint16_t>(x)); }
GgufValue GgufValue::u32(uint32_t x) { return from_bits(GgufType::UINT32, x); }
GgufValue GgufValue::i32(int32_t x) { return from_bits(GgufType::INT32, static_cast<uint32_t>(x)); }
GgufValue GgufValue::f32(float x) { return from_bits(GgufType::FLOAT32, std::bit_cast<uint32_t>(x)); }
GgufValue GgufValue::boolean(bool x) { return from_bits(GgufType::BOOL, x ? 1 : 0); }
GgufValue GgufValue::u64(uint64_t x) { return from_bits(GgufType::UINT64, x); }
GgufValue GgufValue::i64(int64_t x) { return from_bits(GgufType::INT64, static_cast<uint64_t>(x)); }
GgufValue GgufValue::f64(double x) { return from_bits(GgufType::FLOAT64, std::bit_cast<uint64_t>(x)); }

GgufValue GgufValue::str(std::string x) {
  GgufValue v;
  v.type_ = GgufType::STRING;
  v.v_ = std::move(x);
  return v;
}

GgufValue GgufValue::str_array(std::vector<std::string> x) {
  GgufValue v;
  v.type_ = GgufType::ARRAY;
  v.elem_ = GgufType::STRING;
  v.count_ = x.size();
  v.v_ = std::move(x);
  return v;
}

GgufValue GgufValue::i32_array(std::vector<int32_t> x) { return scalar_array(GgufType::INT32, pack(x), x.size()); }
GgufValue GgufValue::u32_array(std::vector<uint32_t> x) { return scalar_array(GgufType::UINT32, pack(x), x.size()); }
GgufValue GgufValue::f32_array(std::vector<float> x) { return scalar_array(GgufType::FLOAT32, pack(x), x.size()); }

GgufValue GgufValue::scalar_array(GgufType elem, std::vector<uint8_t> packed, uint64_t count) {
  const size_t es = gguf_scalar_size(elem);
  if (es == 0) fail("GGUF array of ", gguf_type_name(elem), " cannot be built from packed bytes");
  if (packed.size() / es != count || packed.size() % es != 0) {
    fail("GGUF ", gguf_type_name(elem), " array: ", packed.size(), " bytes do not hold ", count, " elements");
  }
  GgufValue v;
  v.type_ = GgufType::ARRAY;
  v.elem_ = elem;
  v.count_ = count;
  v.v_ = std::move(packed);
  return v;
}

uint64_t GgufValue::array_size() const {
  if (!is_array()) fail("GGUF value has type ", gguf_type_name(type_), ", expected arr");
  return count_;
}

void GgufValue::expect(GgufType t) const {
  if (type_ != t) fail("GGUF value has type ", gguf_type_name(type_), ", expected ", gguf_type_name(t));
}

void GgufValue::expect_array(GgufType elem) const {
  if (type_ != GgufType::ARRAY || elem_ != elem) {
    fail("GGUF value has type ", type_string(), ", expected arr[", gguf_type_name(elem), "]");
  }
}

std::string GgufValue::type_string() const {
  if (!is_array()) return gguf_type_name(type_);
  return cat("arr[", gguf_type_name(elem_), "]");
}

uint32_t GgufValue::as_u32() const {
  expect(GgufType::UINT32);
  return static_cast<uint32_t>(std::get<uint64_t>(v_));
}
int32_t GgufValue::as_i32() const {
  expect(GgufType::INT32);
  return static_cast<int32_t>(std::get<uint64_t>(v_));
}
uint64_t GgufValue::as_u64() const {
  expect(GgufType::UINT64);
  return std::get<uint64_t>(v_);
}
float GgufValue::as_f32() const {
  expect(GgufType::FLOAT32);
  return std::bit_cast<float>(static_cast<uint32_t>(std::get<uint64_t>(v_)));
}
bool GgufValue::as_bool() const {
  expect(GgufType::BOOL);
  return std::get<uint64_t>(v_) != 0;
}
const std::string& GgufValue::as_str() const {
  expect(GgufType::STRING);
  return std::get<std::string>(v_);
}
const std::vector<std::string>& GgufValue::as_str_array() const {
  expect_array(GgufType::STRING);
  return std::get<std::vector<std::string>>(v_);
}
std::vector<int32_t> GgufValue::as_i32_array() const {
  expect_array(GgufType::INT32);
  return unpack<int32_t>(std::get<std::vector<uint8_t>>(v_));
}
std::vector<float> GgufValue::as_f32_array() const {
  expect_array(GgufType::FLOAT32);
  return unpack<float>(std::get<std::vector<uint8_t>>(v_));
}

int64_t GgufValue::as_int() const {
  if (!is_integer(type_)) fail("GGUF value has type ", type_string(), ", expected an integer");
  const uint64_t bits = std::get<uint64_t>(v_);
  if (type_ == GgufType::UINT64 && bits > static_cast<uint64_t>(INT64_MAX)) {
    fail("GGUF u64 value ", bits, " does not fit in int64");
  }
  return signed_of(type_, bits);
}

double GgufValue::as_number() const {
  if (type_ == GgufType::FLOAT32) return as_f32();
  if (type_ == GgufType::FLOAT64) return std::bit_cast<double>(std::get<uint64_t>(v_));
  if (type_ == GgufType::UINT64) return static_cast<double>(std::get<uint64_t>(v_));
  if (!is_integer(type_)) fail("GGUF value has type ", type_string(), ", expected a number");
  return static_cast<double>(as_int());
}

uint64_t GgufValue::raw_bits() const {
  if (gguf_scalar_size(type_) == 0) fail("GGUF value has type ", type_string(), ", expected a scalar");
  return std::get<uint64_t>(v_);
}

const std::vector<uint8_t>& GgufValue::packed() const {
  if (!is_array() || elem_ == GgufType::STRING) {
    fail("GGUF value has type ", type_string(), ", expected an array of scalars");
  }
  return std::get<std::vector<uint8_t>>(v_);
}

std::string GgufValue::to_string(size_t max_elems) const {
  if (type_ == GgufType::STRING) return quoted(std::get<std::string>(v_));
  if (!is_array()) return scalar_text(type_, std::get<uint64_t>(v_));
  std::string out = "[";
  const uint64_t shown = std::min<uint64_t>(count_, max_elems);
  for (uint64_t i = 0; i < shown; ++i) {
    if (i > 0) out += ", ";
    if (elem_ == GgufType::STRING) {
      out += quoted(std::get<std::vector<std::string>>(v_)[i]);
    } else {
      const size_t es = gguf_scalar_size(elem_);
      out += scalar_text(elem_, load_bits(std::get<std::vector<uint8_t>>(v_).data() + i * es, es));
    }
  }
  if (shown < count_) out += cat(", ... (", count_, " total)");
  return out + "]";
}

bool GgufValue::operator==(const GgufValue& o) const {
  if (type_ != o.type_) return false;
  if (is_array() && (elem_ != o.elem_ || count_ != o.count_)) return false;
  return v_ == o.v_;
}

}  // namespace smolvlm
