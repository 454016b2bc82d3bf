// A terminal progress bar for long work (convert, quantize, pulls): label, bar, percent, bytes or
// items, rate and ETA, redrawn at most ~10 times a second on stderr. Disabled (silent) when stderr
// is not a terminal unless forced, so logs and tests stay clean.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace smolvlm {

class Progress {
 public:
  enum class Unit { kItems, kBytes };
  // enabled: -1 = auto (stderr is a tty), 0 = off, 1 = on.
  Progress(std::string label, uint64_t total, Unit unit = Unit::kItems, int enabled = -1);
  ~Progress();
  void advance(uint64_t n, const std::string& detail = {});  // thread-safe
  void finish();

 private:
  void draw(bool final_draw);
  std::string label_;
  uint64_t total_;
  uint64_t done_ = 0;
  Unit unit_;
  bool enabled_;
  bool finished_ = false;
  std::string detail_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  std::mutex mu_;
};

}  // namespace smolvlm
