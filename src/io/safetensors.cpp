// SafetensorsFile: validating reader of one .safetensors file (8-byte LE header length, JSON
// header, data section). Every tensor's byte range is checked against the file and against the
// other tensors before any view is handed out.
#include <algorithm>
#include <cstring>
#include <limits>
#include <set>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "io/safetensors.h"

namespace smolvlm {

namespace {

constexpr uint64_t kMaxHeader = uint64_t(100) << 20;  // the safetensors package's limit: 100 MB

// Bytes per element of every dtype the format defines with a whole-byte size; 0 = unknown.
size_t dtype_bytes(std::string_view d) {
  struct Entry {
    std::string_view name;
    size_t size;
  };
  static constexpr Entry kDtypes[] = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},   {"F8_E4M3", 1}, {"F8_E5M2", 1}, {"F8_E8M0", 1},
      {"I16", 2},  {"U16", 2}, {"F16", 2},  {"BF16", 2},    {"I32", 4},     {"U32", 4},
      {"F32", 4},  {"F64", 8}, {"I64", 8},  {"U64", 8},     {"C64", 8},
  };
  for (const Entry& e : kDtypes) {
    if (e.name == d) return e.size;
  }
  return 0;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += cat(i > 0 ? ", " : "", shape[i]);
  return s + "]";
}

}  // namespace

int64_t SafetensorsTensor::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

struct SafetensorsParser {
  SafetensorsFile& f;

  template <typename... Args>
  [[noreturn]] void error_at(uint64_t off, Args&&... args) const {
    fail(f.name_, ": offset ", off, ": ", std::forward<Args>(args)...);
  }

  // One "name": {"dtype", "shape", "data_offsets"} entry; `data_size` bounds the offsets.
  SafetensorsTensor tensor(const std::string& name, const nlohmann::json& j, uint64_t data_start,
                           uint64_t data_size) {
    const std::string what = cat("tensor '", name, "'");
    if (!j.is_object()) error_at(8, what, ": header entry is not a JSON object");
    SafetensorsTensor t;
    t.name = name;
    t.file = f.name_;
    const auto dt = j.find("dtype");
    if (dt == j.end() || !dt->is_string()) error_at(8, what, ": missing or non-string \"dtype\"");
    t.dtype = dt->get<std::string>();
    const size_t esize = dtype_bytes(t.dtype);
    if (esize == 0) error_at(8, what, ": unknown dtype '", t.dtype, "'");
    const auto sh = j.find("shape");
    if (sh == j.end() || !sh->is_array()) error_at(8, what, ": missing or non-array \"shape\"");
    int64_t n = 1;
    for (const auto& d : *sh) {
      if (!d.is_number_unsigned()) error_at(8, what, ": shape entry of JSON type ", d.type_name(), " is not a non-negative integer");
      const uint64_t v = d.get<uint64_t>();
      if (v > uint64_t(std::numeric_limits<int64_t>::max()) ||
          __builtin_mul_overflow(n, static_cast<int64_t>(v), &n)) {
        error_at(8, what, ": shape element count overflows int64");
      }
      t.shape.push_back(static_cast<int64_t>(v));
    }
    const auto off = j.find("data_offsets");
    if (off == j.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned()) {
      error_at(8, what, ": \"data_offsets\" must be [begin, end] with non-negative integers");
    }
    const uint64_t begin = (*off)[0].get<uint64_t>(), end = (*off)[1].get<uint64_t>();
    if (begin > end) error_at(data_start + begin, what, ": data_offsets [", begin, ", ", end, "] are reversed");
    if (end > data_size) {
      error_at(data_start + begin, what, ": data_offsets [", begin, ", ", end, "] run past the end of the data (",
               data_size, " bytes)");
    }
    unsigned __int128 want = static_cast<unsigned __int128>(n) * esize;
    if (want != end - begin) {
      error_at(data_start + begin, what, ": ", end - begin, " data bytes but shape ", shape_text(t.shape), " of ", t.dtype,
               " needs ", static_cast<uint64_t>(std::min<unsigned __int128>(want, UINT64_MAX)));
    }
    t.file_offset = data_start + begin;
    t.data = f.bytes_.subspan(t.file_offset, end - begin);
    return t;
  }

