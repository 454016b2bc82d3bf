#include "store/hub_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "store/blobs.h"

namespace fs = std::filesystem;

namespace smolvlm {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

bool is_sha256_hex(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

// An ETag value as a sha256: strips W/ and quotes; "" when it is not 64 hex digits.
std::string etag_sha256(std::string v) {
  v = trim(v);
  if (v.rfind("W/", 0) == 0) v = v.substr(2);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  return is_sha256_hex(v) ? lower(v) : "";
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  const HttpRequest* req;
  HttpResponse* res;
  long status = 0;
  bool aborted_by_sink = false;
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after a redirect): start over
    t->res->headers.clear();
    const auto sp = line.find(' ');
    t->status = sp == std::string::npos ? 0 : std::atol(line.c_str() + sp + 1);
  } else if (const auto colon = line.find(':'); colon != std::string::npos) {
    t->res->headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  }
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t bytes = size * n;
  // Bodies of redirects and errors are not the file: keep them (short) for the error message.
  if (t->status < 200 || t->status >= 300 || !t->req->sink) {
    if (t->res->body.size() < (t->req->sink ? 4096u : (1u << 30))) t->res->body.append(data, bytes);
    return bytes;
  }
  if (!t->req->sink(data, bytes)) {
    t->aborted_by_sink = true;
    return 0;  // makes curl stop with CURLE_WRITE_ERROR
  }
  return bytes;
}

int on_xferinfo(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->req->cancelled && t->req->cancelled()) {
    t->aborted_by_sink = true;
    return 1;  // CURLE_ABORTED_BY_CALLBACK
  }
  return 0;
}

std::string status_hint(long status) {
  if (status == 404) return "repository or file not found (check the name; private or gated repositories need HF_TOKEN)";
  if (status == 401 || status == 403) {
    return "access denied: the repository is private or gated; set HF_TOKEN to a token with access "
           "(and accept the model's terms on the hub)";
  }
  if (status == 416) return "requested range not satisfiable";
  if (status == 429) return "too many requests";
  return "HTTP error";
}

// The hub's JSON error message ({"error":"..."}) when there is one.
std::string body_error(const std::string& body) {
  try {
    const auto j = nlohmann::json::parse(body);
    if (j.is_object() && j.contains("error") && j["error"].is_string()) return j["error"].get<std::string>();
  } catch (const std::exception&) {
  }
  return "";
}

std::string escape_path(CURL* c, const std::string& path) {
  std::string out;
  size_t start = 0;
  for (;;) {
    const auto e = path.find('/', start);
    const std::string seg = path.substr(start, e == std::string::npos ? std::string::npos : e - start);
    std::unique_ptr<char, void (*)(void*)> esc(curl_easy_escape(c, seg.c_str(), static_cast<int>(seg.size())), curl_free);
    out += esc ? esc.get() : seg;
    if (e == std::string::npos) return out;
    out += '/';
    start = e + 1;
  }
}

}  // namespace

HubConfig HubConfig::from_env() {
  HubConfig c;
  if (auto e = env("HF_ENDPOINT"); !e.empty()) c.endpoint = e;
  while (!c.endpoint.empty() && c.endpoint.back() == '/') c.endpoint.pop_back();
  c.token = env("HF_TOKEN");
  if (c.token.empty()) c.token = env("HUGGING_FACE_HUB_TOKEN");
  if (auto h = env("HF_HUB_CACHE"); !h.empty()) {
    c.cache_dir = h;
  } else if (auto home = env("HF_HOME"); !home.empty()) {
    c.cache_dir = home + "/hub";
  } else if (auto xdg = env("XDG_CACHE_HOME"); !xdg.empty()) {
    c.cache_dir = xdg + "/huggingface/hub";
  } else if (auto h2 = env("HOME"); !h2.empty()) {
    c.cache_dir = h2 + "/.cache/huggingface/hub";
  }
  return c;
}

