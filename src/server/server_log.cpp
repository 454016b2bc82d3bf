#include "server/server_log.h"

#include <cstdio>
#include <ctime>
#include <optional>

#include "base/error.h"

namespace smolvlm::server {
namespace {

using Clock = std::chrono::steady_clock;

thread_local std::optional<Clock::time_point> t_started;
thread_local std::string t_error;

// Go's time.Duration text with Gin's padding ("  12.345ms", "1.234567s").
std::string latency(double s) {
  char buf[32];
  if (s < 1e-3) std::snprintf(buf, sizeof buf, "%.3fµs", s * 1e6);
  else if (s < 1.0) std::snprintf(buf, sizeof buf, "%.6fms", s * 1e3);
  else std::snprintf(buf, sizeof buf, "%.6fs", s);
  return buf;
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  if (s.size() > 500) s = s.substr(0, 500) + "…";
  return s;
}

}  // namespace

void note_request_error(const std::string& message) { t_error = message; }

void request_started() {
  t_started = Clock::now();
  t_error.clear();
}

double seconds_since_request_start() {
  return t_started ? std::chrono::duration<double>(Clock::now() - *t_started).count() : -1.0;
}

double take_request_seconds() {
  const double s = seconds_since_request_start();
  t_started.reset();
  return s;
}

void log_request(const std::string& method, const std::string& path, const std::string& client, int status,
                 double s) {
  const std::string took = s >= 0 ? latency(s) : "-";
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&now, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y/%m/%d - %H:%M:%S", &tm);
  const std::string error = t_error.empty() ? "" : cat(" | error: ", one_line(t_error));
  t_error.clear();
  std::fprintf(stderr, "[GIN] %s | %3d | %13s | %15s | %-7s \"%s\"%s\n", when, status, took.c_str(), client.c_str(),
               method.c_str(), one_line(path).c_str(), error.c_str());
}

void log_event(const char* level, const std::string& message) {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string msg = one_line(message);
  std::string quoted;
  for (char c : msg) quoted += c == '"' ? std::string("\\\"") : std::string(1, c);
  std::fprintf(stderr, "time=%s.%03dZ level=%s msg=\"%s\"\n", when, static_cast<int>(ms), level, quoted.c_str());
}

}  // namespace smolvlm::server
