// The SIMD decode attention kernel (AttnSplit in ops_internal.h): one query token's heads against
// one chunk of the cache, written once over the vector traits S and instantiated per ISA next to
// ops_attention_simd.h. The chunk is read front to back, every KV head of a row together:
//  * scores, kKeys keys at a time: each key row loaded (fp16 converted) into registers once and
//    multiplied by every query head of its KV head; each head's kKeys sums are then added across
//    their lanes by one transposing network (S::tree16_keys), so no key waits on its own
//    horizontal sum (head widths other than 64 and 128: the rows as floats, head by head);
//  * each head's softmax over the chunk (online_softmax from a fresh state: max, exp, sum);
//  * the value sums, kValueRows rows at a time, of up to 4 heads of a KV head at once in column
//    blocks that keep every accumulator in a register: a value row is read once per 4 heads.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/ops_attention_simd.h"
#include "kernels/ops_internal.h"

namespace smolvlm::kernels::simd {

// Key j's products with q summed into 16 / N vectors (the 16 lanes tree16_keys adds across), for
// any head width: the last vector may be partial (q is zero-padded). Widths 64 and 128 take the
// unrolled path in split_scores instead.
template <class S, class T>
inline void key_dot(const float* q, const T* kj, int64_t D, typename S::F* a) {
  typename S::F acc0, acc1;
  dot_parts<S>(q, kj, D, acc0, acc1);
  if constexpr (16 / S::N == 2) {
    a[0] = acc0, a[1] = acc1;
  } else {
    a[0] = S::add(acc0, acc1);
  }
}

// s[0 .. kKeys) = q . k_j for the cnt keys at k + j * stride, j < cnt (the rest: 0).
template <class S, class T>
inline void scores_block(const float* q, const T* k, int64_t stride, int64_t cnt, int64_t D, float* s) {
  using F = typename S::F;
  if (cnt == S::kKeys) {
    S::tree16_keys([&](int j, F* a) { key_dot<S>(q, k + j * stride, D, a); }, s);
    return;
  }
  S::tree16_keys(
      [&](int j, F* a) {
        if (j < cnt) return key_dot<S>(q, k + j * stride, D, a);
        for (int i = 0; i < 16 / S::N; ++i) a[i] = S::zero();
      },
      s);
}

// No software prefetch of the cache rows along the way: the chunk is read front to back, and on
// Zen 4 the hardware prefetcher alone is faster than rows asked for a few keys ahead (256M Q8_0
// decode at a depth of 4096, interleaved: +4-9% in 3 of 3 pairs on AVX-512, 2 of 3 with AVX2
// forced; at 8192 48.3-48.8 -> 51.5-51.8 t/s). The whole chunk is asked for once, up front
// (prefetch_chunk below).

// Every line of the chunk's K and V rows (all KV heads) asked for into L2 before its scores: decode
// streams ~140 MB of weights between two visits of a layer's cache, so the chunk comes from memory,
// and a burst of independent requests overlaps their latencies where the scores' front-to-back
// reads would wait on them one stream at a time. At most 256 KB (the hardware prefetcher keeps up
// with a longer chunk). 256M Q8_0 decode, AVX-512, 11 interleaved pairs at depths 64 to 4096: faster
// in 20 of 28 comparisons, by 2-5% on average (single pairs swing +-15% on this VM); tg128 from an
// empty cache unchanged within the noise.
template <class T>
inline void prefetch_chunk(const detail::AttnSplit& a, const T* k, const T* v, int64_t stride) {
  const auto* kb = reinterpret_cast<const char*>(k);
  const auto* vb = reinterpret_cast<const char*>(v);
  const int64_t row = a.n_kv_heads * a.head_dim * int64_t(sizeof(T)), step = stride * int64_t(sizeof(T));
  const int64_t n = a.n < (int64_t(256) << 10) / (2 * row) ? a.n : (int64_t(256) << 10) / (2 * row);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t o = 0; o < row; o += 64) {
      _mm_prefetch(kb + j * step + o, _MM_HINT_T1);
      _mm_prefetch(vb + j * step + o, _MM_HINT_T1);
    }
}

