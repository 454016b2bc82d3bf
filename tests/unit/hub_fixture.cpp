#include "hub_fixture.h"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "base/hex.h"

namespace smolvlm::testing {
namespace {

// git's blob id: sha1 of "blob <size>\0" and the bytes (what the hub lists as a file's oid).
std::string git_oid(const HubEntry& e) {
  if (!e.oid.empty()) return e.oid;
  std::string data = "blob ";
  data += std::to_string(e.bytes.size());
  data += '\0';
  data += e.bytes;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), md, &n, EVP_sha1(), nullptr);
  return hex_lower(md, n);
}

}  // namespace

FakeHub::FakeHub() {
  svr_.Get(R"(/api/models/([^/]+)/([^/]+)/tree/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    log(req);
    const std::string repo = req.matches[1].str() + "/" + req.matches[2].str();
    if (!authorized(repo, req, res)) return;
    auto it = repos.find(repo);
    if (it == repos.end()) {
      res.status = 404;
      res.set_content(R"({"error":"Repository not found"})", "application/json");
      return;
    }
    nlohmann::json j = nlohmann::json::array();
    for (const auto& [path, e] : it->second) {
      nlohmann::json f{{"type", "file"}, {"path", path}, {"size", e.bytes.size()}, {"oid", git_oid(e)}};
      if (!e.sha256.empty()) f["lfs"] = {{"oid", e.sha256}, {"size", e.bytes.size()}, {"pointerSize", 134}};
      j.push_back(f);
    }
    res.set_content(j.dump(), "application/json");
  });
  svr_.Get(R"(/api/models/([^/]+)/([^/]+)/revision/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    log(req);
    const std::string repo = req.matches[1].str() + "/" + req.matches[2].str();
    if (!repos.count(repo)) {
      res.status = 404;
      return;
    }
    res.set_content(nlohmann::json{{"id", repo}, {"sha", kHubCommit}}.dump(), "application/json");
  });
  svr_.Get(R"(/([^/]+)/([^/]+)/resolve/([^/]+)/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
    log(req);
    const std::string repo = req.matches[1].str() + "/" + req.matches[2].str();
    if (!authorized(repo, req, res)) return;
    const HubEntry* e = find(repo, req.matches[4].str());
    if (!e) {
      res.status = 404;
      res.set_header("X-Error-Code", "EntryNotFound");
      return;
    }
    res.status = 302;
    res.set_header("Location", "/cdn/" + repo + "/" + req.matches[4].str());
    if (!e->sha256.empty()) {
      res.set_header("X-Linked-Etag", "\"" + e->sha256 + "\"");
      res.set_header("X-Linked-Size", std::to_string(e->bytes.size()));
    }
    std::string etag = git_oid(*e);  // the git object id, quoted
    etag.insert(etag.begin(), '"');
    etag += '"';
    res.set_header("ETag", etag);
  });
  svr_.Get(R"(/cdn/([^/]+)/([^/]+)/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
    log(req);
    const std::string file = req.matches[3].str();
    const HubEntry* e = find(req.matches[1].str() + "/" + req.matches[2].str(), file);
    if (!e) {
      res.status = 404;
      return;
    }
    bool cut_this = false;
    {
      std::lock_guard lock(mu_);
      if (cut[file] > 0 && req.method == "GET") {
        --cut[file];
        cut_this = true;
      }
    }
    if (!e->sha256.empty()) res.set_header("ETag", "\"" + e->sha256 + "\"");
    res.set_header("Accept-Ranges", "bytes");
    const std::string* bytes = &e->bytes;
    res.set_content_provider(
        bytes->size(), "application/octet-stream",
        [bytes, cut_this, slow = slow_ms.load()](size_t offset, size_t length, httplib::DataSink& sink) {
          const size_t end = cut_this ? offset + std::max<size_t>(length / 2, 1) : offset + length;
          for (size_t p = offset; p < end;) {
            if (slow) std::this_thread::sleep_for(std::chrono::milliseconds(slow));
            const size_t n = std::min<size_t>(16384, end - p);
            if (!sink.write(bytes->data() + p, n)) return false;
            p += n;
          }
          return !cut_this;  // false: the connection is closed early
        });
  });
  port_ = svr_.bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { svr_.listen_after_bind(); });
  while (!svr_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FakeHub::~FakeHub() {
  svr_.stop();
  thread_.join();
}

std::vector<std::string> FakeHub::requests() {
  std::lock_guard lock(mu_);
  return log_;
}

std::vector<std::string> FakeHub::cdn_ranges(const std::string& file) {
  std::vector<std::string> out;
  for (const auto& r : requests()) {
    if (r.rfind("GET /cdn/", 0) == 0 && r.find("/" + file) != std::string::npos) {
      const auto sp = r.find(' ', 4);
      out.push_back(sp == std::string::npos ? "" : r.substr(sp + 1));
    }
  }
  return out;
}

void FakeHub::log(const httplib::Request& req) {
  std::lock_guard lock(mu_);
  std::string line = req.method;
  line += ' ';
  line += req.path;
  if (req.has_header("Range")) line += ' ', line += req.get_header_value("Range");
  log_.push_back(std::move(line));
}

bool FakeHub::authorized(const std::string& repo, const httplib::Request& req, httplib::Response& res) const {
  auto it = tokens.find(repo);
  if (it == tokens.end() || req.get_header_value("Authorization") == "Bearer " + it->second) return true;
  res.status = 401;
  res.set_content(R"({"error":"Invalid credentials in Authorization header"})", "application/json");
  return false;
}

const HubEntry* FakeHub::find(const std::string& repo, const std::string& file) const {
  auto r = repos.find(repo);
  if (r == repos.end()) return nullptr;
  auto f = r->second.find(file);
  return f == r->second.end() ? nullptr : &f->second;
}

ScopedEnv::ScopedEnv(std::vector<std::pair<std::string, std::optional<std::string>>> vars) {
  for (const auto& [k, v] : vars) {
    const char* old = std::getenv(k.c_str());
    saved_.push_back({k, old ? std::optional<std::string>(old) : std::nullopt});
    v ? (void)::setenv(k.c_str(), v->c_str(), 1) : (void)::unsetenv(k.c_str());
  }
}

ScopedEnv::~ScopedEnv() {
  for (auto it = saved_.rbegin(); it != saved_.rend(); ++it)
    it->second ? (void)::setenv(it->first.c_str(), it->second->c_str(), 1) : (void)::unsetenv(it->first.c_str());
}

}  // namespace smolvlm::testing
