#include "store/blobs.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <vector>

#include "base/error.h"
#include "base/hex.h"

namespace fs = std::filesystem;

namespace smolvlm {
namespace {

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Incremental SHA-256 (OpenSSL EVP).
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) fail("SHA-256 init failed");
  }
  void update(const void* p, size_t n) {
    if (EVP_DigestUpdate(ctx_.get(), p, n) != 1) fail("SHA-256 update failed");
  }
  std::string digest() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), md, &n) != 1) fail("SHA-256 final failed");
    return "sha256:" + hex_lower(md, n);
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

// A temporary file in blobs/ that is removed unless committed (renamed) — nothing half-written
// ever carries a final name.
class TempFile {
 public:
  explicit TempFile(const std::string& dir)
      : lock_(fs::path(dir).parent_path().string(), StoreWriterLock::Mode::kShared) {
    std::random_device rd;
    for (int attempt = 0; attempt < 16 && fd_ < 0; ++attempt) {
      path_ = cat(dir, "/sha256-tmp-", ::getpid(), "-", std::hex, rd(), rd());
      fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd_ < 0 && errno != EEXIST) break;
    }
    if (fd_ < 0) fail(dir, ": cannot create a temporary file: ", std::strerror(errno));
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }
  void write(const char* p, size_t n) {
    while (n > 0) {
      const ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        fail(path_, ": write failed: ", std::strerror(errno));
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
  }
  // fsync, close, rename over dest, fsync dest's directory.
  void commit(const std::string& dest) {
    if (::fsync(fd_) != 0) fail(path_, ": fsync failed: ", std::strerror(errno));
    ::fchmod(fd_, 0644);
    ::close(fd_);
    fd_ = -1;
    if (::rename(path_.c_str(), dest.c_str()) != 0) fail(dest, ": cannot rename ", path_, " into place: ", std::strerror(errno));
    committed_ = true;
    const int dfd = ::open(fs::path(dest).parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
  }

 private:
  StoreWriterLock lock_;  // before the file exists, until it is renamed or removed
  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
};

// Ours: removable whatever their age once no writer holds the lock.
bool our_temporary(const std::string& name) {
  return name.starts_with("sha256-tmp-") || name.starts_with(".quantize-") || name.find(".tmp-") != std::string::npos;
}

std::string missing_message(const std::string& digest, const std::string& dir) {
  return cat("blob ", digest, " is missing from ", dir, " (another server may have removed it); pull or create the model again");
}

}  // namespace

bool valid_digest(std::string_view d) {
  if (d.size() != 71 || d.substr(0, 6) != "sha256" || (d[6] != ':' && d[6] != '-')) return false;
  for (char c : d.substr(7)) {
    if (!is_hex(c)) return false;
  }
  return true;
}

