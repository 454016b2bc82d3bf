// The AVX512_BF16 tile kernel of AttentionArgs::bf16 (AttnBf16Tile in ops_internal.h). Per block
// of 64 keys and per group of R query rows:
//   scores  an R x 64 register tile of vdpbf16ps: a query's pair (q_2i, q_2i+1) broadcast against
//           the pairs of 16 keys (the staged K is [pair][key]);
//   softmax the online-softmax step, in f32 and in registers (the sums kept per lane);
//   p       the probabilities rounded to bf16 codes: the codes of keys 2i and 2i+1 sit side by side,
//           which is the pair the value sums take;
//   values  an R x (up to 64 dimensions) register tile: a probability pair broadcast against the
//           value pairs of 16 dimensions (the staged V is [key pair][dimension]).
// Each vdpbf16ps adds the exact products of two bf16 pairs per lane: twice an f32 FMA's work.
#include <immintrin.h>

#include "kernels/ops_simd.h"
#include "kernels/ops_internal.h"
#include "kernels/ops_vec_avx512.h"

namespace smolvlm::kernels::avx512 {
namespace {

using detail::AttnBf16Tile;
constexpr int64_t kKeys = detail::kBf16KeyBlock;
constexpr int kKeyVecs = int(kKeys / 16);

// The tile's buffers, carved out of AttnBf16Tile::scratch (layout: attn_bf16_scratch_floats).
struct Buffers {
  int64_t d2, dp;
  uint32_t* q;  // [rows][d2] query pairs
  float* o;     // [rows][dp] value sums
  float* m;     // [rows] running max
  float* l;     // [rows][16] running sums, lane-wise
  uint16_t* p;  // [8][kKeys] one group's probabilities as bf16 codes
};

Buffers carve(const AttnBf16Tile& t) {
  const int64_t rows = t.n_tok * t.n_g, rp = (rows + 15) / 16 * 16;
  Buffers b;
  b.d2 = (t.head_dim + 1) / 2;
  b.dp = detail::attn_pad_dim(t.head_dim);
  b.q = reinterpret_cast<uint32_t*>(t.scratch);
  b.o = t.scratch + (rows * b.d2 + 15) / 16 * 16;
  b.m = b.o + rows * b.dp;
  b.l = b.m + rp;
  b.p = reinterpret_cast<uint16_t*>(b.l + rows * 16);
  return b;
}

inline __m512bh pair_bcast(uint32_t w) { return __m512bh(_mm512_set1_epi32(int(w))); }
inline __m512bh pairs(const uint32_t* p) { return __m512bh(_mm512_loadu_si512(p)); }
inline __mmask16 first_lanes(int64_t n) { return __mmask16((1u << (n < 0 ? 0 : n > 16 ? 16 : n)) - 1); }

// e^x for the softmax's x = s - max <= 0: simd::exp without its range selects. x is clamped at -87
// (e^-87 ~ 1.6e-38, still normal); lanes beyond a row's keys, whatever they hold, are masked off by
// the caller.
inline __m512 exp_nonpositive(__m512 x) { return simd::exp_in_range<Vec>(_mm512_max_ps(x, _mm512_set1_ps(-87.0f))); }

// acc[r][c] = q_r . k_j for rows r0..r0+R-1 and keys j = j0 + 16c .. j0 + 16c + 15.
template <int R>
inline void scores(const AttnBf16Tile& t, const Buffers& b, int64_t r0, int64_t j0, __m512 (&acc)[R][kKeyVecs]) {
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < kKeyVecs; ++c) acc[r][c] = _mm512_setzero_ps();
  const uint32_t* k = t.k + j0;
  const uint32_t* q = b.q + r0 * b.d2;
  for (int64_t i = 0; i < b.d2; ++i) {
    __m512bh kv[kKeyVecs];
    for (int c = 0; c < kKeyVecs; ++c) kv[c] = pairs(k + i * t.np + 16 * c);
    for (int r = 0; r < R; ++r) {
      const __m512bh qv = pair_bcast(q[r * b.d2 + i]);
      for (int c = 0; c < kKeyVecs; ++c) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], qv, kv[c]);
    }
  }
}

