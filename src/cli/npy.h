// NumPy .npy files for the inspection commands: reading float32 arrays, writing float32 / uint8 /
// int32 arrays (format version 1.0, little-endian, C order).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace smolvlm::cli {

struct NpyArray {
  std::string descr;            // "<f4", "|u1", "<i4", ...
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;    // raw little-endian bytes, C order
  int64_t size() const;         // number of elements
};

// Reads a version 1/2/3 .npy file. Throws Error naming the file and byte offset on anything that
// is not a well-formed C-order array whose data matches its header.
NpyArray read_npy(const std::string& path);
// The array as float32 values; throws Error unless descr is "<f4" (or "<f8", converted).
std::vector<float> npy_floats(const NpyArray& a, const std::string& path);

// Writes atomically; `descr` must match the element size of `data`.
void write_npy(const std::string& path, const std::string& descr, const std::vector<int64_t>& shape,
               const void* data, size_t bytes);
void write_npy_f32(const std::string& path, const std::vector<int64_t>& shape, const std::vector<float>& data);

}  // namespace smolvlm::cli
