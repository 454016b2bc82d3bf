// Content-addressed blobs of Ollama's store (reference/ollama-contract.md §7.5, §1.19):
// <root>/blobs/sha256-<64 lowercase hex>. Every write streams into a temporary "sha256-tmp-…" file
// in blobs/ (a name Ollama's start-up prune recognises as stale), hashing as it goes, then fsync and
// rename into place — a blob is never visible half-written, and identical content is stored once.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>

#include "store/writer_lock.h"

namespace smolvlm {

// "sha256:<hex>" from "sha256:<hex>" or "sha256-<hex>" (64 hex digits, case folded to lower);
// throws Error "invalid digest format" otherwise.
std::string canonical_digest(std::string_view digest);
bool valid_digest(std::string_view digest);

struct BlobInfo {
  std::string digest;  // "sha256:<hex>"
  int64_t size = 0;
  bool created = false;  // false: the blob was already there
};

class BlobStore {
 public:
  explicit BlobStore(std::string root);  // the store root (blobs/ is below it)

  std::string dir() const;
  std::string path(std::string_view digest) const;  // validates the digest
  bool exists(std::string_view digest) const;

  // Reads chunks until the source returns 0 bytes; each call fills up to n bytes of buf.
  using Source = std::function<size_t(char* buf, size_t n)>;
  // Streams `src` into the store. With `expected` set, a different digest throws Error
  // "digest mismatch, expected \"…\", got \"…\"" and leaves nothing behind.
  BlobInfo put(const Source& src, std::string_view expected = {});
  BlobInfo put_bytes(std::string_view bytes);
  BlobInfo put_file(const std::string& file);  // copies a file (e.g. a GGUF) into the store

  // Re-hashes a blob: throws Error naming the digest when it is missing ("blob sha256:… is missing
  // from <dir>; it may have been removed by another server") or its bytes do not match.
  void verify(std::string_view digest) const;
  // Size on disk; throws the "missing" Error above when absent.
  int64_t size(std::string_view digest) const;
  // Sets the mtime to now (Ollama's start-up prune spares recent blobs).
  void touch(std::string_view digest) const;
  // Held by anything that leaves temporary files in blobs/ while it works (store/writer_lock.h).
  StoreWriterLock writing() const;
  // Ollama's start-up prune (reference/ollama-contract.md §7.6), made safe for live writers:
  // - blobs not in `keep` (digests "sha256:<hex>") older than min_age_seconds (a recent one may be
  //   about to get its manifest from another server);
  // - our temporaries (sha256-tmp-*, .quantize-*, *.tmp-*) of any age, and download partials
  //   (*-partial*, resumable) and other names older than min_age_seconds, but only when no live
  //   process holds the writer lock: a file that is still being written is never removed.
  struct Pruned {
    size_t files = 0;
    int64_t bytes = 0;
    bool writers_live = false;  // temporaries were spared: a writer holds the lock
  };
  // keep_complete false (a manifest could not be read): no blob is removed, only temporaries. Blobs
  // too are removed only while no writer is live (a create may be about to reference an old one).
  Pruned prune(const std::set<std::string>& keep, int64_t min_age_seconds, bool keep_complete = true) const;

  // sha256 of a whole file, "sha256:<hex>".
  static std::string file_digest(const std::string& file);

  // Writes `bytes` to `dest` atomically: a temporary file in blobs/, fsync, rename, fsync(dir).
  void write_atomic(const std::string& dest, std::string_view bytes) const;

 private:
  std::string root_;
};

}  // namespace smolvlm