// s[h][j] = (q_h . k_j) * scale for every head and the chunk's keys, kKeys rows of the cache at a
// time (all KV heads of a row before the next rows: the chunk is read front to back). kf: the
// heads' partial sums ([head of the KV head][key] vectors), or for the general width the kKeys
// rows as floats (an fp16 cache converted once for all the heads sharing it).
template <class S, int DV, class T>
void split_scores(const detail::AttnSplit& a, const T* k, int64_t stride, const float* q, float* s, float* kf) {
  using F = typename S::F;
  const int64_t D = a.head_dim, dp = detail::attn_pad_dim(D), sp = detail::attn_pad_block(a.n);
  const int64_t rep = a.n_heads / a.n_kv_heads;
  for (int64_t j0 = 0; j0 < a.n; j0 += S::kKeys) {
    const int64_t cnt = a.n - j0 < S::kKeys ? a.n - j0 : S::kKeys;
    for (int64_t g = 0; g < a.n_kv_heads; ++g) {
      const T* kb = k + j0 * stride + g * D;  // key j0 of KV head g
      if constexpr (DV > 0) {
        // Each key row converted into registers once; every head's products with it summed into
        // one vector (kf: [head][key] vectors), added across by the network after kKeys keys.
        for (int64_t j = 0; j < cnt; ++j) {
          F kr[DV];
          for (int i = 0; i < DV; ++i) kr[i] = S::ld(kb + j * stride + i * S::N);
          for (int64_t h = g * rep; h < (g + 1) * rep; ++h) {
            const float* qh = q + h * dp;
            F acc0 = S::mul(S::load(qh), kr[0]), acc1 = DV > 1 ? S::mul(S::load(qh + S::N), kr[1]) : S::zero();
            for (int i = 2; i < DV; i += 2) {
              acc0 = S::fmadd(S::load(qh + i * S::N), kr[i], acc0);
              if (i + 1 < DV) acc1 = S::fmadd(S::load(qh + (i + 1) * S::N), kr[i + 1], acc1);
            }
            S::store(kf + ((h - g * rep) * S::kKeys + j) * S::N, S::add(acc0, acc1));
          }
        }
        for (int64_t h = g * rep; h < (g + 1) * rep; ++h) {
          const float* part = kf + (h - g * rep) * S::kKeys * S::N;
          S::tree16_keys(
              [&](int j, F* x) {
                x[0] = j < cnt ? S::load(part + j * S::N) : S::zero();
                if constexpr (16 / S::N == 2) x[1] = S::zero();
              },
              s + h * sp + j0);
        }
      } else if constexpr (sizeof(T) == 2) {
        for (int64_t j = 0; j < cnt; ++j) {
          int64_t d = 0;
          for (; d + S::N <= D; d += S::N) S::store(kf + j * dp + d, S::ld(kb + j * stride + d));
          if (d < D) S::store(kf + j * dp + d, S::ld_part(kb + j * stride + d, D - d));
        }
        for (int64_t h = g * rep; h < (g + 1) * rep; ++h) scores_block<S>(q + h * dp, kf, dp, cnt, D, s + h * sp + j0);
      } else {
        for (int64_t h = g * rep; h < (g + 1) * rep; ++h) scores_block<S>(q + h * dp, kb, stride, cnt, D, s + h * sp + j0);
      }
    }
  }
  const F sc = S::set1(a.scale);
  for (int64_t h = 0; h < a.n_heads; ++h)
    for (int64_t j = 0; j < a.n; j += S::N) S::store(s + h * sp + j, S::mul(S::load(s + h * sp + j), sc));
}

// o[r][0 .. C*N) (+)= sum_{j < n} p[r][j] v_j for R heads, C vectors of the value rows at v (the
// last one n_last lanes wide; o is padded, so it is stored whole); `first`: o starts at 0. The
// sums run in a fixed order (even keys, odd keys, then the two added), whatever the threads.
template <class S, int R, int C, bool kFull, class T>
inline void values_block(float* const* o, const float* const* p, const T* v, int64_t stride, int64_t n, int64_t n_last,
                         bool first) {
  using F = typename S::F;
  // Two accumulator sets (even and odd keys) where the registers allow: twice the independent
  // fma chains, so the adds of one key do not wait on the previous key's.
  constexpr int U = 2 * R * C + C + 1 <= (S::N == 16 ? 32 : 16) ? 2 : 1;
  F acc[U][R][C];
  for (int u = 0; u < U; ++u)
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) acc[u][r][c] = first || u > 0 ? S::zero() : S::load(o[r] + c * S::N);
  const auto step = [&](int u, int64_t j) {
    const T* vj = v + j * stride;
    F x[C];
    for (int c = 0; c < C; ++c) x[c] = kFull || c + 1 < C ? S::ld(vj + c * S::N) : S::ld_part(vj + c * S::N, n_last);
    for (int r = 0; r < R; ++r) {
      const F pj = S::set1(p[r][j]);
      for (int c = 0; c < C; ++c) acc[u][r][c] = S::fmadd(pj, x[c], acc[u][r][c]);
    }
  };
  int64_t j = 0;
  if (U == 2)
    for (; j + 2 <= n; j += 2) step(0, j), step(U - 1, j + 1);
  for (; j < n; ++j) step(0, j);
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) S::store(o[r] + c * S::N, U == 2 ? S::add(acc[0][r][c], acc[U - 1][r][c]) : acc[0][r][c]);
}