  void parse() {
    const auto& b = f.bytes_;
    if (b.size() < 8) error_at(0, "file truncated: ", b.size(), " bytes, need at least 8 for the header length");
    uint64_t hlen = 0;
    std::memcpy(&hlen, b.data(), 8);  // little-endian host
    if (hlen > b.size() - 8) {
      error_at(0, "header length ", hlen, " runs past end of file (", b.size(), " bytes)");
    }
    if (hlen > kMaxHeader) error_at(0, "header length ", hlen, " exceeds the 100 MB limit");
    f.header_size_ = hlen;
    const char* h = reinterpret_cast<const char*>(b.data() + 8);
    nlohmann::json j;
    // nlohmann keeps the last of two equal keys; a header naming a tensor twice is rejected instead.
    std::set<std::string> seen;
    const nlohmann::json::parser_callback_t no_duplicates = [&](int depth, nlohmann::json::parse_event_t ev,
                                                                 nlohmann::json& parsed) {
      if (depth == 1 && ev == nlohmann::json::parse_event_t::key && parsed.is_string() &&
          !seen.insert(parsed.get<std::string>()).second) {
        error_at(8, "duplicate entry '", parsed.get<std::string>(), "' in the JSON header");
      }
      return true;
    };
    try {
      j = nlohmann::json::parse(h, h + hlen, no_duplicates);
    } catch (const nlohmann::json::exception& e) {
      error_at(8, "invalid JSON header: ", e.what());
    }
    if (!j.is_object()) error_at(8, "JSON header is not an object");
    const uint64_t data_start = 8 + hlen;
    const uint64_t data_size = b.size() - data_start;
    for (const auto& [key, val] : j.items()) {
      if (key == "__metadata__") {
        if (!val.is_object()) error_at(8, "\"__metadata__\" is not a JSON object");
        for (const auto& [mk, mv] : val.items()) {
          if (!mv.is_string()) error_at(8, "\"__metadata__\" value of '", mk, "' is not a string");
          f.metadata_[mk] = mv.get<std::string>();
        }
        continue;
      }
      f.tensors_.push_back(tensor(key, val, data_start, data_size));
    }
    // Data order; then no two tensors may share bytes.
    std::sort(f.tensors_.begin(), f.tensors_.end(), [](const SafetensorsTensor& a, const SafetensorsTensor& c) {
      return a.file_offset != c.file_offset ? a.file_offset < c.file_offset : a.data.size() < c.data.size();
    });
    for (size_t i = 1; i < f.tensors_.size(); ++i) {
      const SafetensorsTensor& p = f.tensors_[i - 1];
      const SafetensorsTensor& t = f.tensors_[i];
      if (t.file_offset < p.file_offset + p.data.size()) {
        error_at(t.file_offset, "tensor '", t.name, "' overlaps tensor '", p.name, "' (data [",
                 t.file_offset - data_start, ", ", t.file_offset - data_start + t.data.size(), ") vs [",
                 p.file_offset - data_start, ", ", p.file_offset - data_start + p.data.size(), "))");
      }
    }
  }
};

SafetensorsFile SafetensorsFile::parse(std::span<const uint8_t> bytes, std::string name) {
  SafetensorsFile f;
  f.name_ = std::move(name);
  f.bytes_ = bytes;
  SafetensorsParser{f}.parse();
  return f;
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  auto map = std::make_shared<MappedFile>(path);
  SafetensorsFile f = parse(map->bytes(), path);
  f.map_ = std::move(map);
  return f;
}

const SafetensorsTensor* SafetensorsFile::find(std::string_view name) const {
  for (const SafetensorsTensor& t : tensors_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

}  // namespace smolvlm
