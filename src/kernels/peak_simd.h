// The loops the peak probes time (peak.cpp): twelve independent chains of one instruction, enough to
// keep every pipe that runs it busy; fma_chains for one ISA's vector traits (ops_vec_*.h). Include
// only from an ISA's translation unit.
#pragma once

#include <cstdint>

namespace smolvlm::kernels::simd {

// Twelve independent chains x = step(x), each started at init(i), for `iters` rounds; then
// summed with add and reduced to one float (so that nothing is optimized away).
template <class V, class Init, class Step, class Add, class Reduce>
float chains(int64_t iters, Init init, Step step, Add add, Reduce reduce) {
  V a[12];
  for (int i = 0; i < 12; ++i) a[i] = init(i);
  for (int64_t k = 0; k < iters; ++k)
    for (auto& x : a) x = step(x);
  V s = a[0];
  for (int i = 1; i < 12; ++i) s = add(s, a[i]);
  return reduce(s);
}

template <class S>
float fma_chains(int64_t iters) {
  using F = typename S::F;
  const F m = S::set1(0.999999f), c = S::set1(1e-7f);
  return chains<F>(
      iters, [](int i) { return S::set1(1.0f + 0.001f * static_cast<float>(i)); },
      [&](F x) { return S::fmadd(x, m, c); }, [](F a, F b) { return S::add(a, b); }, [](F x) { return S::hsum(x); });
}

}  // namespace smolvlm::kernels::simd
