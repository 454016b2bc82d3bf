// GgufFile: validating GGUF v2/v3 reader. Follows the rules of ggml's gguf.cpp reader (see
// reference/llamacpp-gguf-smolvlm.md §1) and checks every count and length against the bytes left
// in the file before allocating anything, so hostile input fails fast with a precise message.
#include <cstring>
#include <limits>
#include <unordered_set>

#include "base/error.h"
#include "io/gguf.h"

namespace smolvlm {

namespace {

constexpr uint64_t kMaxString = uint64_t(1) << 30;      // ggml: strings up to 1 GiB
constexpr uint64_t kMaxArray = uint64_t(1) << 30;       // ggml: arrays up to 2^30 elements
constexpr uint64_t kMinKvBytes = 8 + 1 + 4 + 1;         // key length, >= 1 key byte, type, >= 1 value byte
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;  // name length, n_dims, 1 dim, type, offset
constexpr size_t kMaxDims = 4;
constexpr size_t kMaxTensorName = 64;  // GGML_MAX_NAME, including the terminating NUL

uint64_t pad_to(uint64_t x, uint64_t align) { return (x + align - 1) / align * align; }

}  // namespace

// Cursor over the file bytes; every read is bounds-checked and errors carry the offset.
struct GgufParser {
  GgufFile& f;
  std::span<const uint8_t> b;
  uint64_t pos = 0;

  template <typename... Args>
  [[noreturn]] void error_at(uint64_t off, Args&&... args) const {
    fail(f.name_, ": offset ", off, ": ", std::forward<Args>(args)...);
  }

  uint64_t left() const { return b.size() - pos; }

  void need(uint64_t n, const std::string& what) const {
    if (n > left()) error_at(pos, "file truncated: ", what, " needs ", n, " bytes, only ", left(), " left");
  }

  template <typename T>
  T read(const std::string& what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, b.data() + pos, sizeof(T));  // little-endian host
    pos += sizeof(T);
    return v;
  }

  std::string read_string(const std::string& what) {
    const uint64_t at = pos;
    const uint64_t n = read<uint64_t>(what + " length");
    if (n > kMaxString) error_at(at, what, " length ", n, " exceeds the 1 GiB limit");
    if (n > left()) error_at(at, what, " length ", n, " runs past end of file (", left(), " bytes left)");
    std::string s(reinterpret_cast<const char*>(b.data() + pos), n);
    pos += n;
    return s;
  }

  GgufValue read_value(GgufType t, const std::string& what) {
    switch (t) {
      case GgufType::STRING: return GgufValue::str(read_string(what));
      case GgufType::ARRAY: return read_array(what);
      default: break;
    }
    const size_t n = gguf_scalar_size(t);
    need(n, what);
    uint64_t bits = 0;
    std::memcpy(&bits, b.data() + pos, n);  // little-endian host
    pos += n;
    return GgufValue::from_bits(t, bits);
  }

  GgufValue read_array(const std::string& what) {
    const uint64_t at = pos;
    const uint32_t et = read<uint32_t>(what + " array element type");
    if (!gguf_type_valid(et)) error_at(at, what, ": unknown array element type ", et);
    const GgufType elem = static_cast<GgufType>(et);
    if (elem == GgufType::ARRAY) error_at(at, what, ": nested arrays are not supported");
    const uint64_t count = read<uint64_t>(what + " array length");
    if (count > kMaxArray) error_at(at, what, ": array length ", count, " exceeds the limit of 2^30 elements");
    const uint64_t min_elem = elem == GgufType::STRING ? 8 : gguf_scalar_size(elem);
    if (count > left() / min_elem) {
      error_at(at, what, ": array of ", count, " x ", gguf_type_name(elem), " runs past end of file (", left(),
               " bytes left)");
    }
    if (elem == GgufType::STRING) {
      std::vector<std::string> v;
      v.reserve(count);
      for (uint64_t i = 0; i < count; ++i) v.push_back(read_string(cat(what, "[", i, "]")));
      return GgufValue::str_array(std::move(v));
    }
    const uint64_t nbytes = count * min_elem;
    std::vector<uint8_t> packed(b.data() + pos, b.data() + pos + nbytes);
    pos += nbytes;
    return GgufValue::scalar_array(elem, std::move(packed), count);
  }

