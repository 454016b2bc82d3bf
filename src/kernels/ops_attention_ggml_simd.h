// The SIMD attention row in ggml's float order (GgmlAttnRow, ops_internal.h; the scalar reference
// is attention_ggml_row in ops_scalar.cpp), written once over the vector traits S (N = 8 or 16
// lanes) and instantiated per ISA. Every sum is formed in the reference's order, so all ISAs give
// the same bits:
//  * score j: 64 lanes of fused products over head_dim (64 / N vectors), lanes l, l+16, l+32,
//    l+48 added as (l + l+32) + (l+16 + l+48), then S::tree16 across the 16 lanes;
//  * softmax: ggml_exp of (score - max) in groups of 16 keys from key 0, each group's tree16 sum
//    added in double; probabilities scaled by (float)(1 / sum);
//  * values: 16 (a batch) or 64 (one token) accumulator rows over head_dim, key j into row j % 16
//    or j % 64 with one fma per key, then the rows reduced in the same trees, lane-wise over
//    head_dim.
#pragma once

#include <cstdint>
#include <cstring>

#include "kernels/ops_internal.h"
#include "kernels/ops_simd.h"

namespace smolvlm::kernels::simd {

template <class T>
constexpr bool T_is_f16() {
  return sizeof(T) == 2;
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
  for (int64_t j = 0; j < n; ++j) {
    const T* kj = row(kb, j);
    F a[64 / N];
    for (int v = 0; v < 64 / N; ++v) a[v] = S::zero();
    for (int64_t d0 = 0; d0 < D64; d0 += 64)
      for (int v = 0; v < 64 / N; ++v) a[v] = S::fmadd(S::ld(kj + d0 + v * N), S::load(q + d0 + v * N), a[v]);
    F x[V16];
    for (int v = 0; v < V16; ++v) x[v] = S::add(S::add(a[v], a[2 * V16 + v]), S::add(a[V16 + v], a[3 * V16 + v]));
    float dot = S::tree16(x);
    for (int64_t d = D64; d < D; ++d) dot = __builtin_fmaf(S::hsum(S::ld_part(kj + d, 1)), q[d], dot);  // 0s + k
    r.scores[j] = dot * r.scale;
  }
  float mx = ninf;
  for (int64_t j = 0; j < n; ++j) mx = r.scores[j] > mx ? r.scores[j] : mx;

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
  const F inv = S::set1(float(1.0 / sum));
  chunks<S>(
      n, [&](int64_t j) { S::store(r.scores + j, S::mul(S::load(r.scores + j), inv)); },
      [&](int64_t j, int64_t k) { S::store_part(r.scores + j, S::mul(S::load_part(r.scores + j, k, 0.0f), inv), k); });

  // value sums: accumulator row j % rows, lane-wise over head_dim (rows padded to Dp floats)
  const int rows = r.one_token ? 64 : 16;
  const int64_t Dp = detail::attn_pad_dim(D);
  std::memset(r.acc, 0, sizeof(float) * size_t(rows * Dp));
  for (int64_t j = 0; j < n; ++j) {
    const T* vj = row(vb, j);
    float* a = r.acc + (j % rows) * Dp;
    const F p = S::set1(r.scores[j]);
    chunks<S>(
        D, [&](int64_t d) { S::store(a + d, S::fmadd(p, S::ld(vj + d), S::load(a + d))); },
        [&](int64_t d, int64_t k) { S::store_part(a + d, S::fmadd(p, S::ld_part(vj + d, k), S::load_part(a + d, k, 0.0f)), k); });
  }
  auto reduce = [&](int64_t d, auto load, auto store) {
    F x[16];
    for (int l = 0; l < 16; ++l) {
      const float* a = r.acc + l * Dp + d;
      x[l] = r.one_token ? S::add(S::add(load(a), load(a + 32 * Dp)), S::add(load(a + 16 * Dp), load(a + 48 * Dp)))
                         : load(a);
    }
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

template <class S>
void attention_ggml_row(const detail::GgmlAttnRow& r) {
  if (r.f16) return attention_ggml_row_t<S, uint16_t>(r);
  attention_ggml_row_t<S, float>(r);
}

}  // namespace smolvlm::kernels::simd
