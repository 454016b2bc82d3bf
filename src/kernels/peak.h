// The machine's float multiply-add peak with the active ISA: independent register-only FMA chains
// on every pool thread. The denominator of "FLOPs / peak" in the benchmarks.
#pragma once

#include "kernels/thread_pool.h"

namespace smolvlm::kernels {

// FLOP/s (a multiply-add counts 2) of the active ISA's widest FMA over all pool threads; the best
// of a few short runs (~0.1 s in all).
double measure_peak_flops(ThreadPool& pool);

// Per-ISA bodies: `iters` rounds of 12 independent FMA chains; returns a value that depends on
// every chain (so nothing is optimized away). FLOPs = iters * 12 * 2 * lanes.
float fma_chains_scalar(int64_t iters);
float fma_chains_avx2(int64_t iters);    // 8 lanes
float fma_chains_avx512(int64_t iters);  // 16 lanes

}  // namespace smolvlm::kernels
