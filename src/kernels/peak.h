// The machine's arithmetic peaks with the active ISA: independent register-only chains of the
// widest instruction of each kind on every pool thread. The denominators of "of peak" in the
// benchmarks: each matmul path is measured against the peak of the instruction it runs on.
#pragma once

#include <cstdint>

#include "kernels/thread_pool.h"

namespace smolvlm::kernels {

// Operations per second over all pool threads; a multiply-add counts 2.
struct Peaks {
  double fma = 0;   // f32 FMA (F32 / F16 weights, and BF16 where vdpbf16ps is missing)
  // u8 x s8 multiply-adds summed into int32, as the integer-quantized kernels run them: vpdpbusd
  // where the CPU has VNNI (AVX512-VNNI on the AVX-512 path, AVX-VNNI on AVX2), else vpmaddubsw +
  // vpmaddwd + vpaddd. 0 on the scalar path.
  double int8 = 0;
  double bf16 = 0;  // vdpbf16ps (AVX512_BF16 on the AVX-512 path); 0 where the active ISA lacks it
};

// Best of a few short runs of each probe (~0.1 s each).
Peaks measure_peaks(ThreadPool& pool);
// The peak of the instruction a matmul over weights of this kind runs on (kernels/matmul.h: what
// PackedWeight::type() reports), from `p`: F32/F16 -> fma, BF16 -> bf16 where measured else fma,
// integer-quantized -> int8 where measured else fma.
double peak_for(const Peaks& p, bool integer_weights, bool bf16_weights);

// Per-ISA bodies: `iters` rounds of 12 independent chains; each returns a value that depends on
// every chain (so nothing is optimized away). Operations = iters * 12 * (ops per instruction):
float fma_chains_scalar(int64_t iters);
float fma_chains_avx2(int64_t iters);         // 8 lanes: 16 FLOP
float fma_chains_avx512(int64_t iters);       // 16 lanes: 32 FLOP
float dot8_chains_avx2(int64_t iters);        // vpmaddubsw + vpmaddwd + vpaddd, 32 pairs: 64 OP
float dot8_chains_avx_vnni(int64_t iters);    // VEX vpdpbusd, 32 pairs: 64 OP (CPUs with AVX-VNNI)
float dot8_chains_vnni_evex(int64_t iters);   // the same EVEX-encoded (AVX512-VNNI + VL)
float dot8_chains_avx512(int64_t iters);      // vpdpbusd zmm, 64 pairs: 128 OP (AVX512-VNNI)
float bf16_chains_avx512(int64_t iters);      // vdpbf16ps zmm, 32 pairs: 64 FLOP (AVX512_BF16)

}  // namespace smolvlm::kernels