// The online-softmax step of rows r0..r0+R-1 on their scores, in registers: the scaled scores'
// max over the row's cnt[r] keys raises m; corr = e^(m_old - m) rescales the lane sums l and
// (returned) the value sums; p_j = e^(s_j - m) (0 beyond cnt) go out as bf16 codes.
template <int R>
inline void softmax(const AttnBf16Tile& t, const Buffers& b, int64_t r0, const int64_t* cnt, __m512 (&acc)[R][kKeyVecs],
                    float* corr) {
  const __m512 sc = _mm512_set1_ps(t.scale), ninf = _mm512_set1_ps(-__builtin_inff());
  __mmask16 valid[R][kKeyVecs];
  float m_new[16], m_old[16];
  for (int r = 0; r < R; ++r) {
    __m512 mx = ninf;
    for (int c = 0; c < kKeyVecs; ++c) {
      valid[r][c] = first_lanes(cnt[r] - 16 * c);
      acc[r][c] = _mm512_mul_ps(acc[r][c], sc);
      mx = _mm512_mask_max_ps(mx, valid[r][c], mx, acc[r][c]);
    }
    m_old[r] = b.m[r0 + r];
    const float blk = _mm512_reduce_max_ps(mx);
    m_new[r] = blk > m_old[r] ? blk : m_old[r];
  }
  // One vector exp for the R corrections (a row without keys here keeps its sums: corr 1).
  const __mmask16 rows = first_lanes(R);
  const __m512 e = simd::exp<Vec>(_mm512_sub_ps(_mm512_maskz_loadu_ps(rows, m_old), _mm512_maskz_loadu_ps(rows, m_new)));
  _mm512_mask_storeu_ps(corr, rows, e);
  for (int r = 0; r < R; ++r) {
    uint16_t* p = b.p + r * kKeys;
    if (cnt[r] == 0) {
      corr[r] = 1.0f;
      for (int64_t j = 0; j < kKeys; j += 32) _mm512_storeu_si512(p + j, _mm512_setzero_si512());
      continue;
    }
    const __m512 mv = _mm512_set1_ps(m_new[r]);
    __m512 pe[kKeyVecs], sum = _mm512_setzero_ps();
    for (int c = 0; c < kKeyVecs; ++c) {
      pe[c] = _mm512_maskz_mov_ps(valid[r][c], exp_nonpositive(_mm512_sub_ps(acc[r][c], mv)));
      sum = _mm512_add_ps(sum, pe[c]);
    }
    float* l = b.l + (r0 + r) * 16;
    _mm512_storeu_ps(l, _mm512_fmadd_ps(_mm512_loadu_ps(l), _mm512_set1_ps(corr[r]), sum));
    for (int c = 0; c < kKeyVecs; c += 2)
      _mm512_storeu_si512(p + 16 * c, __m512i(_mm512_cvtne2ps_pbh(pe[c + 1], pe[c])));
    b.m[r0 + r] = m_new[r];
  }
}

// o[r][d0 .. d0 + 16C) = o * corr[r] + sum_j p[r][j] v_j0+j over the first n_pairs key pairs.
template <int R, int C>
inline void values(const AttnBf16Tile& t, const Buffers& b, int64_t r0, int64_t j0, int64_t d0, int64_t n_pairs,
                   const float* corr) {
  __m512 acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c)
      acc[r][c] = _mm512_mul_ps(_mm512_loadu_ps(b.o + (r0 + r) * b.dp + d0 + 16 * c), _mm512_set1_ps(corr[r]));
  const uint32_t* v = t.v + (j0 / 2) * b.dp + d0;
  const auto* p = reinterpret_cast<const uint32_t*>(b.p);
  for (int64_t i = 0; i < n_pairs; ++i) {
    __m512bh vv[C];
    for (int c = 0; c < C; ++c) vv[c] = pairs(v + i * b.dp + 16 * c);
    for (int r = 0; r < R; ++r) {
      const __m512bh pv = pair_bcast(p[r * (kKeys / 2) + i]);
      for (int c = 0; c < C; ++c) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], pv, vv[c]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) _mm512_storeu_ps(b.o + (r0 + r) * b.dp + d0 + 16 * c, acc[r][c]);
}

