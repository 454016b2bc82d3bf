// AVX2 activation converters, bit-identical to the scalar ones in matmul_act.cpp (see the
// AVX-512 twin).
#include <immintrin.h>

#include <cstring>

#include "base/fp16.h"
#include "kernels/matmul_act.h"

namespace smolvlm::kernels::mm {
namespace {

inline float f16_round(float v) { return fp16_to_fp32(fp32_to_fp16(v)); }

inline __m256 abs8(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }
inline float hmax8(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}
inline int hsum8(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
  return _mm_cvtsi128_si32(s);
}
// 32 int32 (4 vectors, element order) -> 32 saturated int8.
inline void store_codes(int8_t* q, __m256i i0, __m256i i1, __m256i i2, __m256i i3) {
  const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
}

void q8_0(const float* x, int64_t cols, int8_t* q, float* d, float* s, int32_t* sums) {
  for (int64_t b = 0; b < cols / 32; ++b, x += 32, q += 32) {
    __m256 v[4];
    __m256 am = _mm256_setzero_ps();
    for (int j = 0; j < 4; ++j) {
      v[j] = _mm256_loadu_ps(x + 8 * j);
      am = _mm256_max_ps(am, abs8(v[j]));
    }
    const float amax = hmax8(am);
    const float db = amax / 127.f;
    const __m256 id = _mm256_set1_ps(amax != 0.0f ? 127.f / amax : 0.0f);
    __m256i i[4];
    for (int j = 0; j < 4; ++j) i[j] = _mm256_cvtps_epi32(_mm256_mul_ps(v[j], id));
    store_codes(q, i[0], i[1], i[2], i[3]);
    const int sum = hsum8(_mm256_add_epi32(_mm256_add_epi32(i[0], i[1]), _mm256_add_epi32(i[2], i[3])));
    d[b] = f16_round(db);
    if (s) s[b] = f16_round(db * float(sum));
    sums[b] = sum;
  }
}

void q8_K(const float* x, int64_t cols, int8_t* q, float* d, int16_t* bsums) {
  for (int64_t b = 0; b < cols / 256; ++b, x += 256, q += 256) {
    __m256 am = _mm256_setzero_ps();
    for (int j = 0; j < 32; ++j) am = _mm256_max_ps(am, abs8(_mm256_loadu_ps(x + 8 * j)));
    const float amax = hmax8(am);
    if (amax == 0.0f) {
      d[b] = 0.0f;
      std::memset(q, 0, 256);
      std::memset(bsums + 16 * b, 0, 32);
      continue;
    }
    float max = 0.0f;
    const __m256 target = _mm256_set1_ps(amax);
    for (int j = 0; j < 32; ++j) {
      const int m = _mm256_movemask_ps(_mm256_cmp_ps(abs8(_mm256_loadu_ps(x + 8 * j)), target, _CMP_EQ_OQ));
      if (m) {
        max = x[8 * j + __builtin_ctz(unsigned(m))];
        break;
      }
    }
    const float iscale = -127.f / max;
    const __m256 is = _mm256_set1_ps(iscale);
    const __m256i cap = _mm256_set1_epi32(127);
    for (int j = 0; j < 8; ++j) {  // 32 codes per pass = two bsums
      __m256i i[4];
      for (int k = 0; k < 4; ++k)
        i[k] = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 32 * j + 8 * k), is)), cap);
      store_codes(q + 32 * j, i[0], i[1], i[2], i[3]);
      bsums[16 * b + 2 * j] = int16_t(hsum8(_mm256_add_epi32(i[0], i[1])));
      bsums[16 * b + 2 * j + 1] = int16_t(hsum8(_mm256_add_epi32(i[2], i[3])));
    }
    d[b] = 1 / iscale;
  }
}

void round_f16(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
  for (; i < n; ++i) y[i] = fp16_to_fp32(fp32_to_fp16(x[i]));
}

void round_bf16(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  const __m256i one = _mm256_set1_epi32(1), bias = _mm256_set1_epi32(0x7fff), hi = _mm256_set1_epi32(int(0xffff0000u));
  const __m256i absmask = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000), quiet = _mm256_set1_epi32(0x400000);
  for (; i + 8 <= n; i += 8) {
    const __m256i u = _mm256_castps_si256(_mm256_loadu_ps(x + i));
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), one);
    const __m256i r = _mm256_and_si256(_mm256_add_epi32(u, _mm256_add_epi32(bias, lsb)), hi);
    const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, absmask), inf);  // both non-negative
    const __m256i qn = _mm256_and_si256(_mm256_or_si256(u, quiet), hi);
    _mm256_storeu_ps(y + i, _mm256_castsi256_ps(_mm256_blendv_epi8(r, qn, nan)));
  }
  for (; i < n; ++i) y[i] = bf16_to_fp32(fp32_to_bf16(x[i]));
}

const ActRowFns kFns{q8_0, q8_K, round_f16, round_bf16, scalar_to_bf16};  // (no AVX2 kernel takes bf16 codes)

}  // namespace

const ActRowFns* avx2_act_fns() { return &kFns; }

}  // namespace smolvlm::kernels::mm
