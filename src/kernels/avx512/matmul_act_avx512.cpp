// AVX-512 activation converters, bit-identical to the scalar ones in matmul_act.cpp (which follow
// ggml): conversions use the default round-to-nearest-even mode, as ggml's x86 code does.
#include <immintrin.h>

#include <cstring>

#include "base/fp16.h"
#include "kernels/matmul_act.h"

namespace smolvlm::kernels::mm {
namespace {

inline float f16_round(float v) { return fp16_to_fp32(fp32_to_fp16(v)); }

void q8_0(const float* x, int64_t cols, int8_t* q, float* d, float* s, int32_t* sums) {
  for (int64_t b = 0; b < cols / 32; ++b, x += 32, q += 32) {
    const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
    const float db = amax / 127.f;
    const __m512 id = _mm512_set1_ps(amax != 0.0f ? 127.f / amax : 0.0f);
    const __m512i i0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, id)), i1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, id));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q), _mm512_cvtsepi32_epi8(i0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 16), _mm512_cvtsepi32_epi8(i1));
    const int sum = _mm512_reduce_add_epi32(_mm512_add_epi32(i0, i1));
    d[b] = f16_round(db);
    if (s) s[b] = f16_round(db * float(sum));
    sums[b] = sum;
  }
}

// quantize_row_q8_K_ref: the scale comes from the first element of largest magnitude (sign
// included), codes = round-half-even(-127/max * x) capped at 127.
void q8_K(const float* x, int64_t cols, int8_t* q, float* d, int16_t* bsums) {
  for (int64_t b = 0; b < cols / 256; ++b, x += 256, q += 256) {
    __m512 am = _mm512_setzero_ps();
    for (int j = 0; j < 16; ++j) am = _mm512_max_ps(am, _mm512_abs_ps(_mm512_loadu_ps(x + 16 * j)));
    const float amax = _mm512_reduce_max_ps(am);
    if (amax == 0.0f) {
      d[b] = 0.0f;
      std::memset(q, 0, 256);
      std::memset(bsums + 16 * b, 0, 32);
      continue;
    }
    float max = 0.0f;
    const __m512 target = _mm512_set1_ps(amax);
    for (int j = 0; j < 16; ++j) {
      const __mmask16 m = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_loadu_ps(x + 16 * j)), target, _CMP_EQ_OQ);
      if (m) {
        max = x[16 * j + __builtin_ctz(m)];
        break;
      }
    }
    const float iscale = -127.f / max;
    const __m512 is = _mm512_set1_ps(iscale);
    const __m512i cap = _mm512_set1_epi32(127);
    for (int j = 0; j < 16; ++j) {
      const __m512i v = _mm512_min_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + 16 * j), is)), cap);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 16 * j), _mm512_cvtsepi32_epi8(v));
      bsums[16 * b + j] = int16_t(_mm512_reduce_add_epi32(v));
    }
    d[b] = 1 / iscale;
  }
}

void round_f16(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(y + i, _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
  for (; i < n; ++i) y[i] = fp16_to_fp32(fp32_to_fp16(x[i]));
}

// ggml_compute_fp32_to_bf16: round to nearest even; NaN -> quiet NaN.
void round_bf16(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  const __m512i one = _mm512_set1_epi32(1), bias = _mm512_set1_epi32(0x7fff), hi = _mm512_set1_epi32(int(0xffff0000u));
  const __m512i absmask = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000), quiet = _mm512_set1_epi32(0x400000);
  for (; i + 16 <= n; i += 16) {
    const __m512i u = _mm512_castps_si512(_mm512_loadu_ps(x + i));
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), one);
    __m512i r = _mm512_and_si512(_mm512_add_epi32(u, _mm512_add_epi32(bias, lsb)), hi);
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, absmask), inf);
    r = _mm512_mask_mov_epi32(r, nan, _mm512_and_si512(_mm512_or_si512(u, quiet), hi));
    _mm512_storeu_ps(y + i, _mm512_castsi512_ps(r));
  }
  for (; i < n; ++i) y[i] = bf16_to_fp32(fp32_to_bf16(x[i]));
}

const ActRowFns kFns{q8_0, q8_K, round_f16, round_bf16};

}  // namespace

const ActRowFns* avx512_act_fns() { return &kFns; }

}  // namespace smolvlm::kernels::mm
