// A small Hugging Face Hub client over libcurl: HTTP GET/HEAD with redirects, HF_TOKEN as a Bearer
// token (curl drops it when a redirect leaves the endpoint's host), HF_ENDPOINT, the repository
// file listing (GET {endpoint}/api/models/{repo}/tree/{rev}?recursive=true) and file URLs
// ({endpoint}/{repo}/resolve/{rev}/{file}). Errors are smolvlm::Error with the URL and a hint
// (404 → "repository or file not found", 401/403 → set HF_TOKEN).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"

namespace smolvlm {

struct HubConfig {
  std::string endpoint = "https://huggingface.co";  // HF_ENDPOINT, no trailing '/'
  std::string token;                                // HF_TOKEN (or HUGGING_FACE_HUB_TOKEN)
  std::string cache_dir;  // Hugging Face cache: HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub
  int parallel = 4;                         // ranges downloaded at once for a large file
  int64_t parallel_min_size = 64ll << 20;   // files from this size are downloaded in ranges
  int retries = 5;                          // attempts per range after a transient error
  int retry_delay_ms = 500;                 // doubled after each failed attempt (capped at 8 s)
  long connect_timeout_s = 30;
  long stall_timeout_s = 60;                // abort a transfer slower than 1 byte/s for this long

  // Reads HF_ENDPOINT, HF_TOKEN / HUGGING_FACE_HUB_TOKEN, HF_HUB_CACHE / HF_HOME, HOME.
  static HubConfig from_env();
};

struct HttpResponse {
  long status = 0;                             // last response's status (after redirects)
  std::map<std::string, std::string> headers;  // of the last response, names in lower case
  std::string body;                            // when no sink was given
  std::string url;                             // effective URL (after redirects)
};

struct HttpRequest {
  std::string url;
  bool head = false;
  bool follow_redirects = true;
  int64_t range_begin = -1;  // >= 0: "Range: bytes=begin-[end]"
  int64_t range_end = -1;    // inclusive; -1 = to the end
  // Receives the body of a 2xx response; returning false aborts the transfer.
  std::function<bool(const char* data, size_t n)> sink;
  // Polled during the transfer (also while no data arrives); true aborts it.
  std::function<bool()> cancelled;
};

// Thrown for HTTP errors and transfer failures; `transient` says whether a retry may help
// (connection problems, cut transfers, 429, 5xx).
class HttpError : public Error {
 public:
  HttpError(const std::string& msg, long status, bool transient) : Error(msg), status_(status), transient_(transient) {}
  long status() const { return status_; }  // 0: no HTTP response
  bool transient() const { return transient_; }

 private:
  long status_;
  bool transient_;
};

// Performs one request. Throws HttpError (derived from Error) on transport errors and on
// status >= 400 (with the hint above); 3xx without follow_redirects and 2xx are returned.
HttpResponse http_request(const HubConfig& cfg, const HttpRequest& req);

// One file of a repository, from the tree listing.
struct HubFile {
  std::string path;    // "SmolVLM2-2.2B-Instruct-Q4_K_M.gguf"
  int64_t size = 0;
  std::string sha256;  // LFS files: 64 lowercase hex digits; "" for small git files
  std::string oid;     // the git blob id (sha1 hex; "" when the listing has none)
};

// "org/repo" checked (two parts of [A-Za-z0-9_.-], no "..") — it becomes part of URLs and paths.
void check_repo_id(const std::string& repo);

// Every file of repo at revision rev (default branch "main"), recursive.
std::vector<HubFile> hub_list_files(const HubConfig& cfg, const std::string& repo, const std::string& rev = "main");
// The commit a revision (branch, tag or commit) points at: GET {endpoint}/api/models/{repo}/revision/{rev}
// → "sha". Throws the listing's errors.
std::string hub_revision_sha(const HubConfig& cfg, const std::string& repo, const std::string& rev);
std::string hub_file_url(const HubConfig& cfg, const std::string& repo, const std::string& rev,
                         const std::string& file);

// What a HEAD on the file URL tells (without following the redirect): the sha256 from
// X-Linked-Etag / ETag when it is one, and the size from X-Linked-Size / Content-Length (-1 unknown).
struct HubFileMeta {
  std::string sha256;
  int64_t size = -1;
};
HubFileMeta hub_file_meta(const HubConfig& cfg, const std::string& url);

// A file of the Hugging Face cache (models--ORG--REPO/blobs/<sha256>, or snapshots/*/<file>) whose
// size and sha256 match; nullopt when there is none.
std::optional<std::string> hub_cached_file(const HubConfig& cfg, const std::string& repo, const HubFile& f);

}  // namespace smolvlm
