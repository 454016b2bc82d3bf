// A local stand-in for the Hugging Face Hub for tests that pull: api/models/<repo>/tree/<rev>,
// api/models/<repo>/revision/<rev>, <repo>/resolve/<rev>/<file> answering 302 to /cdn/... with
// X-Linked-Etag / X-Linked-Size, and the CDN serving the bytes with Range (optionally slowly, or cut
// off half-way), private repositories behind a Bearer token. Plus ScopedEnv for HF_ENDPOINT and friends.
#pragma once

#include <httplib.h>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace smolvlm::testing {

struct HubEntry {
  std::string bytes;
  std::string sha256;  // advertised (tree lfs.oid, ETag); "" = a plain git file
  std::string oid = "";  // the git blob id the listing gives ("": the real one, from the bytes)
};

inline constexpr const char* kHubCommit = "4f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c";  // every repo's revision

class FakeHub {
 public:
  FakeHub();
  ~FakeHub();
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // "METHOD path [range]" of every request so far.
  std::vector<std::string> requests();
  // Ranges requested from the CDN for a file ("bytes=N-M"; "" for a whole file).
  std::vector<std::string> cdn_ranges(const std::string& file);

  std::map<std::string, std::map<std::string, HubEntry>> repos;  // repo -> file -> entry (set before use)
  std::map<std::string, int> cut;               // file -> how many next GETs stop half-way (connection closed)
  std::map<std::string, std::string> tokens;    // repo -> the Bearer token it requires
  std::atomic<int> slow_ms{0};  // pause before each 16 KiB the CDN sends

 private:
  void log(const httplib::Request& req);
  bool authorized(const std::string& repo, const httplib::Request& req, httplib::Response& res) const;
  const HubEntry* find(const std::string& repo, const std::string& file) const;

  httplib::Server svr_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> log_;
};

// Sets environment variables for a scope, then restores what was there.
class ScopedEnv {
 public:
  explicit ScopedEnv(std::vector<std::pair<std::string, std::optional<std::string>>> vars);  // nullopt: unset
  ~ScopedEnv();
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

}  // namespace smolvlm::testing
