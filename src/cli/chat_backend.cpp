#include "cli/chat_backend.h"

#include <cmath>
#include <cstdio>

#include "base/error.h"

namespace smolvlm::cli {

std::string_view trim_reply_start(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\r' || s.front() == '\t'))
    s.remove_prefix(1);
  return s;
}

std::string fixed_trimmed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

std::string go_duration(double seconds) {
  const auto ns = static_cast<int64_t>(std::llround(seconds * 1e9));
  if (ns < 1000) return cat(ns, "ns");
  if (ns < 1000000) return fixed_trimmed(ns / 1e3, 3) + "µs";
  if (ns < 1000000000) return fixed_trimmed(ns / 1e6, 6) + "ms";
  const int64_t h = ns / 3600000000000LL, m = ns / 60000000000LL % 60;
  const double s = static_cast<double>(ns % 60000000000LL) / 1e9;
  std::string out;
  if (h > 0) out += cat(h, "h");
  if (h > 0 || m > 0) out += cat(m, "m");
  return out + fixed_trimmed(s, 9) + "s";
}

void print_timings(const TurnTimings& t) {
  auto rate = [](int64_t n, double s) { return s > 0 ? static_cast<double>(n) / s : 0.0; };
  std::fprintf(stderr, "total duration:       %s\n", go_duration(t.total_s).c_str());
  std::fprintf(stderr, "load duration:        %s\n", go_duration(t.load_s).c_str());
  std::fprintf(stderr, "prompt eval count:    %lld token(s)\n", static_cast<long long>(t.prompt_count));
  std::fprintf(stderr, "prompt eval duration: %s\n", go_duration(t.prompt_s).c_str());
  std::fprintf(stderr, "prompt eval rate:     %.2f tokens/s\n", rate(t.prompt_count, t.prompt_s));
  std::fprintf(stderr, "eval count:           %lld token(s)\n", static_cast<long long>(t.eval_count));
  std::fprintf(stderr, "eval duration:        %s\n", go_duration(t.eval_s).c_str());
  std::fprintf(stderr, "eval rate:            %.2f tokens/s\n", rate(t.eval_count, t.eval_s));
  if (t.media_count > 0) {
    std::fprintf(stderr, "image encode count:   %lld item(s), %lld tile(s)\n", static_cast<long long>(t.media_count),
                 static_cast<long long>(t.media_frames));
    std::fprintf(stderr, "image encode duration: %s\n", go_duration(t.media_s).c_str());
  }
}

}  // namespace smolvlm::cli
