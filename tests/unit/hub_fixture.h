// A local stand-in for the Hugging Face Hub for tests that pull (after test_pull.cpp's, which keeps
// its own richer one): api/models/<repo>/tree/<rev>, api/models/<repo>/revision/<rev>,
// <repo>/resolve/<rev>/<file> answering 302 to /cdn/... with X-Linked-Etag / X-Linked-Size, and the
// CDN serving the bytes (optionally slowly). Plus ScopedEnv for HF_ENDPOINT and friends.
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

class FakeHub {
 public:
  FakeHub();
  ~FakeHub();
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // "METHOD path" of every request so far.
  std::vector<std::string> requests();

  std::map<std::string, std::map<std::string, HubEntry>> repos;  // repo -> file -> entry (set before use)
  std::atomic<int> slow_ms{0};  // pause before each 16 KiB the CDN sends

 private:
  void log(const httplib::Request& req);
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
