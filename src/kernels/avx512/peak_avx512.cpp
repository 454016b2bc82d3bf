// The peak probes' loops for the AVX-512 path: FMA (peak_simd.h with the avx512 vector traits),
// vpdpbusd (AVX512-VNNI) and vdpbf16ps (AVX512_BF16); compiled with the avx512 flags, each run
// only where CPUID reports its extension.
#include <immintrin.h>

#include "kernels/ops_vec_avx512.h"
#include "kernels/peak.h"
#include "kernels/peak_simd.h"

namespace smolvlm::kernels {

float fma_chains_avx512(int64_t iters) { return simd::fma_chains<avx512::Vec>(iters); }

float dot8_chains_avx512(int64_t iters) {
  const __m512i u = _mm512_set1_epi8(5), s = _mm512_set1_epi8(3);
  return simd::chains<__m512i>(
      iters, [](int i) { return _mm512_set1_epi32(0x01010101 * (i + 1)); },
      [&](__m512i x) { return _mm512_dpbusd_epi32(x, u, s); }, [](__m512i a, __m512i b) { return _mm512_add_epi32(a, b); },
      [](__m512i x) { return static_cast<float>(_mm512_reduce_add_epi32(x)); });
}

float bf16_chains_avx512(int64_t iters) {
  const __m512bh w = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0.5f), _mm512_set1_ps(0.25f));
  const __m512bh x = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(-1e-3f));
  return simd::chains<__m512>(
      iters, [](int i) { return _mm512_set1_ps(1.0f + 0.001f * static_cast<float>(i)); },
      [&](__m512 v) { return _mm512_dpbf16_ps(v, w, x); }, [](__m512 a, __m512 b) { return _mm512_add_ps(a, b); },
      [](__m512 v) { return _mm512_reduce_add_ps(v); });
}

}  // namespace smolvlm::kernels
