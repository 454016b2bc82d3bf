// The SIMD attention tile kernel (see AttnTile in ops_internal.h and the numerics notes in
// attention.cpp), written once over the vector traits S and instantiated per ISA next to
// ops_simd.h. Per key block, for every row of the tile: scores q.k * scale, the online-softmax
// step (running max m and sum l; the accumulator is rescaled by exp(m_old - m_new)), and the
// accumulation of p_j * v_j.
//
// Two paths with the same arithmetic per row:
//  * few rows (a few query tokens; one token takes ops_attention_split_simd.h): per-row dot
//    products straight from the cache (fp16 converted in the loop), then p_j * v_j straight from
//    the cache;
//  * many rows (prefill, vision): the K block is transposed into floats once (8x8 register
//    transposes), so the scores of 6 (or 4) rows x 2 vectors of keys come out of broadcast-FMA
//    register tiles; the V block is copied as floats and the value sums run as 6 (or 4) rows x up
//    to 4 vectors of head_dim register tiles.
#pragma once

#include <cstdint>

#include "kernels/ops_internal.h"
#include "kernels/ops_simd.h"

namespace smolvlm::kernels::simd {

// The per-tile buffers, carved out of AttnTile::scratch (layout: attn_scratch_floats).
struct AttnBuffers {
  int64_t dp, sp;  // padded head_dim and key-block widths
  float *q, *o, *s, *m, *l, *kt, *v;
};

inline AttnBuffers carve(const detail::AttnTile& t) {
  AttnBuffers b;
  const int64_t rows = t.n_tok * t.n_g;
  b.dp = detail::attn_pad_dim(t.head_dim);
  b.sp = detail::attn_pad_block(t.kv_block);
  b.q = t.scratch;
  b.o = b.q + rows * b.dp;
  b.s = b.o + rows * b.dp;
  b.m = b.s + rows * b.sp;
  b.l = b.m + (rows + 15) / 16 * 16;
  b.kt = b.l + (rows + 15) / 16 * 16;
  b.v = b.kt + t.head_dim * b.sp;
  return b;
}

// Softmax step of one row over its cnt scores in s (already scaled): s[j] becomes p_j for j < cnt
// and 0 for cnt <= j < zero_to; m and l are updated; returns the factor for the accumulator.
template <class S>
inline float online_softmax(float* s, int64_t cnt, int64_t zero_to, float& m, float& l) {
  using F = typename S::F;
  const float ninf = -__builtin_inff();
  for (int64_t j = cnt > 0 ? cnt : 0; j < zero_to; ++j) s[j] = 0.0f;
  if (cnt <= 0) return 1.0f;
  F mv = S::set1(m);
  chunks<S>(
      cnt, [&](int64_t j) { mv = S::max(mv, S::load(s + j)); },
      [&](int64_t j, int64_t n) { mv = S::max(mv, S::load_part(s + j, n, ninf)); });
  const float mx = S::hmax(mv);
  mv = S::set1(mx);
  F sum = S::zero();
  chunks<S>(
      cnt,
      [&](int64_t j) {
        const F e = exp<S>(S::sub(S::load(s + j), mv));
        sum = S::add(sum, e);
        S::store(s + j, e);
      },
      [&](int64_t j, int64_t n) {
        const F e = exp<S>(S::sub(S::load_part(s + j, n, ninf), mv));  // exp(-inf) = 0
        sum = S::add(sum, e);
        S::store_part(s + j, e, n);
      });
  float corr[S::N];
  S::store(corr, exp<S>(S::set1(m - mx)));  // 0 on the first block (m = -inf)
  l = l * corr[0] + S::hsum(sum);
  m = mx;
  return corr[0];
}

// ---- few rows: straight from the cache -----------------------------------------------------

// q . k for any width as two vectors of partial sums (two fma chains; a partial last vector goes to
// a1): dot() adds them up, the split path's key_dot keeps them for its transposing lane sum.
template <class S, class T>
inline void dot_parts(const float* q, const T* k, int64_t D, typename S::F& a0, typename S::F& a1) {
  a0 = S::zero(), a1 = S::zero();
  int64_t d = 0;
  for (; d + 2 * S::N <= D; d += 2 * S::N) {
    a0 = S::fmadd(S::load(q + d), S::ld(k + d), a0);
    a1 = S::fmadd(S::load(q + d + S::N), S::ld(k + d + S::N), a1);
  }
  if (d + S::N <= D) {
    a0 = S::fmadd(S::load(q + d), S::ld(k + d), a0);
    d += S::N;
  }
  if (d < D) a1 = S::fmadd(S::load_part(q + d, D - d, 0.0f), S::ld_part(k + d, D - d), a1);
}

template <class S, class T>
inline float dot(const float* q, const T* k, int64_t D) {
  typename S::F a0, a1;
  dot_parts<S>(q, k, D, a0, a1);
  return S::hsum(S::add(a0, a1));
}

// o[d0 .. d0 + C*N) = o * corr + sum_j p[j] * v_j over j < cnt, C vectors at a time: each key
// feeds C independent accumulators (a single one would wait on its own fma latency for every key).
// Every lane still sums its keys in order j = 0, 1, ..., so the result does not depend on C. The
// last vector may be partial (n_last lanes of it).
template <class S, int C, class T>
inline void accumulate_group(float* o, typename S::F c, const float* p, const T* v, int64_t v_stride, int64_t cnt,
                             int64_t n_last) {
  using F = typename S::F;
  F acc[C];
  for (int i = 0; i < C; ++i)
    acc[i] = S::mul(i + 1 < C || n_last == S::N ? S::load(o + i * S::N) : S::load_part(o + i * S::N, n_last, 0.0f), c);
  for (int64_t j = 0; j < cnt; ++j) {
    const F pj = S::set1(p[j]);
    const T* vj = v + j * v_stride;
    for (int i = 0; i < C; ++i)
      acc[i] = S::fmadd(pj, i + 1 < C || n_last == S::N ? S::ld(vj + i * S::N) : S::ld_part(vj + i * S::N, n_last), acc[i]);
  }
  for (int i = 0; i < C; ++i) {
    if (i + 1 < C || n_last == S::N) S::store(o + i * S::N, acc[i]);
    else S::store_part(o + i * S::N, acc[i], n_last);
  }
}

// o = o * corr + sum_j p[j] * v_j, j < cnt; v_j at v + j * v_stride elements.
template <class S, class T>
inline void accumulate(float* o, float corr, const float* p, const T* v, int64_t v_stride, int64_t cnt, int64_t D) {
  constexpr int kMax = S::N == 16 ? 4 : 8;  // 64 lanes of head_dim per pass
  const typename S::F c = S::set1(corr);
  int64_t d = 0;
  for (; d + kMax * S::N <= D; d += kMax * S::N) accumulate_group<S, kMax>(o + d, c, p, v + d, v_stride, cnt, S::N);
  while (d < D) {  // the rest, up to 4 / 2 / 1 vectors at a time (the last may be partial)
    const int64_t vecs = (D - d + S::N - 1) / S::N, n_last = D - d - (vecs - 1) * S::N;
    if (vecs >= 4 && kMax > 4) {
      accumulate_group<S, 4>(o + d, c, p, v + d, v_stride, cnt, vecs == 4 ? n_last : S::N);
      d += 4 * S::N;
    } else if (vecs >= 2) {
      accumulate_group<S, 2>(o + d, c, p, v + d, v_stride, cnt, vecs == 2 ? n_last : S::N);
      d += 2 * S::N;
    } else {
      accumulate_group<S, 1>(o + d, c, p, v + d, v_stride, cnt, n_last);
      d = D;
    }
  }
}

template <class S, class T>
void block_rows(const detail::AttnTile& t, const AttnBuffers& b, const T* k, const T* v, int64_t stride, int64_t j0,
                int64_t nb) {
  const int64_t D = t.head_dim, rows = t.n_tok * t.n_g;
  for (int64_t r = 0; r < rows; ++r) {
    int64_t cnt = t.visible(r / t.n_g) - j0;
    if (cnt <= 0) continue;
    if (cnt > nb) cnt = nb;
    float* s = b.s + r * b.sp;
    for (int64_t j = 0; j < cnt; ++j) s[j] = dot<S>(b.q + r * b.dp, k + j * stride, D) * t.scale;
    const float corr = online_softmax<S>(s, cnt, cnt, b.m[r], b.l[r]);
    accumulate<S>(b.o + r * b.dp, corr, s, v, stride, cnt, D);
  }
}

// ---- many rows: register tiles on float copies of the block --------------------------------

// Scores of rows r0..r0+R-1 for keys [0, n) (n a multiple of 2N): s = (q . kt) * scale.
template <class S, int R>
inline void scores_tile(const AttnBuffers& b, int64_t D, int64_t r0, int64_t n, float scale) {
  using F = typename S::F;
  const F sc = S::set1(scale);
  for (int64_t j = 0; j < n; j += 2 * S::N) {
    F acc[R][2];
    for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = S::zero();
    for (int64_t d = 0; d < D; ++d) {
      const F k0 = S::load(b.kt + d * b.sp + j), k1 = S::load(b.kt + d * b.sp + j + S::N);
      for (int r = 0; r < R; ++r) {
        const F qv = S::set1(b.q[(r0 + r) * b.dp + d]);
        acc[r][0] = S::fmadd(qv, k0, acc[r][0]);
        acc[r][1] = S::fmadd(qv, k1, acc[r][1]);
      }
    }
    for (int r = 0; r < R; ++r) {
      S::store(b.s + (r0 + r) * b.sp + j, S::mul(acc[r][0], sc));
      S::store(b.s + (r0 + r) * b.sp + j + S::N, S::mul(acc[r][1], sc));
    }
  }
}

// o[r] = o[r] * corr[r] + sum_{j < n} p[r][j] v_j for rows r0..r0+R-1, C vectors of head_dim at d0.
template <class S, int R, int C>
inline void values_tile(const AttnBuffers& b, int64_t r0, int64_t d0, int64_t n, const float* corr) {
  using F = typename S::F;
  F acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = S::mul(S::load(b.o + (r0 + r) * b.dp + d0 + c * S::N), S::set1(corr[r]));
  for (int64_t j = 0; j < n; ++j) {
    F v[C];
    for (int c = 0; c < C; ++c) v[c] = S::load(b.v + j * b.dp + d0 + c * S::N);
    for (int r = 0; r < R; ++r) {
      const F p = S::set1(b.s[(r0 + r) * b.sp + j]);
      for (int c = 0; c < C; ++c) acc[r][c] = S::fmadd(p, v[c], acc[r][c]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) S::store(b.o + (r0 + r) * b.dp + d0 + c * S::N, acc[r][c]);
}

// Rows r0..r0+R-1 of one block after their scores (cnt[r] keys visible, n_max the most): the
// softmax step and the value sums.
template <class S, int R>
void softmax_values(const AttnBuffers& b, int64_t r0, const int64_t* cnt, int64_t n_max) {
  constexpr int kC = S::N == 16 ? 4 : 2;  // value vectors per register tile (32 vs 16 registers)
  float corr[R];
  for (int r = 0; r < R; ++r) corr[r] = online_softmax<S>(b.s + (r0 + r) * b.sp, cnt[r], n_max, b.m[r0 + r], b.l[r0 + r]);
  int64_t d0 = 0;
  for (; d0 + kC * S::N <= b.dp; d0 += kC * S::N) values_tile<S, R, kC>(b, r0, d0, n_max, corr);
  for (; d0 < b.dp; d0 += S::N) values_tile<S, R, 1>(b, r0, d0, n_max, corr);
}

// Rows r0..r0+R-1 through one block: scores, softmax step, value sums.
template <class S, int R>
void block_group(const detail::AttnTile& t, const AttnBuffers& b, int64_t r0, int64_t j0, int64_t nb) {
  int64_t cnt[R];
  const int64_t n_max = t.template visible_in_block<R>(r0, j0, nb, cnt);
  if (n_max == 0) return;
  scores_tile<S, R>(b, t.head_dim, r0, (n_max + 2 * S::N - 1) / (2 * S::N) * (2 * S::N), t.scale);
  softmax_values<S, R>(b, r0, cnt, n_max);
}

// Float copies of values [j0, j0 + nb) (D wide) into v[j][d], zero-padded to dp.
template <class S, class T>
void stage_values(const AttnBuffers& b, const T* v, int64_t stride, int64_t nb, int64_t D) {
  for (int64_t j = 0; j < nb; ++j) {
    float* dst = b.v + j * b.dp;
    for (int64_t d = 0; d < b.dp; d += S::N) {
      const int64_t n = D - d;
      S::store(dst + d, n >= S::N ? S::ld(v + j * stride + d) : n > 0 ? S::ld_part(v + j * stride + d, n) : S::zero());
    }
  }
}

// Float copies of keys [j0, j0 + nb): K transposed into kt[d][j], V into v[j][d]; padding zeroed.
template <class S, class T>
void stage_block(const detail::AttnTile& t, const AttnBuffers& b, const T* k, const T* v, int64_t stride, int64_t nb) {
  const int64_t D = t.head_dim, nb8 = nb / 8 * 8, d8 = D / 8 * 8;
  for (int64_t j = 0; j < nb8; j += 8)
    for (int64_t d = 0; d < d8; d += 8) S::transpose8(k + j * stride + d, stride, b.kt + d * b.sp + j, b.sp);
  // Edges: the last nb % 8 keys and the last D % 8 dimensions, one element at a time.
  float* row = b.v;  // a K row passes through the first V row slot before V is copied
  for (int64_t j = 0; j < nb; ++j) {
    const int64_t d_from = j < nb8 ? d8 : 0;
    if (d_from == D) continue;
    chunks<S>(
        D, [&](int64_t d) { S::store(row + d, S::ld(k + j * stride + d)); },
        [&](int64_t d, int64_t n) { S::store_part(row + d, S::ld_part(k + j * stride + d, n), n); });
    for (int64_t d = d_from; d < D; ++d) b.kt[d * b.sp + j] = row[d];
  }
  const int64_t n_pad = (nb + 2 * S::N - 1) / (2 * S::N) * (2 * S::N);
  for (int64_t d = 0; d < D; ++d)
    for (int64_t j = nb; j < n_pad; ++j) b.kt[d * b.sp + j] = 0.0f;
  stage_values<S>(b, v, stride, nb, D);
}

// out = o / l for every row of the tile.
template <class S>
void write_out(const detail::AttnQueries& t, const AttnBuffers& b) {
  const int64_t D = t.head_dim, rows = t.n_tok * t.n_g;
  for (int64_t r = 0; r < rows; ++r) {
    float* out = t.out + (r / t.n_g) * t.tok_stride + (r % t.n_g) * D;
    const auto lv = S::set1(b.l[r]);
    const float* o = b.o + r * b.dp;
    chunks<S>(
        D, [&](int64_t d) { S::store(out + d, S::div(S::load(o + d), lv)); },
        [&](int64_t d, int64_t n) { S::store_part(out + d, S::div(S::load_part(o + d, n, 0.0f), lv), n); });
  }
}

template <class S, class T>
void block_tiled(const detail::AttnTile& t, const AttnBuffers& b, const T* k, const T* v, int64_t stride, int64_t j0,
                 int64_t nb) {
  stage_block<S>(t, b, k, v, stride, nb);
  const int64_t rows = t.n_tok * t.n_g;
  int64_t r = 0;
  // Six rows per register tile (12 accumulators: slack over the 8 fma chains two pipes of
  // 4-cycle latency need), then four, then one.
  for (; r + 6 <= rows; r += 6) block_group<S, 6>(t, b, r, j0, nb);
  for (; r + 4 <= rows; r += 4) block_group<S, 4>(t, b, r, j0, nb);
  for (; r < rows; ++r) block_group<S, 1>(t, b, r, j0, nb);
}

template <class S>
void attention_tile(const detail::AttnTile& t) {
  const int64_t D = t.head_dim, rows = t.n_tok * t.n_g;
  const AttnBuffers b = carve(t);
  // Contiguous copies of the tile's query rows (rounded to fp16 for an fp16 cache, like ggml),
  // zero-padded to dp; zeroed accumulators.
  for (int64_t r = 0; r < rows; ++r) {
    const float* src = t.q + (r / t.n_g) * t.tok_stride + (r % t.n_g) * D;
    float* dst = b.q + r * b.dp;
    for (int64_t d = 0; d < b.dp; d += S::N) {
      const int64_t n = D - d;
      const auto v = n >= S::N ? S::load(src + d) : n > 0 ? S::load_part(src + d, n, 0.0f) : S::zero();
      S::store(dst + d, t.f16 ? S::round_f16(v) : v);
      S::store(b.o + r * b.dp + d, S::zero());
    }
    b.m[r] = -__builtin_inff();
    b.l[r] = 0.0f;
  }

  const bool tiled = rows >= 4;
  const int64_t n_vis = t.visible(t.n_tok - 1);
  for (int64_t j0 = 0; j0 < n_vis; j0 += t.kv_block) {
    const int64_t nb = n_vis - j0 < t.kv_block ? n_vis - j0 : t.kv_block;
    const uint8_t* k0 = static_cast<const uint8_t*>(t.k) + static_cast<size_t>(j0) * t.kv_stride;
    const uint8_t* v0 = static_cast<const uint8_t*>(t.v) + static_cast<size_t>(j0) * t.kv_stride;
    if (t.f16) {
      const auto* k = reinterpret_cast<const uint16_t*>(k0);
      const auto* v = reinterpret_cast<const uint16_t*>(v0);
      const int64_t stride = static_cast<int64_t>(t.kv_stride / 2);
      tiled ? block_tiled<S>(t, b, k, v, stride, j0, nb) : block_rows<S>(t, b, k, v, stride, j0, nb);
    } else {
      const auto* k = reinterpret_cast<const float*>(k0);
      const auto* v = reinterpret_cast<const float*>(v0);
      const int64_t stride = static_cast<int64_t>(t.kv_stride / 4);
      tiled ? block_tiled<S>(t, b, k, v, stride, j0, nb) : block_rows<S>(t, b, k, v, stride, j0, nb);
    }
  }

  write_out<S>(t, b);
}

}  // namespace smolvlm::kernels::simd
