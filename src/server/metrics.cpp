#include "server/metrics.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "base/error.h"

namespace smolvlm::server {
namespace {

std::vector<double> latency_bounds() { return {0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}; }
std::vector<double> ttft_bounds() { return {0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64}; }

// Values in full precision; bucket bounds short ("0.025", not "0.025000000000000001").
std::string number(double v, const char* format = "%.17g") {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}
std::string bound(double v) { return number(v, "%g"); }

// A label value escaped as the exposition format asks (\\, \", \n).
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += cat("# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

Histogram& slot(std::map<std::string, Histogram>& m, const std::string& key, std::vector<double> (*bounds)()) {
  auto it = m.find(key);
  if (it == m.end()) it = m.emplace(key, Histogram(bounds())).first;
  return it->second;
}

}  // namespace

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  if (i < counts_.size()) ++counts_[i];
  ++count_;
  sum_ += v;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  const std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += cat(name, "_bucket{", labels, sep, "le=\"", bound(bounds_[i]), "\"} ", cumulative, "\n");
  }
  out += cat(name, "_bucket{", labels, sep, "le=\"+Inf\"} ", count_, "\n");
  const std::string braces = labels.empty() ? "" : cat("{", labels, "}");
  out += cat(name, "_sum", braces, " ", number(sum_), "\n", name, "_count", braces, " ", count_, "\n");
}

std::string Metrics::route_of(const std::string& path) {
  static const char* const exact[] = {"/", "/health", "/ready", "/metrics", "/api/version", "/api/tags", "/api/ps",
                                      "/api/show", "/api/generate", "/api/chat", "/api/pull", "/api/push",
                                      "/api/create", "/api/copy", "/api/delete", "/api/embed", "/api/embeddings",
                                      "/v1/chat/completions", "/v1/completions", "/v1/models", "/v1/embeddings",
                                      "/api/media/plan", "/ui"};
  for (const char* r : exact)
    if (path == r) return r;
  if (path.starts_with("/api/blobs/")) return "/api/blobs/:digest";
  if (path.starts_with("/v1/models/")) return "/v1/models/:model";
  if (path.starts_with("/ui/")) return "/ui/:file";
  return "other";
}

void Metrics::request(const std::string& path, int status, double seconds) {
  const std::string route = route_of(path);
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{route, status}];
  slot(latency_, route, latency_bounds).observe(seconds);
}

void Metrics::generation(const std::string& model, int64_t prompt_tokens, int64_t generated_tokens, double ttft) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& t = tokens_[model];
  t[0] += static_cast<uint64_t>(std::max<int64_t>(0, prompt_tokens));
  t[1] += static_cast<uint64_t>(std::max<int64_t>(0, generated_tokens));
  if (ttft >= 0) slot(ttft_, model, ttft_bounds).observe(ttft);
}

void Metrics::media_encoded(const std::string& model, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  slot(encode_, model, ttft_bounds).observe(seconds);
}

std::string Metrics::render(const ModelGauges& g, bool ready) const {
  std::string out;
  header(out, "smolvlm_ready", "gauge", "1 when a request would be served now (what GET /ready answers), else 0.");
  out += cat("smolvlm_ready ", ready ? 1 : 0, "\n");
  header(out, "smolvlm_requests_running", "gauge", "Generations running now.");
  out += cat("smolvlm_requests_running ", g.running, "\n");
  header(out, "smolvlm_requests_waiting", "gauge", "Requests waiting for a model slot (OLLAMA_MAX_QUEUE bounds them).");
  out += cat("smolvlm_requests_waiting ", g.waiting, "\n");
  header(out, "smolvlm_kv_cache_usage_ratio", "gauge", "Tokens held in the loaded models' KV caches over what they can hold.");
  out += cat("smolvlm_kv_cache_usage_ratio ", number(g.kv_cache_usage), "\n");
  header(out, "smolvlm_models_loaded", "gauge", "Models loaded now.");
  out += cat("smolvlm_models_loaded ", g.loaded, "\n");
  header(out, "smolvlm_gpu_memory_bytes", "gauge", "GPU memory the loaded models use (size_vram in /api/ps).");
  out += cat("smolvlm_gpu_memory_bytes ", g.gpu_bytes, "\n");
  header(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  out += cat("process_resident_memory_bytes ", resident_bytes(), "\n");

  std::lock_guard<std::mutex> lock(mu_);
  header(out, "smolvlm_http_requests_total", "counter", "HTTP requests answered, by route and status.");
  for (const auto& [key, n] : requests_)
    out += cat("smolvlm_http_requests_total{route=\"", label(key.first), "\",status=\"", key.second, "\"} ", n, "\n");
  header(out, "smolvlm_http_request_duration_seconds", "histogram", "Time to answer a request (streams: to the last byte).");
  for (const auto& [route, h] : latency_)
    h.render(out, "smolvlm_http_request_duration_seconds", cat("route=\"", label(route), "\""));
  header(out, "smolvlm_prompt_tokens_total", "counter", "Prompt tokens evaluated (those reused from the cache not counted).");
  for (const auto& [model, t] : tokens_) out += cat("smolvlm_prompt_tokens_total{model=\"", label(model), "\"} ", t[0], "\n");
  header(out, "smolvlm_generated_tokens_total", "counter", "Tokens generated.");
  for (const auto& [model, t] : tokens_) out += cat("smolvlm_generated_tokens_total{model=\"", label(model), "\"} ", t[1], "\n");
  header(out, "smolvlm_time_to_first_token_seconds", "histogram",
         "From the request's arrival to its first reply token (image encoding and prefill included).");
  for (const auto& [model, h] : ttft_) h.render(out, "smolvlm_time_to_first_token_seconds", cat("model=\"", label(model), "\""));
  header(out, "smolvlm_image_encode_seconds", "histogram", "Time to decode, preprocess and encode one request's images and videos.");
  for (const auto& [model, h] : encode_) h.render(out, "smolvlm_image_encode_seconds", cat("model=\"", label(model), "\""));
  return out;
}

uint64_t resident_bytes() {
  std::ifstream f("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  if (!(f >> size >> resident)) return 0;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace smolvlm::server