  void parse_header(uint64_t& n_tensors, uint64_t& n_kv) {
    if (b.size() < 4 || std::memcmp(b.data(), "GGUF", 4) != 0) {
      error_at(0, "not a GGUF file (bad magic; expected \"GGUF\")");
    }
    pos = 4;
    const uint32_t v = read<uint32_t>("version");
    if (v == 0) error_at(4, "bad GGUF version 0");
    if ((v & 0xFFFF) == 0) {
      error_at(4, "GGUF version field reads 0x", std::hex, v, std::dec,
               ": the file is big-endian (wrong endianness); only little-endian GGUF is supported");
    }
    if (v == 1) error_at(4, "GGUF version 1 is no longer supported (need 2 or 3)");
    if (v > 3) error_at(4, "GGUF version ", v, " is newer than the supported version 3");
    f.version_ = v;
    n_tensors = read<uint64_t>("tensor count");
    if (n_tensors > uint64_t(std::numeric_limits<int64_t>::max())) error_at(8, "negative tensor count");
    n_kv = read<uint64_t>("metadata key/value count");
    if (n_kv > uint64_t(std::numeric_limits<int64_t>::max())) error_at(16, "negative metadata key/value count");
    // Cheap plausibility check before reserving anything.
    if (n_kv > left() / kMinKvBytes || n_tensors > (left() - n_kv * kMinKvBytes) / kMinTensorInfoBytes) {
      error_at(8, n_tensors, " tensors and ", n_kv, " metadata keys cannot fit in the ", left(),
               " bytes left in the file");
    }
  }

  void parse_kvs(uint64_t n_kv) {
    std::unordered_set<std::string> seen;
    f.kv_.reserve(n_kv);
    for (uint64_t i = 0; i < n_kv; ++i) {
      const uint64_t at = pos;
      std::string key = read_string(cat("key #", i));
      if (key.empty()) error_at(at, "metadata key #", i, " is empty");
      if (!seen.insert(key).second) error_at(at, "duplicate metadata key '", key, "'");
      const uint64_t type_at = pos;
      const uint32_t t = read<uint32_t>(cat("type of key '", key, "'"));
      if (!gguf_type_valid(t)) error_at(type_at, "key '", key, "': unknown value type ", t);
      GgufValue v = read_value(static_cast<GgufType>(t), cat("key '", key, "'"));
      f.kv_.push_back({std::move(key), std::move(v)});
    }
    if (const GgufValue* a = f.find("general.alignment")) {
      if (a->type() != GgufType::UINT32) {
        error_at(24, "key 'general.alignment' has type ", a->type_string(), ", expected u32");
      }
      const uint32_t al = a->as_u32();
      if (al == 0 || (al & (al - 1)) != 0) {
        error_at(24, "key 'general.alignment' = ", al, " is not a power of two");
      }
      f.alignment_ = al;
    }
  }