// Rows r0..r0+R-1 through the block of keys at j0: scores, softmax step, value sums.
template <int R>
void group(const AttnBf16Tile& t, const Buffers& b, int64_t r0, int64_t j0) {
  int64_t cnt[R];
  const int64_t n_max = t.template visible_in_block<R>(r0, j0, kKeys, cnt);
  if (n_max == 0) return;
  __m512 acc[R][kKeyVecs];
  scores<R>(t, b, r0, j0, acc);
  float corr[16];
  softmax<R>(t, b, r0, cnt, acc, corr);
  const int64_t n_pairs = (n_max + 1) / 2;
  int64_t d0 = 0;
  for (; d0 + 64 <= b.dp; d0 += 64) values<R, 4>(t, b, r0, j0, d0, n_pairs, corr);
  for (; d0 < b.dp; d0 += 16) values<R, 1>(t, b, r0, j0, d0, n_pairs, corr);
}

}  // namespace

void attention_bf16_tile(const AttnBf16Tile& t) {
  const int64_t D = t.head_dim, rows = t.n_tok * t.n_g;
  const Buffers b = carve(t);
  // The query rows as bf16 pairs (a last odd element paired with 0); zeroed accumulators.
  for (int64_t r = 0; r < rows; ++r) {
    const float* src = t.q + (r / t.n_g) * t.tok_stride + (r % t.n_g) * D;
    for (int64_t d = 0; d < 2 * b.d2; d += 32) {
      const auto ld = [&](int64_t e) {
        const int64_t n = D - e;
        return n >= 16 ? _mm512_loadu_ps(src + e) : n > 0 ? Vec::load_part(src + e, n, 0.0f) : _mm512_setzero_ps();
      };
      const __m512i codes = __m512i(_mm512_cvtne2ps_pbh(ld(d + 16), ld(d)));
      const int64_t words = b.d2 - d / 2 < 16 ? b.d2 - d / 2 : 16;
      _mm512_mask_storeu_epi32(b.q + r * b.d2 + d / 2, __mmask16((1u << words) - 1), codes);
    }
    for (int64_t d = 0; d < b.dp; d += 16) _mm512_storeu_ps(b.o + r * b.dp + d, _mm512_setzero_ps());
    b.m[r] = -__builtin_inff();
    _mm512_storeu_ps(b.l + r * 16, _mm512_setzero_ps());
  }

  const int64_t n_vis = t.visible(t.n_tok - 1);
  for (int64_t j0 = 0; j0 < n_vis; j0 += kKeys) {
    int64_t r = 0;
    for (; r + 6 <= rows; r += 6) group<6>(t, b, r, j0);
    for (; r + 4 <= rows; r += 4) group<4>(t, b, r, j0);
    for (; r + 2 <= rows; r += 2) group<2>(t, b, r, j0);
    for (; r < rows; ++r) group<1>(t, b, r, j0);
  }

  for (int64_t r = 0; r < rows; ++r) {
    float* out = t.out + (r / t.n_g) * t.tok_stride + (r % t.n_g) * D;
    const __m512 lv = _mm512_set1_ps(_mm512_reduce_add_ps(_mm512_loadu_ps(b.l + r * 16)));
    for (int64_t d = 0; d < D; d += 16) {
      const __m512 o = _mm512_div_ps(_mm512_loadu_ps(b.o + r * b.dp + d), lv);
      if (D - d >= 16) _mm512_storeu_ps(out + d, o);
      else Vec::store_part(out + d, o, D - d);
    }
  }
}

}  // namespace smolvlm::kernels::avx512
