// Who is writing into a store's blobs/. Every writer (a blob streamed in, a quantization's scratch
// file, a download) holds a shared flock on <root>/.smolvlm-writers for as long as its temporary
// files exist; the kernel drops it when the process dies, kill -9 included. The prune removes
// temporaries only while it holds the lock exclusively (taken without waiting), so a file that a
// live process is still writing is never removed, whichever process or container runs the prune.
#pragma once

#include <string>

namespace smolvlm {

class StoreWriterLock {
 public:
  enum class Mode { kShared, kTryExclusive };
  // kShared waits for a running prune to finish; kTryExclusive never waits (held() says if it got it).
  StoreWriterLock(const std::string& root, Mode mode);
  ~StoreWriterLock();
  StoreWriterLock(StoreWriterLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  StoreWriterLock(const StoreWriterLock&) = delete;
  StoreWriterLock& operator=(const StoreWriterLock&) = delete;
  StoreWriterLock& operator=(StoreWriterLock&&) = delete;

  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace smolvlm