  void parse_tensor_infos(uint64_t n_tensors) {
    std::unordered_set<std::string> seen;
    f.tensors_.reserve(n_tensors);
    uint64_t expected = 0;  // next offset in the data section (ggml: strictly sequential)
    std::vector<uint64_t> info_at;
    for (uint64_t i = 0; i < n_tensors; ++i) {
      const uint64_t at = pos;
      GgufTensorInfo t;
      t.name = read_string(cat("name of tensor #", i));
      if (t.name.size() >= kMaxTensorName) {
        error_at(at, "tensor name '", t.name, "' is ", t.name.size(), " bytes (limit ", kMaxTensorName - 1, ")");
      }
      if (!seen.insert(t.name).second) error_at(at, "duplicate tensor name '", t.name, "'");
      const std::string what = cat("tensor '", t.name, "'");
      const uint32_t n_dims = read<uint32_t>(what + " n_dims");
      if (n_dims < 1 || n_dims > kMaxDims) error_at(at, what, ": n_dims ", n_dims, " is not in 1..4");
      int64_t n_el = 1;
      for (uint32_t d = 0; d < n_dims; ++d) {
        const uint64_t ne = read<uint64_t>(cat(what, " ne[", d, "]"));
        if (ne > uint64_t(std::numeric_limits<int64_t>::max())) error_at(at, what, ": ne[", d, "] is negative");
        t.ne.push_back(static_cast<int64_t>(ne));
        if (__builtin_mul_overflow(n_el, static_cast<int64_t>(ne), &n_el)) {
          error_at(at, what, ": element count overflows int64");
        }
      }
      const uint64_t type_at = pos;
      const uint32_t tid = read<uint32_t>(what + " type");
      const GgmlTypeInfo* ti = ggml_type_info(tid);
      if (ti == nullptr) error_at(type_at, what, ": unknown ggml type id ", tid);
      t.type = ti->type;
      if (t.ne[0] % ti->block_size != 0) {
        error_at(type_at, what, ": ne[0] = ", t.ne[0], " is not a multiple of the ", ti->name, " block size ",
                 ti->block_size);
      }
      const uint64_t off_at = pos;
      t.offset = read<uint64_t>(what + " offset");
      const unsigned __int128 nbytes =
          static_cast<unsigned __int128>(n_el / ti->block_size) * static_cast<unsigned __int128>(ti->type_size);
      if (nbytes > b.size() || uint64_t(nbytes) > b.size() - expected) {
        const std::string size = (nbytes >> 64) != 0 ? std::string("over 2^64") : cat(uint64_t(nbytes));
        error_at(off_at, what, ": ", size, " bytes of data cannot fit in the file (", b.size(), " bytes)");
      }
      t.nbytes = static_cast<uint64_t>(nbytes);
      if (t.offset != expected) {
        error_at(off_at, what, " has offset ", t.offset, ", expected ", expected,
                 " (tensor data must be sequential, each padded to ", f.alignment_, " bytes)");
      }
      expected = pad_to(expected + t.nbytes, f.alignment_);
      f.tensors_.push_back(std::move(t));
    }
  }

  void check_data() {
    f.data_offset_ = pad_to(pos, f.alignment_);
    for (const GgufTensorInfo& t : f.tensors_) {
      const uint64_t start = f.data_offset_ + t.offset;
      if (start > b.size() || t.nbytes > b.size() - start) {
        error_at(start, "tensor '", t.name, "': data [", start, ", ", start + t.nbytes,
                 ") runs past end of file (", b.size(), " bytes)");
      }
    }
  }
};

GgufFile GgufFile::parse(std::span<const uint8_t> bytes, std::string name) {
  GgufFile f;
  f.name_ = std::move(name);
  f.bytes_ = bytes;
  GgufParser p{f, bytes};
  uint64_t n_tensors = 0, n_kv = 0;
  p.parse_header(n_tensors, n_kv);
  p.parse_kvs(n_kv);
  p.parse_tensor_infos(n_tensors);
  p.check_data();
  return f;
}

GgufFile GgufFile::open(const std::string& path) {
  auto map = std::make_shared<MappedFile>(path);
  GgufFile f = parse(map->bytes(), path);
  f.map_ = std::move(map);
  return f;
}

const GgufValue* GgufFile::find(std::string_view key) const {
  for (const GgufKV& kv : kv_) {
    if (kv.key == key) return &kv.value;
  }
  return nullptr;
}

const GgufValue& GgufFile::get(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) fail(name_, ": missing key '", key, "'");
  return *v;
}

std::string GgufFile::architecture() const {
  const GgufValue* v = find("general.architecture");
  return v != nullptr && v->type() == GgufType::STRING ? v->as_str() : std::string();
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  for (const GgufTensorInfo& t : tensors_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const GgufTensorInfo& GgufFile::tensor(std::string_view name) const {
  const GgufTensorInfo* t = find_tensor(name);
  if (t == nullptr) fail(name_, ": missing tensor '", name, "'");
  return *t;
}

std::span<const uint8_t> GgufFile::tensor_data(const GgufTensorInfo& t) const {
  const uint64_t start = data_offset_ + t.offset;
  if (start > bytes_.size() || t.nbytes > bytes_.size() - start) {
    fail(name_, ": offset ", start, ": tensor '", t.name, "': data runs past end of file");
  }
  return bytes_.subspan(start, t.nbytes);
}

int64_t GgufTensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return ne.empty() ? 0 : n;
}

}  // namespace smolvlm
