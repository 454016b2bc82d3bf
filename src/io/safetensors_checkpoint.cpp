// SafetensorsCheckpoint: a Hugging Face checkpoint folder (one model.safetensors, or the shards of
// model.safetensors.index.json), and the F32/F16/BF16 -> float32 conversion.
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/file_util.h"
#include "base/fp16.h"
#include "io/safetensors.h"

namespace smolvlm {

namespace fs = std::filesystem;

namespace {

constexpr const char* kIndexName = "model.safetensors.index.json";

nlohmann::json read_json(const fs::path& p) {
  const std::string text = read_file(p.string());
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(p.string(), ": invalid JSON: ", e.what());
  }
}

bool path_exists(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

// Shard names come from the (untrusted) index: plain relative paths inside the folder only.
void check_shard_name(const fs::path& index, const std::string& shard) {
  const fs::path p(shard);
  bool ok = !shard.empty() && p.is_relative() && !p.has_root_name();
  for (const auto& part : p) ok = ok && part != "..";
  if (!ok) fail(index.string(), ": shard name '", shard, "' is not a file name inside the checkpoint folder");
}

}  // namespace

SafetensorsCheckpoint SafetensorsCheckpoint::open_dir(const std::string& dir) {
  SafetensorsCheckpoint c;
  const fs::path d(dir);
  const fs::path index = d / kIndexName;
  if (path_exists(index)) {
    const nlohmann::json j = read_json(index);
    const auto wm = j.is_object() ? j.find("weight_map") : j.end();
    if (wm == j.end() || !wm->is_object()) fail(index.string(), ": missing \"weight_map\" object");
    std::map<std::string, std::vector<std::string>> by_shard;  // shard -> tensors the index puts there
    for (const auto& [name, shard] : wm->items()) {
      if (!shard.is_string()) fail(index.string(), ": weight_map entry '", name, "' is not a string");
      check_shard_name(index, shard.get<std::string>());
      by_shard[shard.get<std::string>()].push_back(name);
    }
    if (by_shard.empty()) fail(index.string(), ": \"weight_map\" is empty");
    c.files_.reserve(by_shard.size());
    for (const auto& [shard, names] : by_shard) {
      const fs::path p = d / shard;
      if (!path_exists(p)) {
        fail(index.string(), ": shard '", shard, "' (", names.size(), " tensors, e.g. '", names.front(),
             "') does not exist: ", p.string());
      }
      c.files_.push_back(SafetensorsFile::open(p.string()));
      const SafetensorsFile& f = c.files_.back();
      for (const std::string& name : names) {
        const SafetensorsTensor* t = f.find(name);
        if (t == nullptr) {
          fail(p.string(), ": tensor '", name, "' is assigned to shard '", shard, "' by ", kIndexName,
               " but is not in that file");
        }
        c.index_.emplace(name, t);
      }
    }
    // Tensors a shard holds beyond those listed (unusual) stay reachable unless listed elsewhere.
    for (const SafetensorsFile& f : c.files_) {
      for (const SafetensorsTensor& t : f.tensors()) c.index_.emplace(t.name, &t);
    }
    return c;
  }
  const fs::path single = d / "model.safetensors";
  if (!path_exists(single)) fail(dir, ": no ", kIndexName, " or model.safetensors in this folder");
  c.files_.push_back(SafetensorsFile::open(single.string()));
  for (const SafetensorsTensor& t : c.files_.back().tensors()) c.index_.emplace(t.name, &t);
  return c;
}

SafetensorsCheckpoint::SafetensorsCheckpoint(const SafetensorsCheckpoint& o) : files_(o.files_) {
  for (const auto& [name, ptr] : o.index_) {
    for (size_t i = 0; i < o.files_.size(); ++i) {
      const auto& ts = o.files_[i].tensors();
      if (ptr >= ts.data() && ptr < ts.data() + ts.size()) {
        index_.emplace(name, &files_[i].tensors()[static_cast<size_t>(ptr - ts.data())]);
        break;
      }
    }
  }
}

SafetensorsCheckpoint& SafetensorsCheckpoint::operator=(const SafetensorsCheckpoint& o) {
  if (this != &o) *this = SafetensorsCheckpoint(o);
  return *this;
}

const SafetensorsTensor* SafetensorsCheckpoint::find(std::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : it->second;
}

const SafetensorsTensor& SafetensorsCheckpoint::get(std::string_view name) const {
  const SafetensorsTensor* t = find(name);
  if (t == nullptr) {
    fail(files_.empty() ? std::string("safetensors checkpoint") : files_.front().path(), ": missing tensor '",
         name, "'");
  }
  return *t;
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  out.reserve(index_.size());
  for (const auto& kv : index_) out.push_back(kv.first);
  return out;  // std::map order = sorted
}

std::vector<float> SafetensorsCheckpoint::read_f32(std::string_view name) const {
  return safetensors_to_f32(get(name));
}

std::vector<float> safetensors_to_f32(const SafetensorsTensor& t) {
  const std::string where = cat(t.file, ": tensor '", t.name, "'");
  uint16_t (*half)(const uint8_t*) = [](const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return h;
  };
  size_t esize = 0;
  float (*convert)(uint16_t) = nullptr;
  if (t.dtype == "F32") {
    esize = 4;
  } else if (t.dtype == "F16") {
    esize = 2;
    convert = fp16_to_fp32;
  } else if (t.dtype == "BF16") {
    esize = 2;
    convert = bf16_to_fp32;
  } else {
    fail(where, ": dtype ", t.dtype, " cannot be read as float32 (supported: F32, F16, BF16)");
  }
  const int64_t n = t.n_elements();
  if (n < 0 || t.data.size() != static_cast<uint64_t>(n) * esize) {
    fail(where, ": ", t.data.size(), " data bytes do not match ", n, " elements of ", t.dtype);
  }
  std::vector<float> out(static_cast<size_t>(n));
  if (convert == nullptr) {
    if (n > 0) std::memcpy(out.data(), t.data.data(), t.data.size());  // little-endian host
  } else {
    for (size_t i = 0; i < out.size(); ++i) out[i] = convert(half(t.data.data() + 2 * i));
  }
  return out;
}

}  // namespace smolvlm
