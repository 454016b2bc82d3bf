// The int8-scores attention tile (AttnI8Tile, ops_internal.h) for AVX2 CPUs with VNNI: per block
// of 16 keys, 6 (or 4, or 1) query rows' exact integer dot products with the staged key codes from
// vpdpbusd register tiles (12 sums, 2 key vectors, 1 broadcast: 15 of the 16 ymm), 4 codes per
// instruction where the f32 tiles' FMA takes one float; then ops_attention_simd.h's online softmax
// and value sums, as the f32 tiles run them.
//
// vpdpbusd is written as inline assembly, so that this file is built for plain AVX2 like the rest
// of avx2/ and no AVX-VNNI or AVX-512 code can leak into the templates it shares with them. The
// two encodings are the same instruction on the same ymm registers: VEX (AVX-VNNI: Alder Lake,
// Raptor Lake, Zen 5) and EVEX (AVX512-VNNI with VL: Ice Lake, Zen 4, where AVX2 runs only when
// forced), chosen by CPUID in attention_i8_kernel().
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "kernels/ops_attention_simd.h"
#include "kernels/ops_vec_avx2.h"

namespace smolvlm::kernels::avx2 {
namespace {

using simd::AttnBuffers;

// acc += per 32-bit lane, the dot product of the 4 unsigned bytes of u with the 4 signed bytes of s.
template <bool kEvex>
inline __m256i dpbusd(__m256i acc, __m256i u, __m256i s) {
  if constexpr (kEvex) {
    asm("%{evex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(u), "x"(s));
  } else {
    asm("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(u), "x"(s));
  }
  return acc;
}

// detail::AttnI8Kernel::quantize; the same products and rounding as quantize_row_i8 (ops_scalar.cpp):
// the same codes, bit for bit.
float quantize_row(const float* x, int64_t n, int8_t* codes) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 mx = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) mx = _mm256_max_ps(mx, _mm256_and_ps(_mm256_loadu_ps(x + i), abs_mask));
  float lanes[8];
  _mm256_storeu_ps(lanes, mx);
  float amax = 0.0f;
  for (float l : lanes) amax = l > amax ? l : amax;
  for (int64_t j = i; j < n; ++j) amax = std::fabs(x[j]) > amax ? std::fabs(x[j]) : amax;
  if (amax == 0.0f) {
    std::memset(codes, 0, static_cast<size_t>(n));
    return 0.0f;
  }
  const float inv = 127.0f / amax;
  const __m256 iv = _mm256_set1_ps(inv);
  for (i = 0; i + 8 <= n; i += 8) {
    const __m256i c = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i), iv));  // nearest, ties to even
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(c), _mm256_extracti128_si256(c, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(codes + i), _mm_packs_epi16(w, w));
  }
  for (; i < n; ++i) codes[i] = static_cast<int8_t>(std::nearbyint(x[i] * inv));
  return amax / 127.0f;
}

// s[r][j] for rows r0..r0+R-1 and keys j0 + j, j < n (a multiple of 16).
template <bool kEvex, int R>
void scores_i8(const detail::AttnI8Tile& t, const AttnBuffers& b, const int32_t* qq, const float* sq, int64_t d4,
               int64_t r0, int64_t j0, int64_t n) {
  for (int64_t j = 0; j < n; j += 16) {
    __m256i acc[R][2];
    for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    const int32_t* k = t.kq + j0 + j;
    for (int64_t i = 0; i < d4; ++i) {
      const __m256i k0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(k + i * t.np));
      const __m256i k1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(k + i * t.np + 8));
      for (int r = 0; r < R; ++r) {
        const __m256i qb = _mm256_set1_epi32(qq[(r0 + r) * d4 + i]);
        acc[r][0] = dpbusd<kEvex>(acc[r][0], qb, k0);
        acc[r][1] = dpbusd<kEvex>(acc[r][1], qb, k1);
      }
    }
    const __m256i c0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.kc + j0 + j));
    const __m256i c1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.kc + j0 + j + 8));
    const __m256 s0 = _mm256_loadu_ps(t.ks + j0 + j), s1 = _mm256_loadu_ps(t.ks + j0 + j + 8);
    for (int r = 0; r < R; ++r) {
      const __m256 qs = _mm256_set1_ps(sq[r0 + r]);
      float* s = b.s + (r0 + r) * b.sp + j;
      _mm256_storeu_ps(s, _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(acc[r][0], c0)), s0), qs));
      _mm256_storeu_ps(s + 8, _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(acc[r][1], c1)), s1), qs));
    }
  }
}

