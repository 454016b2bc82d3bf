#include "server/http_server.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "base/error.h"
#include "server/routes.h"
#include "server/server_log.h"

namespace smolvlm::server {
namespace {

std::string trim(std::string s) {
  const char* ws = " \t\r\n\"'";
  s.erase(0, s.find_first_not_of(ws));
  const size_t end = s.find_last_not_of(ws);
  s.erase(end == std::string::npos ? 0 : end + 1);
  return s;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

int env_int(const char* name, int fallback) {
  const char* v = env(name);
  if (v == nullptr) return fallback;
  try {
    size_t used = 0;
    const int n = std::stoi(trim(v), &used);
    if (used == trim(v).size()) return n;
  } catch (...) {
  }
  fail("invalid ", name, " value '", v, "': expected an integer");
}

// "host:port" -> host ("[::1]:80" -> "::1"; a bare IPv6 address stays whole).
std::string strip_port(const std::string& h) {
  if (!h.empty() && h[0] == '[') {
    const size_t close = h.find(']');
    return close == std::string::npos ? h : h.substr(1, close - 1);
  }
  const size_t colon = h.find(':');
  if (colon != std::string::npos && h.find(':', colon + 1) == std::string::npos) return h.substr(0, colon);
  return h;
}

// Loopback, private, unspecified (Go's net.IP IsLoopback / IsPrivate / IsUnspecified).
bool ip_is_local(const std::string& s) {
  in_addr a4{};
  if (inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    const uint32_t ip = ntohl(a4.s_addr);
    return (ip >> 24) == 127 || (ip >> 24) == 10 || (ip >> 20) == 0xAC1 || (ip >> 16) == 0xC0A8 || ip == 0;
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
    static const in6_addr any = IN6ADDR_ANY_INIT;
    return IN6_IS_ADDR_LOOPBACK(&a6) || std::equal(a6.s6_addr, a6.s6_addr + 16, any.s6_addr) ||
           (a6.s6_addr[0] & 0xFE) == 0xFC || IN6_IS_ADDR_V4MAPPED(&a6);
  }
  return false;
}

bool is_loopback_bind(const std::string& host) {
  if (lower(host) == "localhost") return true;
  in_addr a4{};
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6{};
  return inet_pton(AF_INET6, host.c_str(), &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

// Glob with '*' only.
bool glob_match(std::string_view pat, std::string_view s) {
  if (pat.empty()) return s.empty();
  if (pat[0] == '*') {
    for (size_t i = 0; i <= s.size(); ++i)
      if (glob_match(pat.substr(1), s.substr(i))) return true;
    return false;
  }
  return !s.empty() && pat[0] == s[0] && glob_match(pat.substr(1), s.substr(1));
}

const char* kAllowHeaders =
    "Authorization, Content-Type, User-Agent, Accept, X-Requested-With, OpenAI-Beta, x-stainless-arch, "
    "x-stainless-async, x-stainless-custom-poll-interval, x-stainless-helper-method, x-stainless-lang, "
    "x-stainless-os, x-stainless-package-version, x-stainless-poll-helper, x-stainless-retry-count, "
    "x-stainless-runtime, x-stainless-runtime-version, x-stainless-timeout";

}  // namespace

HostAddress parse_host(const std::string& value) {
  HostAddress a;
  std::string s = trim(value);
  if (s.empty()) return a;
  if (s == "ollama.com") return {"https", "ollama.com", 443};
  const size_t sep = s.find("://");
  bool explicit_scheme = false;
  if (sep != std::string::npos) {
    a.scheme = lower(s.substr(0, sep));
    s = s.substr(sep + 3);
    explicit_scheme = true;
    if (a.scheme != "http" && a.scheme != "https") fail("invalid host '", value, "': unsupported scheme");
  }
  s = s.substr(0, s.find('/'));  // a path suffix is ignored by the server
  a.port = explicit_scheme ? (a.scheme == "https" ? 443 : 80) : 11434;
  std::string host = s, port;
  if (!s.empty() && s[0] == '[') {
    const size_t close = s.find(']');
    if (close == std::string::npos) fail("invalid host '", value, "'");
    host = s.substr(1, close - 1);
    if (close + 1 < s.size() && s[close + 1] == ':') port = s.substr(close + 2);
  } else if (const size_t colon = s.rfind(':'); colon != std::string::npos && s.find(':') == colon) {
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  if (!port.empty()) {
    if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 || std::stoi(port) > 65535)
      fail("invalid port in host '", value, "'");
    a.port = std::stoi(port);
  }
  a.host = host.empty() ? "0.0.0.0" : host;
  return a;
}

ServerOptions options_from_env() {
  ServerOptions o;
  const char* h = env("SMOLVLM_HOST");
  if (h == nullptr) h = env("OLLAMA_HOST");
  if (h != nullptr) {
    const HostAddress a = parse_host(h);
    o.host = a.host;
    o.port = a.port;
  }
  if (const char* origins = env("OLLAMA_ORIGINS")) {
    std::string list = origins;
    size_t start = 0;
    while (start <= list.size()) {
      const size_t comma = std::min(list.find(',', start), list.size());
      const std::string item = trim(list.substr(start, comma - start));
      if (!item.empty()) o.origins.push_back(item);
      start = comma + 1;
    }
  }
  o.manager.num_parallel = std::max(1, env_int("OLLAMA_NUM_PARALLEL", 1));
  o.manager.max_queue = env_int("OLLAMA_MAX_QUEUE", 512);
  o.manager.max_loaded = env_int("OLLAMA_MAX_LOADED_MODELS", 0);
  if (const char* ka = env("OLLAMA_KEEP_ALIVE")) {
    const std::string v = trim(ka);
    std::optional<double> secs;
    if (v.find_first_not_of("-0123456789") == std::string::npos) secs = std::stod(v);  // plain seconds
    else secs = parse_go_duration(v);
    if (!secs) fail("invalid OLLAMA_KEEP_ALIVE value '", v, "'");
    o.manager.keep_alive = *secs < 0 ? std::nullopt : std::optional<Seconds>(Seconds(*secs));
  }
  if (env("SMOLVLM_MAX_BODY") != nullptr)
    o.max_body_bytes = static_cast<size_t>(std::max(1, env_int("SMOLVLM_MAX_BODY", 0)));
  return o;
}

bool host_allowed(const std::string& host_header) {
  const std::string h = lower(strip_port(host_header));
  if (h.empty() || h == "localhost") return true;
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) == 0 && h == lower(name)) return true;
  for (const char* suffix : {".localhost", ".local", ".internal"})
    if (h.ends_with(suffix)) return true;
  return ip_is_local(h);
}

bool origin_allowed(const std::string& origin, const std::vector<std::string>& extra) {
  static const char* builtin[] = {"app://*", "file://*", "tauri://*", "vscode-webview://*", "vscode-file://*"};
  for (const char* p : builtin)
    if (glob_match(p, origin)) return true;
  for (const char* host : {"localhost", "127.0.0.1", "0.0.0.0"})
    for (const char* scheme : {"http://", "https://"}) {
      const std::string base = std::string(scheme) + host;
      if (origin == base || glob_match(base + ":*", origin)) return true;
    }
  for (const std::string& p : extra)
    if (glob_match(p, origin)) return true;
  return false;
}

HttpServer::HttpServer(ServerOptions options, ModelSource source)
    : options_(std::move(options)),
      models_(std::make_unique<ModelManager>(options_.manager, std::move(source))),
      http_(std::make_unique<httplib::Server>()) {
  loopback_ = is_loopback_bind(options_.host);
  const int threads = options_.http_threads > 0 ? options_.http_threads : 64;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  // The body limit is checked per route by the Router (blob uploads are unlimited).
  http_->set_payload_max_length(size_t{1} << 40);
  http_->set_read_timeout(60, 0);
  http_->set_write_timeout(60, 0);
  http_->set_keep_alive_timeout(2);  // idle connections close soon (and stop() returns soon)
  // Busy clients reuse their connection instead of reconnecting every 5 requests (httplib's
  // default), which overflowed the listen backlog under load.
  http_->set_keep_alive_max_count(1000);
  setup_routes();
}

HttpServer::~HttpServer() {
  stop();
  if (thread_.joinable()) thread_.join();
  if (preload_.joinable()) preload_.join();
}

void HttpServer::preload(const std::vector<std::string>& names) {
  if (names.empty()) return;
  for (const std::string& n : names) (void)models_->resolve(n);  // an unknown name fails now, before listening
  state_.preloading = static_cast<int>(names.size());
  preload_ = std::thread([this, names] {
    for (const std::string& n : names) {
      try {
        const ResolvedModel m = models_->resolve(n);
        models_->acquire(m, std::nullopt, 0, 0);  // loaded, then idle
        models_->pin(m.name);                     // and it stays, whatever keep_alive requests give
        log_event("INFO", cat("preloaded ", n));
      } catch (const std::exception& e) {
        state_.preload_failed = true;
        log_event("ERROR", cat("preload of ", n, " failed: ", e.what(), "; /ready stays 503"));
      }
      --state_.preloading;
    }
  });
}

void HttpServer::drain(std::chrono::milliseconds grace, std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  state_.draining = true;
  log_event("INFO", cat("draining: /ready answers 503; new requests are refused in ", grace.count(),
                        " ms; those in flight have ", timeout.count(), " ms"));
  std::this_thread::sleep_until(std::min(deadline, Clock::now() + grace));
  // cpp-httplib's stop() cuts the streams it is writing, so it waits until none is left: new
  // requests get 503 meanwhile, and past the deadline what still runs is cancelled.
  closing_ = true;
  const auto idle = [this] { return in_flight_.load() <= 0; };
  while (!idle() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (!idle()) {
    log_event("WARN", cat("the shutdown timeout passed with ", in_flight_.load(), " request(s) running: cancelling them"));
    models_->cancel_all();
    for (int i = 0; i < 500 && !idle(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop();
  while (in_run_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

void HttpServer::setup_routes() {
  // Host and Origin checks, CORS headers and preflights (§0).
  // One log line per request (server_log.h), errors' messages included.
  http_->set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    // -1: refused by the HTTP layer before routing, so never counted in flight. Idle again: what the
    // requests' threads freed goes back to the system (glibc keeps freed pages per arena otherwise:
    // RSS would stay at the peak of the load).
    const double seconds = take_request_seconds();
    if (seconds >= 0 && --in_flight_ == 0) ::malloc_trim(0);
    if (seconds >= 0) models_->metrics.request(req.path, res.status, seconds);
    if (req.path == "/health" || req.path == "/ready" || req.path == "/metrics") {  // probes and scrapes: not logged
      if (res.status < 400 || req.path != "/ready") return;
    }
    log_request(req.method, req.path, req.remote_addr, res.status, seconds);
  });
  http_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    request_started();
    ++in_flight_;
    // A drain past its grace: new work goes elsewhere (the balancer retries the 503).
    if (closing_ && req.path != "/health" && req.path != "/ready" && req.path != "/metrics") {
      send_error(res, 503, "the server is shutting down; send the request to another replica", ErrorShape::kOllama);
      return httplib::Server::HandlerResponse::Handled;
    }
    if (loopback_ && !host_allowed(req.get_header_value("Host"))) {
      res.status = 403;
      return httplib::Server::HandlerResponse::Handled;
    }
    const std::string origin = req.get_header_value("Origin");
    if (!origin.empty()) {
      const std::string host = req.get_header_value("Host");
      const bool same = origin == "http://" + host || origin == "https://" + host;
      if (!same && !origin_allowed(origin, options_.origins)) {
        res.status = 403;
        return httplib::Server::HandlerResponse::Handled;
      }
      res.set_header("Access-Control-Allow-Origin", origin);
      res.set_header("Vary", "Origin");
    }
    if (req.method == "OPTIONS") {
      res.set_header("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS");
      res.set_header("Access-Control-Allow-Headers", kAllowHeaders);
      res.status = 204;
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Bodies for errors raised by the HTTP layer itself (routing, the body limit).
  http_->set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
    if (res.status == 403) note_request_error("forbidden: the Host or Origin header is not allowed (OLLAMA_ORIGINS)");
    if (!res.body.empty() || res.status == 403) return httplib::Server::HandlerResponse::Unhandled;
    if (res.status == 404) res.set_content("404 page not found", "text/plain");
    else if (res.status == 405) res.set_content("405 method not allowed", "text/plain");
    else if (res.status == 413) send_error(res, 413, "request body too large", ErrorShape::kOllama);
    else send_error(res, res.status, cat("HTTP status ", res.status), ErrorShape::kOllama);
    return httplib::Server::HandlerResponse::Handled;
  }));
  Router router(*http_, options_.max_body_bytes);
  RouteContext ctx{*models_, options_, state_};
  add_ops_routes(router, ctx);
  add_native_routes(router, ctx);
  add_ui_routes(router, ctx);
  add_openai_routes(router, ctx);
  add_store_routes(router, ctx);
  router.finish();
}

int HttpServer::bind() {
  if (port_ >= 0) return port_;
  if (options_.port == 0) {
    port_ = http_->bind_to_any_port(options_.host);
    if (port_ < 0) fail("cannot listen on ", options_.host, ": bind failed");
  } else {
    if (!http_->bind_to_port(options_.host, options_.port))
      fail("cannot listen on ", options_.host, ":", options_.port, " (address in use?)");
    port_ = options_.port;
  }
  return port_;
}

void HttpServer::run() {
  bind();
  in_run_ = true;
  if (!stop_requested_) http_->listen_after_bind();
  in_run_ = false;
}

void HttpServer::start() {
  bind();
  thread_ = std::thread([this] { run(); });
  while (!http_->is_running() && !stop_requested_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void HttpServer::stop() {
  stop_requested_ = true;
  // run() may be between its check and the listen loop: wait (bounded) until it listens.
  for (int i = 0; i < 5000 && in_run_ && !http_->is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  http_->stop();
}

}  // namespace smolvlm::server