HttpResponse http_request(const HubConfig& cfg, const HttpRequest& req) {
  global_init();
  std::unique_ptr<CURL, void (*)(CURL*)> c(curl_easy_init(), curl_easy_cleanup);
  if (!c) throw HttpError("cannot initialise libcurl", 0, false);
  HttpResponse res;
  Transfer t{&req, &res};
  char errbuf[CURL_ERROR_SIZE] = "";
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "User-Agent: smolvlm/0.1 (libcurl)");
  // Sent only to the endpoint's host: curl drops custom Authorization headers on a redirect to
  // another host (the CDN holds signed URLs and needs none).
  if (!cfg.token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + cfg.token).c_str());
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> hold(headers, curl_slist_free_all);
  curl_easy_setopt(c.get(), CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c.get(), CURLOPT_FOLLOWLOCATION, req.follow_redirects ? 1L : 0L);
  curl_easy_setopt(c.get(), CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c.get(), CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c.get(), CURLOPT_CONNECTTIMEOUT, cfg.connect_timeout_s);
  curl_easy_setopt(c.get(), CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c.get(), CURLOPT_LOW_SPEED_TIME, cfg.stall_timeout_s);
  curl_easy_setopt(c.get(), CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c.get(), CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &t);
  if (req.head) curl_easy_setopt(c.get(), CURLOPT_NOBODY, 1L);
  if (req.cancelled) {
    curl_easy_setopt(c.get(), CURLOPT_XFERINFOFUNCTION, on_xferinfo);
    curl_easy_setopt(c.get(), CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(c.get(), CURLOPT_NOPROGRESS, 0L);
  }
  std::string range;
  if (req.range_begin >= 0) {
    range = cat(req.range_begin, "-", req.range_end >= 0 ? cat(req.range_end) : "");
    curl_easy_setopt(c.get(), CURLOPT_RANGE, range.c_str());
  }
  const CURLcode rc = curl_easy_perform(c.get());
  char* eff = nullptr;
  if (curl_easy_getinfo(c.get(), CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff) res.url = eff;
  curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &res.status);
  if (rc != CURLE_OK && !(t.aborted_by_sink && (rc == CURLE_WRITE_ERROR || rc == CURLE_ABORTED_BY_CALLBACK))) {
    const std::string why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    const bool transient = rc != CURLE_UNSUPPORTED_PROTOCOL && rc != CURLE_URL_MALFORMAT &&
                           rc != CURLE_WRITE_ERROR && rc != CURLE_OUT_OF_MEMORY;
    throw HttpError(cat("GET ", req.url, ": ", why), 0, transient);
  }
  if (t.aborted_by_sink) throw HttpError(cat("GET ", req.url, ": transfer aborted"), res.status, false);
  if (res.status >= 400) {
    std::string msg = cat(req.url, ": ", res.status, " ", status_hint(res.status));
    if (auto e = body_error(res.body); !e.empty()) msg += cat(" (", e, ")");
    throw HttpError(msg, res.status, res.status == 429 || res.status >= 500);
  }
  return res;
}

void check_repo_id(const std::string& repo) {
  const auto slash = repo.find('/');
  auto part_ok = [](const std::string& p) {
    return !p.empty() && p.size() <= 96 && p != "." && p.find("..") == std::string::npos &&
           std::all_of(p.begin(), p.end(), [](char c) {
             return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
           });
  };
  if (slash == std::string::npos || !part_ok(repo.substr(0, slash)) || !part_ok(repo.substr(slash + 1))) {
    fail("invalid Hugging Face repository id '", repo, "' (expected ORG/REPO)");
  }
}

std::string hub_file_url(const HubConfig& cfg, const std::string& repo, const std::string& rev,
                         const std::string& file) {
  check_repo_id(repo);
  std::unique_ptr<CURL, void (*)(CURL*)> c(curl_easy_init(), curl_easy_cleanup);
  return cat(cfg.endpoint, "/", repo, "/resolve/", escape_path(c.get(), rev), "/", escape_path(c.get(), file));
}

