#include "io/gguf_keys.h"

#include <cstring>

#include "base/error.h"
#include "io/gguf.h"

namespace smolvlm {
namespace {

// Runs read(v) for a present key, adding the file and key to any error.
template <typename T, typename Read>
std::optional<T> read_key(const GgufFile& f, const std::string& key, Read read) {
  const GgufValue* v = f.find(key);
  if (v == nullptr) return std::nullopt;
  try {
    return read(*v);
  } catch (const Error& e) {
    fail(f.path(), ": key '", key, "': ", e.what());
  }
}

}  // namespace

std::optional<int64_t> gguf_int(const GgufFile& f, const std::string& key) {
  return read_key<int64_t>(f, key, [](const GgufValue& v) -> int64_t {
    if (!v.is_array()) return v.as_int();
    const uint64_t n = v.array_size();
    const size_t size = gguf_scalar_size(v.elem_type());
    if (n == 0) fail("is an empty array");
    if (size == 0 || v.elem_type() == GgufType::FLOAT32 || v.elem_type() == GgufType::FLOAT64 ||
        v.elem_type() == GgufType::BOOL)
      fail("is an array of ", v.type_string(), ", expected integers");
    std::optional<int64_t> first;
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t bits = 0;
      std::memcpy(&bits, v.packed().data() + i * size, size);
      const int64_t x = GgufValue::from_bits(v.elem_type(), bits).as_int();
      if (first && *first != x) fail("differs between layers (", *first, " vs ", x, "), which is not supported");
      first = x;
    }
    return *first;
  });
}

std::optional<double> gguf_number(const GgufFile& f, const std::string& key) {
  return read_key<double>(f, key, [](const GgufValue& v) { return v.as_number(); });
}

std::optional<bool> gguf_bool(const GgufFile& f, const std::string& key) {
  return read_key<bool>(f, key, [](const GgufValue& v) { return v.as_bool(); });
}

std::optional<std::string> gguf_str(const GgufFile& f, const std::string& key) {
  return read_key<std::string>(f, key, [](const GgufValue& v) { return v.as_str(); });
}

std::optional<std::vector<float>> gguf_floats(const GgufFile& f, const std::string& key) {
  return read_key<std::vector<float>>(f, key, [](const GgufValue& v) { return v.as_f32_array(); });
}

int64_t gguf_positive(const GgufFile& f, const std::string& key, std::optional<int64_t> v, std::string_view needed_by,
                      int64_t max) {
  if (!v) fail(f.path(), ": missing key '", key, "' (required for ", needed_by, ")");
  if (*v <= 0 || *v > max) fail(f.path(), ": key '", key, "' has the invalid value ", *v);
  return *v;
}

}  // namespace smolvlm
