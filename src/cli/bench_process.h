// Process-level helpers for `smolvlm bench`: this process's peak resident memory (and resetting it),
// the CPU's name, and running this program again as a child whose stdout is captured (one child
// per model, so that each model's peak memory is its own).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace smolvlm::cli {

// VmHWM of /proc/self/status in bytes; 0 when it cannot be read.
uint64_t peak_rss_bytes();
// Lowers the peak to the current resident size (writes "5" to /proc/self/clear_refs, Linux >= 4.0);
// false when the kernel refuses.
bool reset_peak_rss();
// "model name" of /proc/cpuinfo ("unknown" when absent).
std::string cpu_model_name();

struct ChildResult {
  int exit_code = -1;  // 128 + signal when killed by one
  std::string out;     // its stdout
};
// Runs /proc/self/exe with `args` (after argv[0]), stdin from /dev/null, stderr shared with this
// process, stdout captured; waits for it. Throws Error when it cannot be started.
ChildResult run_self(const std::vector<std::string>& args);

}  // namespace smolvlm::cli
