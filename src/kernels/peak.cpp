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

namespace {

// Operations per second of `body` (ops_per_iter * iters per call) on every pool thread; best of 3.
double probe(ThreadPool& pool, float (*body)(int64_t), int64_t iters, double ops_per_iter) {
  std::vector<float> sink(static_cast<size_t>(pool.size()));
  double best = 0;
  for (int run = 0; run < 3; ++run) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.run(pool.size(), [&](int64_t t, int) { sink[static_cast<size_t>(t)] = body(iters); });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, static_cast<double>(iters) * ops_per_iter * pool.size() / s);
  }
  volatile float keep = sink[0];
  (void)keep;
  return best;
}

}  // namespace

Peaks measure_peaks(ThreadPool& pool) {
  const Isa isa = active_isa();
  const CpuFeatures& f = cpu_features();
  Peaks p;
  if (isa == Isa::kScalar) {
    p.fma = probe(pool, fma_chains_scalar, 2'000'000, 12 * 2);
    return p;
  }
  constexpr int64_t kIters = 4'000'000;
  const bool wide = isa == Isa::kAvx512;
  p.fma = wide ? probe(pool, fma_chains_avx512, kIters, 12 * 32) : probe(pool, fma_chains_avx2, kIters, 12 * 16);
  if (wide && f.avx512_vnni)  // the AVX-512 integer kernels need VNNI; without it the AVX2 ones run
    p.int8 = probe(pool, dot8_chains_avx512, kIters, 12 * 128);
  else
    p.int8 = f.avx_vnni                       ? probe(pool, dot8_chains_avx_vnni, kIters, 12 * 64)
             : f.avx512_vnni && f.avx512vl ? probe(pool, dot8_chains_vnni_evex, kIters, 12 * 64)  // as the kernels
                                           : probe(pool, dot8_chains_avx2, kIters, 12 * 64);
  if (wide && f.avx512_bf16) p.bf16 = probe(pool, bf16_chains_avx512, kIters, 12 * 64);
  return p;
}

double peak_for(const Peaks& p, bool integer_weights, bool bf16_weights) {
  if (integer_weights && p.int8 > 0) return p.int8;
  if (bf16_weights && p.bf16 > 0) return p.bf16;
  return p.fma;
}

}  // namespace smolvlm::kernels
