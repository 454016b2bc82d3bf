// AVX-512 activation converters, bit-identical to the scalar ones in matmul_act.cpp (which follow
// ggml): conversions use the default round-to-nearest-even mode, as ggml's x86 code does.
#include <immintrin.h>

#include <cstring>

#include "base/fp16.h"
#include "kernels/matmul_act.h"

namespace smolvlm::kernels::mm {
namespace {

inline float f16_round(float v) { return fp16_to_fp32(fp32_to_fp16(v)); }

// Lane i of the result = op over the 16 lanes of v[i] (op associative and commutative, as
// integer add and max are): a transposing tree, 15 ops and 30 shuffles for 16 vectors instead of
// 16 horizontal reductions. v is clobbered.
template <class Op>
inline __m512i fold16(__m512i* v, Op op) {
  for (int i = 0; i < 8; ++i)  // 16 -> 8: lane quarter j of v[2i] (j < 2) / v[2i+1] (j >= 2) folded over halves
    v[i] = op(_mm512_shuffle_i32x4(v[2 * i], v[2 * i + 1], 0x44), _mm512_shuffle_i32x4(v[2 * i], v[2 * i + 1], 0xEE));
  for (int i = 0; i < 4; ++i)  // 8 -> 4: quarter j = vector 4i + j, 4 partial results each
    v[i] = op(_mm512_shuffle_i32x4(v[2 * i], v[2 * i + 1], 0x88), _mm512_shuffle_i32x4(v[2 * i], v[2 * i + 1], 0xDD));
  for (int i = 0; i < 2; ++i)  // 4 -> 2: quarter j = [vector 4(2i)+j: 2 partials, vector 4(2i+1)+j: 2]
    v[i] = op(_mm512_unpacklo_epi64(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_epi64(v[2 * i], v[2 * i + 1]));
  // 2 -> 1: quarter j = vectors j, 4 + j, 8 + j, 12 + j; then back to vector order.
  const __m512i r = op(_mm512_castps_si512(_mm512_shuffle_ps(_mm512_castsi512_ps(v[0]), _mm512_castsi512_ps(v[1]), 0x88)),
                       _mm512_castps_si512(_mm512_shuffle_ps(_mm512_castsi512_ps(v[0]), _mm512_castsi512_ps(v[1]), 0xDD)));
  return _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), r);
}

// 16 blocks of 32 at once: the per-block maxima, scales, fp16 roundings and code sums as vectors.
void q8_0_x16(const float* x, int8_t* q, float* d, float* s, int32_t* sums) {
  __m512i m[16];
  for (int i = 0; i < 16; ++i) {  // |x| as integers order like the floats (NaN aside)
    const __m512 a0 = _mm512_abs_ps(_mm512_loadu_ps(x + 32 * i)), a1 = _mm512_abs_ps(_mm512_loadu_ps(x + 32 * i + 16));
    m[i] = _mm512_castps_si512(_mm512_max_ps(a0, a1));
  }
  const __m512 amax = _mm512_castsi512_ps(fold16(m, [](__m512i a, __m512i b) { return _mm512_max_epi32(a, b); }));
  const __m512 db = _mm512_div_ps(amax, _mm512_set1_ps(127.f));
  const __mmask16 nz = _mm512_cmp_ps_mask(amax, _mm512_setzero_ps(), _CMP_NEQ_OQ);
  alignas(64) float id[16];
  _mm512_store_ps(id, _mm512_maskz_div_ps(nz, _mm512_set1_ps(127.f), amax));
  __m512i sum[16];
  for (int i = 0; i < 16; ++i) {
    const __m512 idv = _mm512_set1_ps(id[i]);
    const __m512i i0 = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + 32 * i), idv));
    const __m512i i1 = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + 32 * i + 16), idv));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 32 * i), _mm512_cvtsepi32_epi8(i0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 32 * i + 16), _mm512_cvtsepi32_epi8(i1));
    sum[i] = _mm512_add_epi32(i0, i1);
  }
  const __m512i isum = fold16(sum, [](__m512i a, __m512i b) { return _mm512_add_epi32(a, b); });
  auto f16_round16 = [](__m512 v) { return _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT)); };
  _mm512_storeu_ps(d, f16_round16(db));
  if (s) _mm512_storeu_ps(s, f16_round16(_mm512_mul_ps(db, _mm512_cvtepi32_ps(isum))));
  _mm512_storeu_si512(sums, isum);
}

void q8_0(const float* x, int64_t cols, int8_t* q, float* d, float* s, int32_t* sums) {
  int64_t b = 0;
  for (; b + 16 <= cols / 32; b += 16, x += 512, q += 512) q8_0_x16(x, q, d + b, s ? s + b : nullptr, sums + b);
  for (; b < cols / 32; ++b, x += 32, q += 32) {
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
    __m512i v[16];
    for (int j = 0; j < 16; ++j) {
      v[j] = _mm512_min_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + 16 * j), is)), cap);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 16 * j), _mm512_cvtsepi32_epi8(v[j]));
    }
    const __m512i bs = fold16(v, [](__m512i p, __m512i r) { return _mm512_add_epi32(p, r); });
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(bsums + 16 * b), _mm512_cvtepi32_epi16(bs));
    d[b] = 1 / iscale;
  }
}

void round_f16(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(y + i, _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
  for (; i < n; ++i) y[i] = fp16_to_fp32(fp32_to_fp16(x[i]));
}

// ggml_compute_fp32_to_bf16 on 16 floats: round to nearest even; NaN -> quiet NaN. The result's
// bits in the high halves of the lanes (low halves zero).
inline __m512i bf16_bits(const float* x) {
  const __m512i u = _mm512_castps_si512(_mm512_loadu_ps(x));
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i hi = _mm512_set1_epi32(int(0xffff0000u));
  const __m512i r = _mm512_and_si512(_mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), lsb)), hi);
  const __m512i absu = _mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff));
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(absu, _mm512_set1_epi32(0x7f800000));
  return _mm512_mask_mov_epi32(r, nan, _mm512_and_si512(_mm512_or_si512(u, _mm512_set1_epi32(0x400000)), hi));
}

void round_bf16(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_castsi512_ps(bf16_bits(x + i)));
  for (; i < n; ++i) y[i] = bf16_to_fp32(fp32_to_bf16(x[i]));
}

void to_bf16(const float* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), _mm512_cvtepi32_epi16(_mm512_srli_epi32(bf16_bits(x + i), 16)));
  for (; i < n; ++i) y[i] = fp32_to_bf16(x[i]);
}

const ActRowFns kFns{q8_0, q8_K, round_f16, round_bf16, to_bf16};

}  // namespace

const ActRowFns* avx512_act_fns() { return &kFns; }

}  // namespace smolvlm::kernels::mm