std::vector<HubFile> hub_list_files(const HubConfig& cfg, const std::string& repo, const std::string& rev) {
  check_repo_id(repo);
  std::unique_ptr<CURL, void (*)(CURL*)> c(curl_easy_init(), curl_easy_cleanup);
  std::string url = cat(cfg.endpoint, "/api/models/", repo, "/tree/", escape_path(c.get(), rev), "?recursive=true");
  std::vector<HubFile> files;
  for (int page = 0; page < 100 && !url.empty(); ++page) {  // the listing is paged (Link: rel="next")
    HttpResponse r;
    try {
      HttpRequest get;
      get.url = url;
      r = http_request(cfg, get);
    } catch (const HttpError& e) {
      if (e.status() == 404 || e.status() == 401) {  // the hub answers 401 for unknown repos too
        fail("repository '", repo, "' (revision '", rev, "') not found at ", cfg.endpoint,
             e.status() == 401 ? " or it needs HF_TOKEN" : "", ": ", e.what());
      }
      throw;
    }
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(r.body);
    } catch (const std::exception& e) {
      fail(url, ": the file listing is not JSON: ", e.what());
    }
    if (!j.is_array()) fail(url, ": the file listing is not a JSON array");
    for (const auto& e : j) {
      if (!e.is_object() || e.value("type", "") != "file" || !e.contains("path") || !e["path"].is_string()) continue;
      HubFile f;
      f.path = e["path"].get<std::string>();
      if (e.contains("size") && e["size"].is_number_integer()) f.size = e["size"].get<int64_t>();
      if (e.contains("oid") && e["oid"].is_string()) f.oid = lower(e["oid"].get<std::string>());
      if (e.contains("lfs") && e["lfs"].is_object()) {
        const auto& l = e["lfs"];
        if (l.contains("oid") && l["oid"].is_string()) f.sha256 = etag_sha256(l["oid"].get<std::string>());
        if (l.contains("size") && l["size"].is_number_integer()) f.size = l["size"].get<int64_t>();
      }
      files.push_back(f);
    }
    url.clear();
    if (auto it = r.headers.find("link"); it != r.headers.end() && it->second.find("rel=\"next\"") != std::string::npos) {
      const auto b = it->second.find('<'), e = it->second.find('>');
      if (b != std::string::npos && e != std::string::npos && e > b) url = it->second.substr(b + 1, e - b - 1);
    }
  }
  return files;
}

std::string hub_revision_sha(const HubConfig& cfg, const std::string& repo, const std::string& rev) {
  check_repo_id(repo);
  std::unique_ptr<CURL, void (*)(CURL*)> c(curl_easy_init(), curl_easy_cleanup);
  HttpRequest get;
  get.url = cat(cfg.endpoint, "/api/models/", repo, "/revision/", escape_path(c.get(), rev));
  HttpResponse r;
  try {
    r = http_request(cfg, get);
  } catch (const HttpError& e) {
    if (e.status() == 404 || e.status() == 401) {
      fail("repository '", repo, "' (revision '", rev, "') not found at ", cfg.endpoint,
           e.status() == 401 ? " or it needs HF_TOKEN" : "", ": ", e.what());
    }
    throw;
  }
  try {
    const auto j = nlohmann::json::parse(r.body);
    const std::string sha = j.at("sha").get<std::string>();
    if (sha.empty() || sha.size() > 64 || !std::all_of(sha.begin(), sha.end(), [](char ch) {
          return std::isxdigit(static_cast<unsigned char>(ch));
        })) {
      fail("not a commit id: '", sha, "'");
    }
    return lower(sha);
  } catch (const std::exception& e) {
    fail(get.url, ": no commit id in the answer: ", e.what());
  }
}

HubFileMeta hub_file_meta(const HubConfig& cfg, const std::string& url) {
  HttpRequest req;
  req.url = url;
  req.head = true;
  req.follow_redirects = false;
  const HttpResponse r = http_request(cfg, req);
  HubFileMeta m;
  auto get = [&](const char* k) -> std::string {
    auto it = r.headers.find(k);
    return it == r.headers.end() ? "" : it->second;
  };
  m.sha256 = etag_sha256(get("x-linked-etag"));
  if (m.sha256.empty()) m.sha256 = etag_sha256(get("etag"));
  std::string size = get("x-linked-size");
  if (size.empty() && r.status >= 200 && r.status < 300) size = get("content-length");
  if (!size.empty()) m.size = std::atoll(size.c_str());
  return m;
}

std::optional<std::string> hub_cached_file(const HubConfig& cfg, const std::string& repo, const HubFile& f) {
  if (cfg.cache_dir.empty() || f.sha256.empty()) return std::nullopt;
  const auto slash = repo.find('/');
  const std::string folder = "models--" + repo.substr(0, slash) + "--" + repo.substr(slash + 1);
  const fs::path dir = fs::path(cfg.cache_dir) / folder;
  std::vector<fs::path> candidates{dir / "blobs" / f.sha256};
  std::error_code ec;
  for (fs::directory_iterator it(dir / "snapshots", ec), end; !ec && it != end; it.increment(ec)) {
    candidates.push_back(it->path() / f.path);
  }
  for (const auto& p : candidates) {
    std::error_code e2;
    if (!fs::is_regular_file(p, e2) || static_cast<int64_t>(fs::file_size(p, e2)) != f.size) continue;
    try {
      if (BlobStore::file_digest(p.string()) == "sha256:" + f.sha256) return p.string();
    } catch (const Error&) {
    }
  }
  return std::nullopt;
}

}  // namespace smolvlm
