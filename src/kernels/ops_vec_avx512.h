// 16 x float32 vector traits for the SIMD op templates (ops_simd.h), AVX-512 F/BW/VL/DQ.
// Only for src/kernels/avx512/*.cpp (compiled with those flags). Everything sits in namespace
// avx512 so that nothing is shared, through the linker, with code built for another ISA.
#pragma once

#include <immintrin.h>

// g++ 12 reports -Wmaybe-uninitialized inside many AVX-512 intrinsics once they are inlined
// (their _mm512_undefined_* pass-through operand; GCC bug 105593). The warning is wrong there, and
// this header is only included by the AVX-512 op translation units.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <cstdint>

#include "kernels/ops_vec_x86.h"

namespace smolvlm::kernels::avx512 {

struct Vec {
  using F = __m512;
  using M = __mmask16;
  static constexpr int N = 16;

  static F zero() { return _mm512_setzero_ps(); }
  static F set1(float x) { return _mm512_set1_ps(x); }
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static M first(int64_t n) { return static_cast<M>((1u << n) - 1); }  // n < 16
  static F load_part(const float* p, int64_t n, float fill) {
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), first(n), p);
  }
  static void store_part(float* p, F v, int64_t n) { _mm512_mask_storeu_ps(p, first(n), v); }
  static F load_f16(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  static F load_f16_part(const uint16_t* p, int64_t n) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(first(n), p));
  }
  static void store_f16(uint16_t* p, F v) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
  }
  static void store_f16_part(uint16_t* p, F v, int64_t n) {
    _mm256_mask_storeu_epi16(p, first(n), _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
  }

  static F round_f16(F v) { return _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT)); }
  // Loads of float32 or fp16 data through one name, for kernels templated on the element type.
  static F ld(const float* p) { return load(p); }
  static F ld(const uint16_t* p) { return load_f16(p); }
  static F ld_part(const float* p, int64_t n) { return load_part(p, n, 0.0f); }
  static F ld_part(const uint16_t* p, int64_t n) { return load_f16_part(p, n); }

  // dst[c * dst_stride + r] = src[r * src_stride + c], r, c < 8 (float32 or fp16 source).
  template <class T>
  static void transpose8(const T* src, int64_t src_stride, float* dst, int64_t dst_stride) {
    x86::transpose8x8<Vec>(src, src_stride, dst, dst_stride);
  }

  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F div(F a, F b) { return _mm512_div_ps(a, b); }
  static F max(F a, F b) { return _mm512_max_ps(a, b); }
  static F min(F a, F b) { return _mm512_min_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }   // a*b + c
  static F fnmadd(F a, F b, F c) { return _mm512_fnmadd_ps(a, b, c); }  // c - a*b
  static F round(F a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // y * 2^n for integral n with a normal result: adds n to the exponent field.
  static F ldexp(F y, F n) {
    const __m512i e = _mm512_slli_epi32(_mm512_cvtps_epi32(n), 23);
    return _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(y), e));
  }
  static M lt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static M gt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static M unordered(F a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
  static F select(M m, F a, F b) { return _mm512_mask_blend_ps(m, b, a); }  // m ? a : b
  // Swaps the two floats of every pair: (x0, x1, x2, x3, ...) -> (x1, x0, x3, x2, ...).
  static F swap_pairs(F a) { return _mm512_permute_ps(a, 0xB1); }
  static float hsum(F a) { return _mm512_reduce_add_ps(a); }
  // tree16 of kKeys vectors at once: x(k, xk) fills key k's 16 lanes (xk[0]); out[k] = tree16.
  // The same additions as tree16, laid out as a transposing network (halves, quarters, pairs of
  // lanes, then lanes), so no sum waits on a horizontal chain; out lanes come back permuted.
  static constexpr int kKeys = 16;
  template <class X>
  static void tree16_keys(X x, float* out) {
    F y[8], z[4], w[2];
    for (int p = 0; p < 8; ++p) {
      F a[1], b[1];
      x(2 * p, a);
      x(2 * p + 1, b);
      y[p] = _mm512_add_ps(_mm512_shuffle_f32x4(a[0], b[0], 0xEE), _mm512_shuffle_f32x4(a[0], b[0], 0x44));
    }
    for (int p = 0; p < 4; ++p)
      z[p] = _mm512_add_ps(_mm512_shuffle_f32x4(y[2 * p], y[2 * p + 1], 0xDD),
                           _mm512_shuffle_f32x4(y[2 * p], y[2 * p + 1], 0x88));
    for (int p = 0; p < 2; ++p)
      w[p] = _mm512_add_ps(_mm512_shuffle_ps(z[2 * p], z[2 * p + 1], 0x44), _mm512_shuffle_ps(z[2 * p], z[2 * p + 1], 0xEE));
    const F r = _mm512_add_ps(_mm512_shuffle_ps(w[0], w[1], 0x88), _mm512_shuffle_ps(w[0], w[1], 0xDD));
    // lane 4i + m holds key 4m + i
    const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    _mm512_storeu_ps(out, _mm512_permutexvar_ps(idx, r));
  }
  // y * 2^n (n integral), rounded once: vscalefps.
  static F scalef(F y, F n) { return _mm512_scalef_ps(y, n); }
  // Even lanes of a, odd lanes of b.
  static F even_odd(F a, F b) { return _mm512_mask_blend_ps(__mmask16(0xAAAA), a, b); }
  // The sum of 16 lanes (16 / N vectors) as _mm512_reduce_add_ps adds them: lane l + lane l+8,
  // then l + l+4, then (0 + 2) + (1 + 3).
  static float tree16(const F* x) {
    const __m256 y = _mm256_add_ps(_mm512_extractf32x8_ps(x[0], 1), _mm512_castps512_ps256(x[0]));
    const __m128 z = _mm_add_ps(_mm256_extractf128_ps(y, 1), _mm256_castps256_ps128(y));
    const __m128 w = _mm_add_ps(z, _mm_movehl_ps(z, z));
    return _mm_cvtss_f32(_mm_add_ss(w, _mm_movehdup_ps(w)));
  }
  static float hmax(F a) { return _mm512_reduce_max_ps(a); }

  // Sums of float vectors in double lanes.
  struct D {
    __m512d lo, hi;
  };
  static D dzero() { return {_mm512_setzero_pd(), _mm512_setzero_pd()}; }
  static D dadd(D d, F x) {
    return {_mm512_add_pd(d.lo, _mm512_cvtps_pd(_mm512_castps512_ps256(x))),
            _mm512_add_pd(d.hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1))))};
  }
  static double dsum(D d) { return _mm512_reduce_add_pd(_mm512_add_pd(d.lo, d.hi)); }
};

}  // namespace smolvlm::kernels::avx512