template <bool kEvex, int R>
void group_i8(const detail::AttnI8Tile& t, const AttnBuffers& b, const int32_t* qq, const float* sq, int64_t d4,
              int64_t r0, int64_t j0, int64_t nb) {
  int64_t cnt[R];
  const int64_t n_max = t.template visible_in_block<R>(r0, j0, nb, cnt);
  if (n_max == 0) return;
  scores_i8<kEvex, R>(t, b, qq, sq, d4, r0, j0, (n_max + 15) / 16 * 16);
  simd::softmax_values<Vec, R>(b, r0, cnt, n_max);
}

template <bool kEvex>
void tile_i8(const detail::AttnI8Tile& t) {
  const int64_t D = t.head_dim, d4 = (D + 3) / 4, rows = t.n_tok * t.n_g, rp = (rows + 15) / 16 * 16;
  AttnBuffers b{};
  b.dp = detail::attn_pad_dim(D);
  b.sp = detail::attn_pad_block(t.kv_block);
  b.o = t.scratch;
  b.s = b.o + rows * b.dp;
  b.m = b.s + rows * b.sp;
  b.l = b.m + rp;
  b.v = b.l + rp;
  auto* qq = reinterpret_cast<int32_t*>(b.v + b.sp * b.dp);  // [rows][d4] words of 4 unsigned codes
  float* sq = reinterpret_cast<float*>(qq + (rows * d4 + 15) / 16 * 16);
  for (int64_t r = 0; r < rows; ++r) {
    // The row's codes in place, 4 to a word, zero-padded, then offset by 128 (each byte's top bit
    // flipped): unsigned codes for vpdpbusd.
    auto* codes = reinterpret_cast<int8_t*>(qq + r * d4);
    std::memset(codes + D, 0, static_cast<size_t>(4 * d4 - D));
    sq[r] = quantize_row(t.q + (r / t.n_g) * t.tok_stride + (r % t.n_g) * D, D, codes);
    for (int64_t i = 0; i < d4; ++i) qq[r * d4 + i] ^= int32_t(0x80808080u);
    std::memset(b.o + r * b.dp, 0, static_cast<size_t>(b.dp) * sizeof(float));
    b.m[r] = -__builtin_inff();
    b.l[r] = 0.0f;
  }
  const int64_t n_vis = t.visible(t.n_tok - 1);
  for (int64_t j0 = 0; j0 < n_vis; j0 += t.kv_block) {
    const int64_t nb = n_vis - j0 < t.kv_block ? n_vis - j0 : t.kv_block;
    simd::stage_values<Vec>(b, t.v + j0 * t.v_stride, t.v_stride, nb, D);
    int64_t r = 0;
    for (; r + 6 <= rows; r += 6) group_i8<kEvex, 6>(t, b, qq, sq, d4, r, j0, nb);
    for (; r + 4 <= rows; r += 4) group_i8<kEvex, 4>(t, b, qq, sq, d4, r, j0, nb);
    for (; r < rows; ++r) group_i8<kEvex, 1>(t, b, qq, sq, d4, r, j0, nb);
  }
  simd::write_out<Vec>(t, b);
}

}  // namespace

detail::AttnI8Kernel attention_i8(bool evex) {
  return {evex ? tile_i8<true> : tile_i8<false>, quantize_row};
}

}  // namespace smolvlm::kernels::avx2
