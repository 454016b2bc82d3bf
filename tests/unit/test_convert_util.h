// Helpers shared by the converter tests: editable copies of the golden checkpoint folders,
// safetensors files written from edited tensor lists, and GGUF comparisons that say exactly
// which key or tensor differs.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/gguf.h"
#include "io/safetensors.h"
#include "io/safetensors_writer.h"
#include "support/testing.h"

namespace smolvlm::testing {

namespace fs = std::filesystem;

// One tensor of a safetensors file, owned.
struct StTensor {
  std::string name, dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;
};

inline std::vector<StTensor> load_st(const fs::path& p) {
  const SafetensorsFile f = SafetensorsFile::open(p.string());
  std::vector<StTensor> out;
  for (const auto& t : f.tensors()) out.push_back({t.name, t.dtype, t.shape, {t.data.begin(), t.data.end()}});
  return out;
}

inline void write_st(const fs::path& p, const std::vector<StTensor>& ts) {
  std::vector<SafetensorsEntry> entries;
  for (const auto& t : ts) entries.push_back({t.name, t.dtype, t.shape});
  SafetensorsWriter w(p.string(), entries, {}, true);
  for (const auto& t : ts) w.write(t.data.data(), t.data.size());
  w.commit();
}

inline StTensor* find_st(std::vector<StTensor>& ts, const std::string& name) {
  for (auto& t : ts) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

// Copies golden/<model>/hf to dir/<model>/hf (so general.name stays <model>); returns the copy.
inline fs::path copy_golden_hf(const fs::path& dir, const std::string& model) {
  const fs::path dst = dir / model / "hf";
  fs::create_directories(dst);
  for (const auto& e : fs::directory_iterator(shared_path("golden/" + model + "/hf"))) {
    fs::copy_file(e.path(), dst / e.path().filename());
    fs::permissions(dst / e.path().filename(), fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::add);
  }
  return dst;
}

inline nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

inline void write_text(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << s;
}

inline void write_json(const fs::path& p, const nlohmann::json& j) { write_text(p, j.dump(2)); }

// Differences in metadata, compared key by key (order ignored): missing / extra keys, types, values.
inline std::vector<std::string> diff_metadata(const GgufFile& ours, const GgufFile& ref,
                                              const std::vector<std::string>& ignore = {}) {
  std::vector<std::string> d;
  auto ignored = [&](const std::string& k) { return std::find(ignore.begin(), ignore.end(), k) != ignore.end(); };
  for (const auto& kv : ref.metadata()) {
    if (ignored(kv.key)) continue;
    const GgufValue* v = ours.find(kv.key);
    if (v == nullptr) {
      d.push_back("missing key " + kv.key);
    } else if (v->type_string() != kv.value.type_string()) {
      d.push_back("key " + kv.key + ": type " + v->type_string() + " vs " + kv.value.type_string());
    } else if (!(*v == kv.value)) {
      d.push_back("key " + kv.key + ": value " + v->to_string() + " vs " + kv.value.to_string());
    }
  }
  for (const auto& kv : ours.metadata()) {
    if (!ignored(kv.key) && ref.find(kv.key) == nullptr) d.push_back("extra key " + kv.key);
  }
  return d;
}

// Differences in tensors, compared by name: missing / extra, type, shape, data bytes.
inline std::vector<std::string> diff_tensors(const GgufFile& ours, const GgufFile& ref) {
  std::vector<std::string> d;
  for (const auto& r : ref.tensors()) {
    const GgufTensorInfo* o = ours.find_tensor(r.name);
    if (o == nullptr) {
      d.push_back("missing tensor " + r.name);
      continue;
    }
    if (o->type != r.type) {
      d.push_back("tensor " + r.name + ": type " + ggml_type_name(o->type) + " vs " + ggml_type_name(r.type));
    } else if (o->ne != r.ne) {
      d.push_back("tensor " + r.name + ": shape differs");
    } else {
      const auto a = ours.tensor_data(*o), b = ref.tensor_data(r);
      if (a.size() != b.size() || std::memcmp(a.data(), b.data(), a.size()) != 0) {
        d.push_back("tensor " + r.name + ": data differs");
      }
    }
  }
  for (const auto& o : ours.tensors()) {
    if (ref.find_tensor(o.name) == nullptr) d.push_back("extra tensor " + o.name);
  }
  return d;
}

inline std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& e : v) s += e + "\n";
  return s;
}

// Files in dir whose name contains ".tmp-" (what AtomicFile leaves behind if it fails to clean up).
inline std::vector<std::string> temp_leftovers(const fs::path& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path().filename().string().find(".tmp-") != std::string::npos) out.push_back(e.path().string());
  }
  return out;
}

}  // namespace smolvlm::testing
