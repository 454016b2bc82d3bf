#include "base/file_util.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/error.h"

namespace smolvlm {

std::string expand_home(const std::string& p) {
  if (p == "~" || p.rfind("~/", 0) == 0) {
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "") + p.substr(1);
  }
  return p;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot read the file: ", std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail(path, ": cannot read the file");
  return ss.str();
}

namespace {
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};
}  // namespace

bool copy_file_data(const std::string& src, const std::string& dst,
                    const std::function<void(int64_t, int64_t)>& on_progress) {
  const Fd in{::open(src.c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0) fail(src, ": cannot open: ", std::strerror(errno));
  struct stat st{};
  if (::fstat(in.fd, &st) != 0) fail(src, ": cannot stat: ", std::strerror(errno));
  Fd out{::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)};
  if (out.fd < 0) fail(dst, ": cannot create: ", std::strerror(errno));
  const auto total = static_cast<int64_t>(st.st_size);
  try {
    if (::ioctl(out.fd, FICLONE, in.fd) == 0) {
      if (::fsync(out.fd) != 0) fail(dst, ": fsync failed: ", std::strerror(errno));
      if (on_progress) on_progress(total, total);
      return true;
    }
    int64_t done = 0;
    bool plain = false;  // copy_file_range refused (another filesystem type, old kernel): read/write
    std::string buf;
    while (done < total) {
      const size_t want = static_cast<size_t>(std::min<int64_t>(total - done, 64 << 20));
      ssize_t n = -1;
      if (!plain) {
        n = ::copy_file_range(in.fd, nullptr, out.fd, nullptr, want, 0);
        if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) plain = true;
      }
      if (plain) {
        buf.resize(want);
        n = ::pread(in.fd, buf.data(), want, done);
        for (ssize_t w = 0; n > 0 && w < n;) {
          const ssize_t k = ::write(out.fd, buf.data() + w, static_cast<size_t>(n - w));
          if (k < 0 && errno == EINTR) continue;
          if (k <= 0) fail(dst, ": write failed: ", std::strerror(errno));
          w += k;
        }
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("copying ", src, " to ", dst, ": ", std::strerror(errno));
      if (n == 0 && !plain) {  // some filesystems answer 0 early: read and write instead
        plain = true;
        continue;
      }
      if (n == 0) fail(src, ": the file shrank while it was copied");
      done += n;
      if (on_progress) on_progress(done, total);
    }
    if (::fsync(out.fd) != 0) fail(dst, ": fsync failed: ", std::strerror(errno));
  } catch (...) {
    ::close(out.fd);
    out.fd = -1;
    ::unlink(dst.c_str());
    throw;
  }
  return false;
}

std::string human_bytes(uint64_t b) {
  char s[32];
  if (b >= (1ull << 30)) std::snprintf(s, sizeof s, "%.1f GiB", double(b) / double(1ull << 30));
  else if (b >= (1ull << 20)) std::snprintf(s, sizeof s, "%.0f MiB", double(b) / double(1ull << 20));
  else std::snprintf(s, sizeof s, "%.0f KiB", double(b) / 1024.0);
  return s;
}

}  // namespace smolvlm
