// Streaming safetensors writer. The header is known up front (entries: name, dtype, shape, in file
// order), so tensor data can be produced piece by piece and never held in memory as a whole. The
// header is byte-identical to Python's
//   json.dumps({"__metadata__": {"format": "pt", ...}, name: {"dtype", "shape", "data_offsets"}, ...},
//              separators=(",", ":"))   (ensure_ascii, as Python's default)
// padded with spaces to a multiple of 8 bytes, as written by the safetensors package and by
// golden/tools/golden_common.py. Output goes through AtomicFile: nothing is visible at the
// destination until every byte was written.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace smolvlm {

class AtomicFile;
class Progress;

struct SafetensorsEntry {
  std::string name;
  std::string dtype;           // "F32", "F16", "BF16", "F64", "I8".."I64", "U8".."U64", "BOOL"
  std::vector<int64_t> shape;  // PyTorch order; {} = scalar (one element)
  int64_t n_elements() const;
};

// Bytes per element of a safetensors dtype; throws Error for an unknown dtype.
size_t safetensors_dtype_size(const std::string& dtype);

// "__metadata__" pairs in order. "format": "pt" comes first unless the list sets "format" itself
// (then that value takes its place, like Python's dict.update).
using SafetensorsMetadata = std::vector<std::pair<std::string, std::string>>;

// The padded header JSON (without the 8-byte length prefix). Validates names (non-empty, unique,
// not "__metadata__"), dtypes and shapes.
std::string safetensors_header(const std::vector<SafetensorsEntry>& entries, const SafetensorsMetadata& metadata);

// Sequential writer: after construction the header is written; then write() the data bytes of
// the entries in order (any split), then commit().
class SafetensorsWriter {
 public:
  SafetensorsWriter(const std::string& path, std::vector<SafetensorsEntry> entries,
                    const SafetensorsMetadata& metadata = {}, bool overwrite = false);
  ~SafetensorsWriter();
  SafetensorsWriter(const SafetensorsWriter&) = delete;
  SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;

  void write(const void* data, size_t n);  // throws when it runs past the last tensor's end
  void commit();                           // throws when data is missing (names the tensor)

  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  uint64_t data_bytes() const { return total_; }  // sum of all tensors' byte sizes
  uint64_t header_bytes() const { return header_; }  // 8 + padded JSON length
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::vector<SafetensorsEntry> entries_;
  std::vector<uint64_t> ends_;  // data offset where each tensor ends
  std::unique_ptr<AtomicFile> file_;
  uint64_t total_ = 0, header_ = 0, written_ = 0;
};

// Fills `out` with bytes [offset, offset + out.size()) of the data of entries[index]. Called from
// several threads at once (for different pieces) when threads > 1; offset is a multiple of
// the element size and, when the piece does not start the tensor, of `chunk_bytes`.
using SafetensorsProducer = std::function<void(size_t index, uint64_t offset, std::span<uint8_t> out)>;

struct SafetensorsWriteOptions {
  bool overwrite = false;
  int threads = 1;                    // 0 = all hardware threads
  uint64_t chunk_bytes = 8ull << 20;  // piece size (a multiple of 8); memory ~ 2 * threads pieces
  Progress* progress = nullptr;       // advanced by the bytes written (optional)
};

// Writes a whole file: every tensor split into pieces of chunk_bytes, pieces produced in parallel
// in batches and written in order. Returns the file size.
uint64_t write_safetensors(const std::string& path, const std::vector<SafetensorsEntry>& entries,
                           const SafetensorsMetadata& metadata, const SafetensorsProducer& produce,
                           const SafetensorsWriteOptions& options = {});

}  // namespace smolvlm
