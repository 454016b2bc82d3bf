// The loop the FMA-peak probe times (peak.cpp), for one ISA's vector traits (ops_vec_*.h): twelve
// independent chains of fused multiply-adds, enough to keep every FMA pipe busy. Include only from
// an ISA's translation unit.
#pragma once

#include <cstdint>

namespace smolvlm::kernels::simd {

template <class S>
float fma_chains(int64_t iters) {
  using F = typename S::F;
  F a[12];
  for (int i = 0; i < 12; ++i) a[i] = S::set1(1.0f + 0.001f * static_cast<float>(i));
  const F m = S::set1(0.999999f), c = S::set1(1e-7f);
  for (int64_t k = 0; k < iters; ++k)
    for (auto& x : a) x = S::fmadd(x, m, c);
  F s = a[0];
  for (int i = 1; i < 12; ++i) s = S::add(s, a[i]);
  return S::hsum(s);
}

}  // namespace smolvlm::kernels::simd
