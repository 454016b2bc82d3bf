// Read-only memory map of a whole file. Zero-copy tensor views point into it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace smolvlm {

class MappedFile {
 public:
  MappedFile() = default;
  // Throws Error naming the path when the file cannot be opened or mapped.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

  // Tells the kernel the pages covering [p, p + n) inside this mapping are no longer needed, so a
  // streaming pass over a large file (convert, quantize) keeps its resident set near one tensor
  // instead of growing to the whole file. The data stay readable (paged in again on access).
  // Ranges outside the mapping are ignored.
  void release(const void* p, size_t n) const;
  // Same for a range the caller knows lies inside some MappedFile (e.g. a tensor view). Only for
  // read-only file mappings: there, dropped pages fault back in from the file, so rounding the
  // range out to whole pages is harmless. Never call it on heap or anonymous memory.
  static void release_range(const void* p, size_t n);

 private:
  void reset();
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace smolvlm