std::string canonical_digest(std::string_view d) {
  if (!valid_digest(d)) fail("invalid digest format: '", std::string(d.substr(0, 100)), "'");
  std::string s = "sha256:";
  for (char c : d.substr(7)) s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

BlobStore::BlobStore(std::string root) : root_(std::move(root)) {}

std::string BlobStore::dir() const { return root_ + "/blobs"; }

std::string BlobStore::path(std::string_view digest) const {
  return dir() + "/sha256-" + canonical_digest(digest).substr(7);
}

bool BlobStore::exists(std::string_view digest) const {
  std::error_code ec;
  return fs::is_regular_file(path(digest), ec);
}

BlobInfo BlobStore::put(const Source& src, std::string_view expected) {
  const std::string want = expected.empty() ? std::string() : canonical_digest(expected);
  std::error_code ec;
  fs::create_directories(dir(), ec);
  if (ec) fail(dir(), ": cannot create the directory: ", ec.message());
  TempFile tmp(dir());
  Sha256 sha;
  std::vector<char> buf(1 << 20);
  int64_t size = 0;
  for (;;) {
    const size_t n = src(buf.data(), buf.size());
    if (n == 0) break;
    sha.update(buf.data(), n);
    tmp.write(buf.data(), n);
    size += static_cast<int64_t>(n);
  }
  BlobInfo info{sha.digest(), size, false};
  if (!want.empty() && want != info.digest) {
    fail("digest mismatch, expected \"", want, "\", got \"", info.digest, "\"");
  }
  const std::string dest = path(info.digest);
  if (fs::is_regular_file(dest, ec)) {
    touch(info.digest);  // identical content: keep the existing blob, drop the temporary copy
  } else {
    tmp.commit(dest);
    info.created = true;
  }
  return info;
}

BlobInfo BlobStore::put_bytes(std::string_view bytes) {
  size_t off = 0;
  return put([&](char* buf, size_t n) {
    const size_t k = std::min(n, bytes.size() - off);
    std::memcpy(buf, bytes.data() + off, k);
    off += k;
    return k;
  });
}

BlobInfo BlobStore::put_file(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(file, ": cannot read the file: ", std::strerror(errno));
  return put([&](char* buf, size_t n) {
    in.read(buf, static_cast<std::streamsize>(n));
    if (in.bad()) fail(file, ": read failed");
    return static_cast<size_t>(in.gcount());
  });
}

std::string BlobStore::file_digest(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(file, ": cannot read the file: ", std::strerror(errno));
  Sha256 sha;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.bad()) fail(file, ": read failed");
    sha.update(buf.data(), static_cast<size_t>(in.gcount()));
  }
  return sha.digest();
}

void BlobStore::verify(std::string_view digest) const {
  const std::string d = canonical_digest(digest);
  const std::string p = path(d);
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) fail(missing_message(d, dir()));
  const std::string got = file_digest(p);
  if (got != d) fail("blob ", p, " is corrupt: its bytes hash to ", got, ", not ", d);
}

int64_t BlobStore::size(std::string_view digest) const {
  const std::string d = canonical_digest(digest);
  std::error_code ec;
  const auto n = fs::file_size(path(d), ec);
  if (ec) fail(missing_message(d, dir()));
  return static_cast<int64_t>(n);
}

void BlobStore::touch(std::string_view digest) const {
  std::error_code ec;
  fs::last_write_time(path(digest), fs::file_time_type::clock::now(), ec);
}

StoreWriterLock BlobStore::writing() const { return StoreWriterLock(root_, StoreWriterLock::Mode::kShared); }

BlobStore::Pruned BlobStore::prune(const std::set<std::string>& keep, int64_t min_age_seconds, bool keep_complete) const {
  const StoreWriterLock idle(root_, StoreWriterLock::Mode::kTryExclusive);
  const auto cutoff = fs::file_time_type::clock::now() - std::chrono::seconds(min_age_seconds);
  Pruned out;
  out.writers_live = !idle.held();
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir(), ec)) {
    if (!e.is_regular_file(ec)) continue;
    const std::string name = e.path().filename().string();
    const bool old = e.last_write_time(ec) <= cutoff;
    const bool doomed = valid_digest(name) ? idle.held() && keep_complete && old && !keep.count(canonical_digest(name))
                                           : idle.held() && (our_temporary(name) || old);
    if (!doomed) continue;
    const auto bytes = static_cast<int64_t>(e.file_size(ec));
    if (fs::remove(e.path(), ec)) {
      ++out.files;
      out.bytes += ec ? 0 : bytes;
    }
  }
  return out;
}

void BlobStore::write_atomic(const std::string& dest, std::string_view bytes) const {
  std::error_code ec;
  fs::create_directories(dir(), ec);
  fs::create_directories(fs::path(dest).parent_path(), ec);
  if (ec) fail(fs::path(dest).parent_path().string(), ": cannot create the directory: ", ec.message());
  TempFile tmp(dir());
  tmp.write(bytes.data(), bytes.size());
  tmp.commit(dest);
}

}  // namespace smolvlm