// The value sums of R heads over all D columns for n rows of the cache.
template <class S, int R, class T>
void values_heads(float* const* o, const float* const* p, const T* v, int64_t stride, int64_t n, int64_t D, bool first) {
  // Accumulators R x C within half the register file (16 ymm, 32 zmm), at most 4 vectors wide.
  constexpr int kBudget = S::N == 16 ? 16 : 8;
  constexpr int C = kBudget / R < 1 ? 1 : (kBudget / R > 4 ? 4 : kBudget / R);
  float* od[R];
  int64_t d = 0;
  for (; d + C * S::N <= D; d += C * S::N) {
    for (int r = 0; r < R; ++r) od[r] = o[r] + d;
    values_block<S, R, C, true>(od, p, v + d, stride, n, S::N, first);
  }
  // kFull keeps the width test out of the key loop: with it inside (a run-time n_last), GCC kept a
  // copy of every accumulator on the stack, stored each key (AVX-512, depth 4096: 122-136 -> 95-99
  // us a layer).
  for (; d < D; d += S::N) {
    for (int r = 0; r < R; ++r) od[r] = o[r] + d;
    if (D - d >= S::N) values_block<S, R, 1, true>(od, p, v + d, stride, n, S::N, first);
    else values_block<S, R, 1, false>(od, p, v + d, stride, n, D - d, first);
  }
}

// Keys per block of the value sums: their rows (all KV heads) stay in L1 while every head reads
// them, and the chunk is read front to back.
constexpr int64_t kValueRows = 32;

// o[h] = sum_j p[h][j] v_j for every head.
template <class S, class T>
void split_values(const detail::AttnSplit& a, const T* v, int64_t stride, const float* s) {
  const int64_t D = a.head_dim, dp = detail::attn_pad_dim(D), sp = detail::attn_pad_block(a.n);
  const int64_t rep = a.n_heads / a.n_kv_heads;
  for (int64_t j0 = 0; j0 < a.n; j0 += kValueRows) {
    const int64_t cnt = a.n - j0 < kValueRows ? a.n - j0 : kValueRows;
    for (int64_t g = 0; g < a.n_kv_heads; ++g) {
      for (int64_t h0 = g * rep; h0 < (g + 1) * rep; h0 += 4) {
        const int R = (g + 1) * rep - h0 < 4 ? int((g + 1) * rep - h0) : 4;
        float* o[4];
        const float* p[4];
        for (int r = 0; r < R; ++r) o[r] = a.o + (h0 + r) * dp, p[r] = s + (h0 + r) * sp + j0;
        const T* vb = v + j0 * stride + g * D;
        switch (R) {
          case 1: values_heads<S, 1>(o, p, vb, stride, cnt, D, j0 == 0); break;
          case 2: values_heads<S, 2>(o, p, vb, stride, cnt, D, j0 == 0); break;
          case 3: values_heads<S, 3>(o, p, vb, stride, cnt, D, j0 == 0); break;
          default: values_heads<S, 4>(o, p, vb, stride, cnt, D, j0 == 0); break;
        }
      }
    }
  }
}

template <class S, int DV, class T>
void attention_split_run(const detail::AttnSplit& a, const T* k, const T* v, int64_t stride) {
  const int64_t dp = detail::attn_pad_dim(a.head_dim), sp = detail::attn_pad_block(a.n);
  const float* q = a.scratch;             // [n_heads][dp]
  float* s = a.scratch + a.n_heads * dp;  // [n_heads][sp]
  float* kf = s + a.n_heads * sp;         // [kKeys][dp]
  prefetch_chunk(a, k, v, stride);
  split_scores<S, DV>(a, k, stride, q, s, kf);
  for (int64_t h = 0; h < a.n_heads; ++h) {
    a.m[h] = -__builtin_inff();
    a.l[h] = 0.0f;
    online_softmax<S>(s + h * sp, a.n, a.n, a.m[h], a.l[h]);  // s: the p_j
  }
  split_values<S>(a, v, stride, s);
}

template <class S>
void attention_split(const detail::AttnSplit& a) {
  const int64_t D = a.head_dim, dp = detail::attn_pad_dim(D);
  // Contiguous copies of the heads' queries, rounded to fp16 for an fp16 cache (like ggml),
  // zero-padded to dp.
  for (int64_t h = 0; h < a.n_heads; ++h) {
    const float* src = a.q + h * D;
    float* dst = a.scratch + h * dp;
    for (int64_t d = 0; d < dp; d += S::N) {
      const int64_t n = D - d;
      const auto x = n >= S::N ? S::load(src + d) : n > 0 ? S::load_part(src + d, n, 0.0f) : S::zero();
      S::store(dst + d, a.f16 ? S::round_f16(x) : x);
    }
  }
  // head_dim 64 (every SmolVLM2 size) and 128 unrolled; any other width through the general loop.
  const auto run = [&]<class T>(const T* k, const T* v, int64_t stride) {
    if (D == 64) return attention_split_run<S, 64 / S::N>(a, k, v, stride);
    if (D == 128) return attention_split_run<S, 128 / S::N>(a, k, v, stride);
    attention_split_run<S, 0>(a, k, v, stride);
  };
  if (a.f16) {
    run(static_cast<const uint16_t*>(a.k), static_cast<const uint16_t*>(a.v), static_cast<int64_t>(a.kv_stride / 2));
  } else {
    run(static_cast<const float*>(a.k), static_cast<const float*>(a.v), static_cast<int64_t>(a.kv_stride / 4));
  }
}

}  // namespace smolvlm::kernels::simd
