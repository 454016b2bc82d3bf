// Resumable, verified, parallel file downloads (for `smolvlm pull`). A file goes to <dest>-partial
// (Ollama's name for partial blobs, which its start-up prune removes after an hour), with its
// byte ranges and how far each got in <dest>-partial-state (JSON). A large file is split into
// HubConfig::parallel ranges fetched by as many threads; each range resumes with
// "Range: bytes=N-" after a transient error (retries with back-off) or in a later run. When the
// whole file is there it is checked (size, then sha256 against the hub's value), fsync'd and
// renamed to <dest> — nothing is ever visible at <dest> half-written or unverified.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "store/hub_client.h"

namespace smolvlm {

struct DownloadRequest {
  std::string url;
  std::string dest;    // final path (e.g. a blob path in the store)
  std::string sha256;  // expected, 64 lowercase hex digits; "" = unknown (size check only)
  int64_t size = -1;   // expected size; -1 = unknown (no parallel ranges, no resume)
};

// completed / total bytes (total -1 when unknown); called from the calling thread only, at most
// ~5 times a second and once at the end.
using DownloadProgress = std::function<void(int64_t completed, int64_t total)>;

// Fetches the file into <dest>-partial, resuming what an earlier run left there. Throws
// HttpError / Error (the partial file stays for the next attempt) when the transfer fails after
// its retries. Returns the partial file's path.
std::string download_partial(const HubConfig& cfg, const DownloadRequest& req, const DownloadProgress& progress = {});

// Checks the complete partial file (size; sha256 when req.sha256 is set), fsyncs it and renames
// it to req.dest. A mismatch removes the partial file (and its state) and throws Error
// "sha256 mismatch for …". Returns the file's sha256 (hex).
std::string commit_download(const DownloadRequest& req);

// download_partial + commit_download.
std::string download_file(const HubConfig& cfg, const DownloadRequest& req, const DownloadProgress& progress = {});

}  // namespace smolvlm
