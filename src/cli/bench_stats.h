// Small pieces every part of `smolvlm bench` uses: the median of timed runs, a wall-clock
// interval, and deterministic token ids spread over a vocabulary (like llama-bench's random prompt).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

namespace smolvlm::cli {

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// n ids in [0, n_vocab) from a 64-bit LCG started at `seed` (the same ids for the same seed).
inline std::vector<int32_t> bench_tokens(int64_t n, int64_t n_vocab, uint64_t seed = 0x9E3779B97F4A7C15ull) {
  std::vector<int32_t> ids(static_cast<size_t>(n));
  uint64_t x = seed;
  for (auto& id : ids) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    id = static_cast<int32_t>((x >> 33) % static_cast<uint64_t>(n_vocab));
  }
  return ids;
}

}  // namespace smolvlm::cli
