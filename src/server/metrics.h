// The server's Prometheus metrics (text exposition format 0.0.4, checked by `promtool check
// metrics` in the tests): request counts by route and status, request latency, time to first
// token and image encode time (histograms), prompt and generated tokens, and, read when scraped,
// requests running and waiting (what the Gateway API Inference Extension's endpoint picker reads),
// KV-cache use, loaded models, GPU memory, resident memory and readiness. Labels are route
// patterns, status codes and model names only: never prompts or paths as sent.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace smolvlm::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size(), 0) {}
  void observe(double v);
  // "<name>_bucket{le=...}", _sum and _count lines, with `labels` ("" or `model="x"`) in front of le.
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative)
  uint64_t count_ = 0;
  double sum_ = 0;
};

// What the model manager knows at scrape time.
struct ModelGauges {
  int running = 0, waiting = 0, loaded = 0;
  double kv_cache_usage = 0;  // tokens held / tokens the loaded slots' caches can hold
  uint64_t gpu_bytes = 0;     // the loaded models' share on the GPU
};

class Metrics {
 public:
  // The route pattern a path counts under ("/api/blobs/:digest"; "other" for unknown paths).
  static std::string route_of(const std::string& path);

  void request(const std::string& path, int status, double seconds);
  void generation(const std::string& model, int64_t prompt_tokens, int64_t generated_tokens, double ttft_seconds);
  void media_encoded(const std::string& model, double seconds);

  std::string render(const ModelGauges& g, bool ready) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;  // (route, status)
  std::map<std::string, Histogram> latency_;                   // by route
  std::map<std::string, Histogram> ttft_, encode_;             // by model
  std::map<std::string, std::array<uint64_t, 2>> tokens_;      // by model: prompt, generated
};

// This process's resident memory (bytes), from /proc/self/statm; 0 when unknown.
uint64_t resident_bytes();

}  // namespace smolvlm::server
