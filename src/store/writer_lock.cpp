#include "store/writer_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/error.h"

namespace smolvlm {

StoreWriterLock::StoreWriterLock(const std::string& root, Mode mode) {
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  const std::string path = root + "/.smolvlm-writers";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0 && errno == EACCES) fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);  // a read-only share
  if (fd_ < 0) {
    if (mode == Mode::kTryExclusive) return;  // cannot tell who writes: prune no temporaries
    fail(path, ": cannot open the store's writer lock: ", std::strerror(errno));
  }
  const int op = mode == Mode::kShared ? LOCK_SH : LOCK_EX | LOCK_NB;
  int rc;
  while ((rc = ::flock(fd_, op)) != 0 && errno == EINTR) {
  }
  if (rc != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    if (mode == Mode::kShared) fail(path, ": cannot lock: ", std::strerror(err));
  }
}

StoreWriterLock::~StoreWriterLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

}  // namespace smolvlm
