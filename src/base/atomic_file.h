// Atomic file creation: data goes to a temporary file in the destination's directory, is fsync'd,
// then renamed over the destination (and the directory fsync'd). Until commit() nothing is visible
// at the destination; if the writer is destroyed without commit() (an error, an exception) the
// temporary file is removed, so no partial output is ever left behind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace smolvlm {

class AtomicFile {
 public:
  // Refuses (throws Error) when `path` exists and `overwrite` is false.
  AtomicFile(const std::string& path, bool overwrite);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n);
  void write_zeros(size_t n);
  uint64_t offset() const { return offset_; }
  // fsync + rename + fsync(dir). Throws Error on failure (the temporary file is then removed).
  void commit();

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return tmp_; }

 private:
  void flush();
  void abandon() noexcept;
  std::string path_;
  std::string tmp_;
  int fd_ = -1;
  uint64_t offset_ = 0;
  std::string buf_;
};

}  // namespace smolvlm
