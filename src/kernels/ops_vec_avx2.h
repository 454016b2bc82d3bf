// 8 x float32 vector traits for the SIMD op templates (ops_simd.h), AVX2 + FMA + F16C.
// Only for src/kernels/avx2/*.cpp (compiled with those flags). Everything sits in namespace
// avx2 so that nothing is shared, through the linker, with code built for another ISA.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/ops_vec_x86.h"

namespace smolvlm::kernels::avx2 {

struct Vec {
  using F = __m256;
  using M = __m256;  // all-ones / all-zeros lanes
  static constexpr int N = 8;

  static F zero() { return _mm256_setzero_ps(); }
  static F set1(float x) { return _mm256_set1_ps(x); }
  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static __m256i first(int64_t n) {  // n < 8
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static F load_part(const float* p, int64_t n, float fill) {
    const __m256i m = first(n);
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
  }
  static void store_part(float* p, F v, int64_t n) { _mm256_maskstore_ps(p, first(n), v); }
  static F load_f16(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static F load_f16_part(const uint16_t* p, int64_t n) {
    alignas(16) uint16_t buf[8] = {};
    for (int64_t i = 0; i < n; ++i) buf[i] = p[i];
    return load_f16(buf);
  }
  static void store_f16(uint16_t* p, F v) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
  }
  static void store_f16_part(uint16_t* p, F v, int64_t n) {
    alignas(16) uint16_t buf[8];
    store_f16(buf, v);
    for (int64_t i = 0; i < n; ++i) p[i] = buf[i];
  }

  static F round_f16(F v) { return _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT)); }
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

  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F div(F a, F b) { return _mm256_div_ps(a, b); }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }
  static F min(F a, F b) { return _mm256_min_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }   // a*b + c
  static F fnmadd(F a, F b, F c) { return _mm256_fnmadd_ps(a, b, c); }  // c - a*b
  static F round(F a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // y * 2^n for integral n with a normal result: adds n to the exponent field.
  static F ldexp(F y, F n) {
    const __m256i e = _mm256_slli_epi32(_mm256_cvtps_epi32(n), 23);
    return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(y), e));
  }
  static M lt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static M gt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  static M unordered(F a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
  static F select(M m, F a, F b) { return _mm256_blendv_ps(b, a, m); }  // m ? a : b
  // Swaps the two floats of every pair: (x0, x1, x2, x3, ...) -> (x1, x0, x3, x2, ...).
  static F swap_pairs(F a) { return _mm256_permute_ps(a, 0xB1); }
  // y * 2^n (n integral, |n| <= 192), rounded once as vscalefps does: y * 2^(n - h) is exact
  // (a normal number), the product with 2^h the one rounding.
  static F scalef(F y, F n) {
    const F h = _mm256_round_ps(_mm256_mul_ps(n, _mm256_set1_ps(0.5f)), _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    auto pow2 = [](F k) {
      return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23));
    };
    return _mm256_mul_ps(_mm256_mul_ps(y, pow2(_mm256_sub_ps(n, h))), pow2(h));
  }
  // Even lanes of a, odd lanes of b.
  static F even_odd(F a, F b) { return _mm256_blend_ps(a, b, 0xAA); }
  // The sum of 16 lanes (two vectors) as _mm512_reduce_add_ps adds them: lane l + lane l+8, then
  // l + l+4, then (0 + 2) + (1 + 3).
  static float tree16(const F* x) {
    const F y = _mm256_add_ps(x[1], x[0]);
    const __m128 z = _mm_add_ps(_mm256_extractf128_ps(y, 1), _mm256_castps256_ps128(y));
    const __m128 w = _mm_add_ps(z, _mm_movehl_ps(z, z));
    return _mm_cvtss_f32(_mm_add_ss(w, _mm_movehdup_ps(w)));
  }
  // tree16 of kKeys keys at once (two vectors each): x(k, xk) fills key k's 16 lanes; out[k] =
  // tree16. The same additions as tree16, as a transposing network; out lanes come back permuted.
  static constexpr int kKeys = 8;
  template <class X>
  static void tree16_keys(X x, float* out) {
    F y[8], z[4], w[2];
    for (int k = 0; k < 8; ++k) {
      F a[2];
      x(k, a);
      y[k] = _mm256_add_ps(a[1], a[0]);
    }
    for (int p = 0; p < 4; ++p)
      z[p] = _mm256_add_ps(_mm256_permute2f128_ps(y[2 * p], y[2 * p + 1], 0x31),
                           _mm256_permute2f128_ps(y[2 * p], y[2 * p + 1], 0x20));
    for (int p = 0; p < 2; ++p)
      w[p] = _mm256_add_ps(_mm256_shuffle_ps(z[2 * p], z[2 * p + 1], 0x44), _mm256_shuffle_ps(z[2 * p], z[2 * p + 1], 0xEE));
    const F r = _mm256_add_ps(_mm256_shuffle_ps(w[0], w[1], 0x88), _mm256_shuffle_ps(w[0], w[1], 0xDD));
    // lanes hold keys 0, 2, 4, 6, 1, 3, 5, 7
    _mm256_storeu_ps(out, _mm256_permutevar8x32_ps(r, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
  }
  static float hsum(F a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static float hmax(F a) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }

  // Sums of float vectors in double lanes.
  struct D {
    __m256d lo, hi;
  };
  static D dzero() { return {_mm256_setzero_pd(), _mm256_setzero_pd()}; }
  static D dadd(D d, F x) {
    return {_mm256_add_pd(d.lo, _mm256_cvtps_pd(_mm256_castps256_ps128(x))),
            _mm256_add_pd(d.hi, _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)))};
  }
  static double dsum(D d) {
    const __m256d s = _mm256_add_pd(d.lo, d.hi);
    __m128d t = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    t = _mm_add_sd(t, _mm_unpackhi_pd(t, t));
    return _mm_cvtsd_f64(t);
  }
};

}  // namespace smolvlm::kernels::avx2
