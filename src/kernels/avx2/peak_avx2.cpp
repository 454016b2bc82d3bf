// The peak probes' loops for the AVX2 path: FMA (peak_simd.h with the avx2 vector traits) and the
// int8 dot products of the integer kernels, with and without VNNI (compiled with the avx2 flags;
// the VNNI bodies alone target avxvnni or avx512vnni + vl and run only where CPUID reports it).
#include <immintrin.h>

#include "kernels/ops_vec_avx2.h"
#include "kernels/peak.h"
#include "kernels/peak_simd.h"

namespace smolvlm::kernels {
namespace {

float hsum_epi32(__m256i v) {
  alignas(32) int32_t l[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(l), v);
  float s = 0;
  for (int32_t x : l) s += static_cast<float>(x);
  return s;
}

}  // namespace

float fma_chains_avx2(int64_t iters) { return simd::fma_chains<avx2::Vec>(iters); }

// Each chain's own bytes are the unsigned operand, so no product can be hoisted out of the loop.
float dot8_chains_avx2(int64_t iters) {
  const __m256i s = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
  return simd::chains<__m256i>(
      iters, [](int i) { return _mm256_set1_epi32(0x01010101 * (i + 1)); },
      [&](__m256i x) { return _mm256_add_epi32(x, _mm256_madd_epi16(_mm256_maddubs_epi16(x, s), ones)); },
      [](__m256i a, __m256i b) { return _mm256_add_epi32(a, b); }, hsum_epi32);
}

// Written out rather than through simd::chains: only these functions are compiled for VNNI, and a
// template or lambda they called would not be. AVX-VNNI's VEX vpdpbusd, and the same ymm instruction
// EVEX-encoded (AVX512-VNNI + VL) as the AVX2 integer kernels run it on AVX-512 CPUs without AVX-VNNI
// (matmul_q_avx2_vnni_evex.cpp).
#define SMOLVLM_DOT8_VNNI_CHAINS(name, isa, dpbusd)                               \
  __attribute__((target(isa))) float name(int64_t iters) {                        \
    __m256i a[12];                                                                \
    for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_epi32(0x01010101 * (i + 1)); \
    const __m256i u = _mm256_set1_epi8(5), s = _mm256_set1_epi8(3);               \
    for (int64_t k = 0; k < iters; ++k)                                           \
      for (auto& x : a) x = dpbusd(x, u, s);                                      \
    __m256i t = a[0];                                                             \
    for (int i = 1; i < 12; ++i) t = _mm256_add_epi32(t, a[i]);                   \
    return hsum_epi32(t);                                                         \
  }
SMOLVLM_DOT8_VNNI_CHAINS(dot8_chains_avx_vnni, "avxvnni", _mm256_dpbusd_avx_epi32)
SMOLVLM_DOT8_VNNI_CHAINS(dot8_chains_vnni_evex, "avx512vnni,avx512vl", _mm256_dpbusd_epi32)
#undef SMOLVLM_DOT8_VNNI_CHAINS

}  // namespace smolvlm::kernels
