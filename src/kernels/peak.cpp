#include "kernels/peak.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "kernels/isa.h"

namespace smolvlm::kernels {

float fma_chains_scalar(int64_t iters) {
  float a[12];
  for (int i = 0; i < 12; ++i) a[i] = 1.0f + 0.001f * static_cast<float>(i);
  for (int64_t k = 0; k < iters; ++k)
    for (float& x : a) x = x * 0.999999f + 1e-7f;
  float s = 0;
  for (float x : a) s += x;
  return s;
}

double measure_peak_flops(ThreadPool& pool) {
  const Isa isa = active_isa();
  const int lanes = isa == Isa::kAvx512 ? 16 : isa == Isa::kAvx2 ? 8 : 1;
  auto body = isa == Isa::kAvx512 ? fma_chains_avx512 : isa == Isa::kAvx2 ? fma_chains_avx2 : fma_chains_scalar;
  const int64_t iters = isa == Isa::kScalar ? 2'000'000 : 4'000'000;
  std::vector<float> sink(static_cast<size_t>(pool.size()));
  double best = 0;
  for (int run = 0; run < 3; ++run) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.run(pool.size(), [&](int64_t t, int) { sink[static_cast<size_t>(t)] = body(iters); });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, static_cast<double>(iters) * 12 * 2 * lanes * pool.size() / s);
  }
  volatile float keep = sink[0];
  (void)keep;
  return best;
}

}  // namespace smolvlm::kernels
