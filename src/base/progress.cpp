#include "base/progress.h"

#include <unistd.h>

#include <cstdio>

namespace smolvlm {
namespace {

std::string human(double v, Progress::Unit unit) {
  char buf[32];
  if (unit == Progress::Unit::kItems) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (v >= 1000.0 && u < 4) {
    v /= 1000.0;
    ++u;
  }
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

}  // namespace

Progress::Progress(std::string label, uint64_t total, Unit unit, int enabled)
    : label_(std::move(label)), total_(total), unit_(unit), enabled_(enabled < 0 ? ::isatty(2) != 0 : enabled != 0) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
  if (enabled_) draw(false);
}

Progress::~Progress() { finish(); }

void Progress::advance(uint64_t n, const std::string& detail) {
  std::lock_guard lock(mu_);
  done_ += n;
  if (!detail.empty()) detail_ = detail;
  const auto now = std::chrono::steady_clock::now();
  if (enabled_ && now - last_draw_ > std::chrono::milliseconds(100)) {
    last_draw_ = now;
    draw(false);
  }
}

void Progress::finish() {
  std::lock_guard lock(mu_);
  if (finished_) return;
  finished_ = true;
  if (enabled_) {
    draw(true);
    std::fputc('\n', stderr);
  }
}

void Progress::draw(bool final_draw) {
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double frac = total_ ? double(done_) / double(total_) : 1.0;
  constexpr int kWidth = 30;
  const int fill = static_cast<int>(frac * kWidth + 0.5);
  std::string bar(static_cast<size_t>(fill), '#');
  bar.resize(kWidth, '.');
  const double rate = secs > 0 ? double(done_) / secs : 0.0;
  char eta[32] = "";
  if (!final_draw && rate > 0 && done_ < total_) {
    std::snprintf(eta, sizeof eta, " ETA %.0fs", double(total_ - done_) / rate);
  } else if (final_draw) {
    std::snprintf(eta, sizeof eta, " in %.1fs", secs);
  }
  std::string d = detail_;
  if (d.size() > 40) d = d.substr(0, 37) + "...";
  std::fprintf(stderr, "\r\033[K%s [%s] %3.0f%% %s/%s %s/s%s %s", label_.c_str(), bar.c_str(), frac * 100.0,
               human(double(done_), unit_).c_str(), human(double(total_), unit_).c_str(), human(rate, unit_).c_str(),
               eta, d.c_str());
  std::fflush(stderr);
}

}  // namespace smolvlm
