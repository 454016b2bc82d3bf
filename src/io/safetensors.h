// safetensors reader: one file (mmap, header validated against the file) or a checkpoint folder
// (model.safetensors, or shards listed in model.safetensors.index.json). Tensor data are zero-copy
// views; read_f32() converts F32/F16/BF16 to float and gives a clear error for other dtypes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/mapped_file.h"

namespace smolvlm {

struct SafetensorsTensor {
  std::string name;
  std::string dtype;           // as in the header: "F32", "F16", "BF16", "I64", ...
  std::vector<int64_t> shape;  // PyTorch order (row-major, last dimension contiguous)
  std::span<const uint8_t> data;
  std::string file;            // the shard it lives in (for error messages)
  uint64_t file_offset = 0;    // absolute offset of data in that file
  int64_t n_elements() const;
};

class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::string& path);
  static SafetensorsFile parse(std::span<const uint8_t> bytes, std::string name = "<memory>");

  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }  // data order
  const SafetensorsTensor* find(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }  // "__metadata__"
  const std::string& path() const { return name_; }
  uint64_t header_size() const { return header_size_; }

 private:
  std::shared_ptr<MappedFile> map_;
  std::span<const uint8_t> bytes_;
  std::string name_;
  uint64_t header_size_ = 0;
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, std::string> metadata_;
  friend struct SafetensorsParser;
};

// A Hugging Face checkpoint folder.
class SafetensorsCheckpoint {
 public:
  // Opens DIR/model.safetensors.index.json (every listed shard must exist, parse, and hold the
  // tensors the index assigns to it) or else DIR/model.safetensors.
  static SafetensorsCheckpoint open_dir(const std::string& dir);

  SafetensorsCheckpoint() = default;
  // Copies re-point the name index at the copy's own files (tensor data stay shared, zero-copy).
  SafetensorsCheckpoint(const SafetensorsCheckpoint& o);
  SafetensorsCheckpoint& operator=(const SafetensorsCheckpoint& o);
  SafetensorsCheckpoint(SafetensorsCheckpoint&&) noexcept = default;
  SafetensorsCheckpoint& operator=(SafetensorsCheckpoint&&) noexcept = default;

  const SafetensorsTensor* find(std::string_view name) const;
  const SafetensorsTensor& get(std::string_view name) const;  // throws "missing tensor"
  std::vector<std::string> names() const;                      // sorted
  size_t n_files() const { return files_.size(); }
  // F32/F16/BF16 -> float32 (row-major, PyTorch order). Other dtypes: Error naming tensor and dtype.
  std::vector<float> read_f32(std::string_view name) const;

 private:
  std::vector<SafetensorsFile> files_;
  std::map<std::string, const SafetensorsTensor*, std::less<>> index_;
};

// Converts one tensor's data to float32 (used by SafetensorsCheckpoint::read_f32).
std::vector<float> safetensors_to_f32(const SafetensorsTensor& t);

}  // namespace smolvlm
