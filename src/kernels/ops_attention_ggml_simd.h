// The SIMD attention row in ggml's float order (GgmlAttnRow, ops_internal.h; the scalar reference
// is attention_ggml_row in ops_scalar.cpp), written once over the vector traits S (N = 8 or 16
// lanes) and instantiated per ISA. Every sum is formed in the reference's order, so all ISAs give
// the same bits:
//  * score j: 64 lanes of fused products over head_dim (64 / N vectors), lanes l, l+16, l+32,
//    l+48 added as (l + l+32) + (l+16 + l+48), then S::tree16 across the 16 lanes (an fp16 cache
//    in a batch: 16 lanes of fused products, as tinyBLAS);
//  * softmax: ggml_exp of (score - max) in groups of 16 keys from key 0, each group's tree16 sum
//    added in double; probabilities scaled by (float)(1 / sum) (and rounded to fp16 for an fp16
//    cache);
//  * values: 16 (a batch) or 64 (one token) accumulator rows over head_dim, key j into row j % 16
//    or j % 64 with one fma per key, then the rows reduced in the same trees, lane-wise over
//    head_dim.
#pragma once

#include <cstdint>

#include "kernels/ops_internal.h"
#include "kernels/ops_simd.h"

namespace smolvlm::kernels::simd {

template <class T>
constexpr bool T_is_f16() {
  return sizeof(T) == 2;
}

// (0, 1, 2, ...) as floats.
template <class S>
inline typename S::F lane_index() {
  alignas(64) float idx[S::N];
  for (int i = 0; i < S::N; ++i) idx[i] = float(i);
  return S::load(idx);
}

// One token (ggml_vec_dot_f32 over the keys): 64 accumulator rows over head_dim, key j into row
// j % 64, the four rows l, l+16, l+32, l+48 added as (l + l+32) + (l+16 + l+48), then the 16
// rows reduced as S::tree16 reduces lanes, lane-wise over head_dim.
template <class S, class T>
void value_sums_one_token(const detail::GgmlAttnRow& r, const uint8_t* vb) {
  using F = typename S::F;
  const int64_t D = r.head_dim, n = r.n_vis, Dp = detail::attn_pad_dim(D);
  // A row's first key starts it from zero (no zero fill); rows no key reached read as zero.
  for (int64_t j = 0; j < n; ++j) {
    const T* vj = reinterpret_cast<const T*>(vb + size_t(j) * r.kv_stride);
    float* a = r.acc + (j % 64) * Dp;
    const F p = S::set1(r.scores[j]);
    const bool first = j < 64;
    chunks<S>(
        D, [&](int64_t d) { S::store(a + d, S::fmadd(p, S::ld(vj + d), first ? S::zero() : S::load(a + d))); },
        [&](int64_t d, int64_t k) {
          S::store_part(a + d, S::fmadd(p, S::ld_part(vj + d, k), first ? S::zero() : S::load_part(a + d, k, 0.0f)), k);
        });
  }
  auto reduce = [&](int64_t d, auto load, auto store) {
    auto row = [&](int64_t l) { return l < n ? load(r.acc + l * Dp + d) : S::zero(); };
    F x[16];
    for (int l = 0; l < 16; ++l) x[l] = S::add(S::add(row(l), row(l + 32)), S::add(row(l + 16), row(l + 48)));
    for (int l = 0; l < 8; ++l) x[l] = S::add(x[l + 8], x[l]);
    for (int l = 0; l < 4; ++l) x[l] = S::add(x[l + 4], x[l]);
    store(S::add(S::add(x[0], x[2]), S::add(x[1], x[3])));
  };
  chunks<S>(
      D, [&](int64_t d) { reduce(d, [](const float* p) { return S::load(p); }, [&](F y) { S::store(r.out + d, y); }); },
      [&](int64_t d, int64_t k) {
        reduce(d, [&](const float* p) { return S::load_part(p, k, 0.0f); }, [&](F y) { S::store_part(r.out + d, y, k); });
      });
}

// A batch (tinyBLAS): key j into accumulator row j % 16, then the 16 rows reduced as S::tree16
// reduces lanes. Per vector of head_dim, the rows live in registers: 8 at a time (keys with
// j % 16 < 8, then the others), each taking its keys in order.
template <class S, class T>
void value_sums_batch(const detail::GgmlAttnRow& r, const uint8_t* vb) {
  using F = typename S::F;
  const int64_t D = r.head_dim, n = r.n_vis;
  auto one_vector = [&](int64_t d, auto ld_v, auto store) {
    F lo[8], acc[8];
    for (int half = 0; half < 2; ++half) {
      for (auto& a : acc) a = S::zero();
      auto key = [&](int64_t j, F& a) {
        a = S::fmadd(S::set1(r.scores[j]), ld_v(reinterpret_cast<const T*>(vb + size_t(j) * r.kv_stride) + d), a);
      };
      int64_t c = 0;
      for (; c + 16 <= n; c += 16)
        for (int l = 0; l < 8; ++l) key(c + 8 * half + l, acc[l]);
      for (int64_t l = 0; c + 8 * half + l < n && l < 8; ++l) key(c + 8 * half + l, acc[l]);
      if (half == 0)
        for (int l = 0; l < 8; ++l) lo[l] = acc[l];
    }
    for (int l = 0; l < 8; ++l) acc[l] = S::add(acc[l], lo[l]);  // rows l+8 and l
    for (int l = 0; l < 4; ++l) acc[l] = S::add(acc[l + 4], acc[l]);
    store(S::add(S::add(acc[0], acc[2]), S::add(acc[1], acc[3])));
  };
  chunks<S>(
      D, [&](int64_t d) { one_vector(d, [](const T* p) { return S::ld(p); }, [&](F y) { S::store(r.out + d, y); }); },
      [&](int64_t d, int64_t k) {
        one_vector(d, [&](const T* p) { return S::ld_part(p, k); }, [&](F y) { S::store_part(r.out + d, y, k); });
      });
}

template <class S, class T>
void attention_ggml_row_t(const detail::GgmlAttnRow& r) {
  using F = typename S::F;
  constexpr int N = S::N, V16 = 16 / N;
  const int64_t D = r.head_dim, n = r.n_vis, D64 = D / 64 * 64;
  const auto* kb = static_cast<const uint8_t*>(r.k);
  const auto* vb = static_cast<const uint8_t*>(r.v);
  auto row = [&](const uint8_t* base, int64_t j) { return reinterpret_cast<const T*>(base + size_t(j) * r.kv_stride); };
  const float ninf = -__builtin_inff();

  // scores, as ggml_vec_dot_f32(k_j, q); an fp16 cache takes q rounded to fp16 (ggml converts q
  // to K's vec_dot_type)
  float* q = r.acc;  // the accumulators are not in use yet
  chunks<S>(
      D, [&](int64_t d) { S::store(q + d, T_is_f16<T>() ? S::round_f16(S::load(r.q + d)) : S::load(r.q + d)); },
      [&](int64_t d, int64_t k) {
        const F x = S::load_part(r.q + d, k, 0.0f);
        S::store_part(q + d, T_is_f16<T>() ? S::round_f16(x) : x, k);
      });
  F qv[64 / N];  // head_dim 64 (every SmolVLM2 text model): q stays in registers
  for (int v = 0; v < 64 / N; ++v) qv[v] = D == 64 ? S::load(q + v * N) : S::zero();
  // An fp16 cache's batch: q's fp16 copy is contiguous, so ggml takes tinyBLAS for the scores.
  const bool tiny_blas = T_is_f16<T>() && !r.one_token && D % 16 == 0;
  F mxv = S::set1(ninf);
  const F scale = S::set1(r.scale);
  for (int64_t j0 = 0; j0 < n; j0 += S::kKeys) {
    float sums[16];
    S::tree16_keys(
        [&](int k, F* x) {
          const int64_t j = j0 + k;
          if (j >= n) {
            for (int v = 0; v < V16; ++v) x[v] = S::zero();
            return;
          }
          const T* kj = row(kb, j);
          if (tiny_blas) {  // 16 lanes along head_dim, one fma per element
            for (int v = 0; v < V16; ++v) x[v] = S::mul(S::ld(kj + v * N), S::load(q + v * N));
            for (int64_t d0 = 16; d0 < D; d0 += 16)
              for (int v = 0; v < V16; ++v) x[v] = S::fmadd(S::ld(kj + d0 + v * N), S::load(q + d0 + v * N), x[v]);
            return;
          }
          F a[64 / N];
          if (D == 64) {
            for (int v = 0; v < 64 / N; ++v) a[v] = S::mul(S::ld(kj + v * N), qv[v]);  // fma(k, q, 0) but for a zero's sign
          } else {
            for (int v = 0; v < 64 / N; ++v) a[v] = S::zero();
            for (int64_t d0 = 0; d0 < D64; d0 += 64)
              for (int v = 0; v < 64 / N; ++v) a[v] = S::fmadd(S::ld(kj + d0 + v * N), S::load(q + d0 + v * N), a[v]);
          }
          for (int v = 0; v < V16; ++v) x[v] = S::add(S::add(a[v], a[2 * V16 + v]), S::add(a[V16 + v], a[3 * V16 + v]));
        },
        sums);
    const int64_t cnt = n - j0 < S::kKeys ? n - j0 : S::kKeys;
    for (int64_t k = 0; !tiny_blas && D64 < D && k < cnt; ++k) {  // the rest of head_dim % 64, one by one
      const T* kj = row(kb, j0 + k);
      for (int64_t d = D64; d < D; ++d) sums[k] = __builtin_fmaf(S::hsum(S::ld_part(kj + d, 1)), q[d], sums[k]);
    }
    for (int64_t v = 0; v < cnt; v += N) {  // scores = dot * scale, in vectors (no store-to-load stalls)
      if (cnt - v >= N) {
        const F sc = S::mul(S::load(sums + v), scale);
        S::store(r.scores + j0 + v, sc);
        mxv = S::max(mxv, sc);
      } else {
        const F sc = S::mul(S::load_part(sums + v, cnt - v, 0.0f), scale);
        S::store_part(r.scores + j0 + v, sc, cnt - v);
        mxv = S::max(mxv, S::select(S::gt(S::set1(float(cnt - v)), lane_index<S>()), sc, S::set1(ninf)));
      }
    }
  }
  const float mx = S::hmax(mxv);

  // softmax in groups of 16 keys
  double sum = 0;
  const F m = S::set1(mx);
  for (int64_t c = 0; c < n; c += 16) {
    F e[V16];
    for (int v = 0; v < V16; ++v) {
      const int64_t j = c + v * N, left = n - j;
      if (left >= N) {
        e[v] = ggml_exp<S>(S::sub(S::load(r.scores + j), m));
        S::store(r.scores + j, e[v]);
      } else if (left > 0) {
        e[v] = ggml_exp<S>(S::sub(S::load_part(r.scores + j, left, ninf), m));  // exp(-inf) = 0
        S::store_part(r.scores + j, e[v], left);
      } else {
        e[v] = S::zero();
      }
    }
    sum += double(S::tree16(e));
  }
  // probabilities; an fp16 cache takes them rounded to fp16 (ggml converts kq to V's vec_dot_type)
  const F inv = S::set1(float(1.0 / sum));
  auto prob = [&](F e) {
    const F p = S::mul(e, inv);
    return T_is_f16<T>() ? S::round_f16(p) : p;
  };
  chunks<S>(
      n, [&](int64_t j) { S::store(r.scores + j, prob(S::load(r.scores + j))); },
      [&](int64_t j, int64_t k) { S::store_part(r.scores + j, prob(S::load_part(r.scores + j, k, 0.0f)), k); });

  if (r.one_token) {
    value_sums_one_token<S, T>(r, vb);
  } else {
    value_sums_batch<S, T>(r, vb);
  }
}
template <class S>
void attention_ggml_row(const detail::GgmlAttnRow& r) {
  if (r.f16) return attention_ggml_row_t<S, uint16_t>(r);
  attention_ggml_row_t<S, float>(r);
}

}  // namespace smolvlm::kernels::simd
