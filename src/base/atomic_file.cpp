#include "base/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "base/error.h"

namespace smolvlm {
namespace {
constexpr size_t kBufferBytes = 4u << 20;

std::string dir_of(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}
}  // namespace

AtomicFile::AtomicFile(const std::string& path, bool overwrite) : path_(path) {
  std::error_code ec;
  if (!overwrite && std::filesystem::exists(path, ec)) {
    fail(path, ": output exists; pass --force to overwrite it");
  }
  std::random_device rd;
  for (int attempt = 0; attempt < 16 && fd_ < 0; ++attempt) {
    tmp_ = cat(path, ".tmp-", ::getpid(), "-", std::hex, rd());
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0 && errno != EEXIST) break;
  }
  if (fd_ < 0) fail(path, ": cannot create a temporary file in ", dir_of(path), ": ", std::strerror(errno));
  buf_.reserve(kBufferBytes);
}

AtomicFile::~AtomicFile() { abandon(); }

void AtomicFile::abandon() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
    ::unlink(tmp_.c_str());
  }
}

void AtomicFile::flush() {
  const char* p = buf_.data();
  size_t left = buf_.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      abandon();
      fail(path_, ": write failed at offset ", offset_ - left, ": ", std::strerror(e));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  buf_.clear();
}

void AtomicFile::write(const void* data, size_t n) {
  if (fd_ < 0) fail(path_, ": write after the file was closed");
  const char* p = static_cast<const char*>(data);
  offset_ += n;
  if (buf_.size() + n > kBufferBytes) {
    flush();
    if (n >= kBufferBytes) {
      buf_.assign(p, n);
      flush();
      return;
    }
  }
  buf_.append(p, n);
}

void AtomicFile::write_zeros(size_t n) {
  static const char zeros[64] = {};
  while (n > 0) {
    const size_t k = n < sizeof(zeros) ? n : sizeof(zeros);
    write(zeros, k);
    n -= k;
  }
}

void AtomicFile::commit() {
  if (fd_ < 0) fail(path_, ": commit after the file was closed");
  flush();
  if (::fsync(fd_) != 0) {
    const int e = errno;
    abandon();
    fail(path_, ": fsync failed: ", std::strerror(e));
  }
  if (::close(fd_) != 0) {
    const int e = errno;
    fd_ = -1;
    ::unlink(tmp_.c_str());
    fail(path_, ": close failed: ", std::strerror(e));
  }
  fd_ = -1;
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp_.c_str());
    fail(path_, ": rename failed: ", std::strerror(e));
  }
  const int dfd = ::open(dir_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace smolvlm
