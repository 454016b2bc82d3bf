// The SIMD versions of the element-wise, normalization and RoPE ops, written once over a vector
// traits type S (ops_vec_avx2.h: 8 lanes, ops_vec_avx512.h: 16 lanes) and instantiated by
// avx2/ops_avx2.cpp and avx512/ops_avx512.cpp. Tails use masked loads and stores, so every
// element goes through the same vector arithmetic.
//
// Numerics against the scalar reference (ops_scalar.cpp):
//  * rms_norm / layer_norm: the same float operations in the same order (the ISA files build
//    with -ffp-contract=off: only the fmas written out are fused). The double-precision sums of
//    the norms run in vector lanes (another order), which almost never changes the float mean.
//  * rope_rows, silu_mul: ggml's float operations (its fused RoPE expressions; ggml_exp, its
//    vector exp), bit-identical to the reference and to ggml.
//  * add, f32<->f16: bit-identical. scale_add uses a fused multiply-add.
//  * exp (softmax, gelu_tanh): a Cody-Waite range reduction and a degree-5 polynomial
//    (Cephes' expf coefficients), ~1 ulp; results below FLT_MIN flush to 0. gelu_tanh uses the
//    identity 0.5 x (1 + tanh(u)) = x / (1 + exp(-2u)), which has no cancellation for x << 0.
// Include only from an ISA's translation unit; the templates are instantiated with that ISA's
// traits, so their symbols never mix with another ISA's.
#pragma once

#include <cstdint>

namespace smolvlm::kernels::simd {

// Calls full(i) for every whole vector at i and tail(i, n) for a last partial one of n < N lanes.
template <class S, class Full, class Tail>
inline void chunks(int64_t n, Full full, Tail tail) {
  int64_t i = 0;
  for (; i + S::N <= n; i += S::N) full(i);
  if (i < n) tail(i, n - i);
}

// e^x for x whose result is normal (ln(FLT_MIN) <= x <= ln(FLT_MAX)), without range handling:
// n = round(x / ln2), the remainder's polynomial, scaled by 2^n.
template <class S>
inline typename S::F exp_in_range(typename S::F x) {
  using F = typename S::F;
  const F n = S::round(S::mul(x, S::set1(1.44269504088896341f)));
  F r = S::fnmadd(n, S::set1(0.693359375f), x);  // x - n ln2, ln2 split in two parts
  r = S::fnmadd(n, S::set1(-2.12194440e-4f), r);
  F p = S::set1(1.9875691500e-4f);
  p = S::fmadd(p, r, S::set1(1.3981999507e-3f));
  p = S::fmadd(p, r, S::set1(8.3334519073e-3f));
  p = S::fmadd(p, r, S::set1(4.1665795894e-2f));
  p = S::fmadd(p, r, S::set1(1.6666665459e-1f));
  p = S::fmadd(p, r, S::set1(5.0000001201e-1f));
  return S::ldexp(S::add(S::fmadd(p, S::mul(r, r), r), S::set1(1.0f)), n);
}

template <class S>
inline typename S::F exp(typename S::F x) {
  using F = typename S::F;
  const F lo = S::set1(-87.33654475f);  // ln(FLT_MIN): below, the result flushes to 0
  const F hi = S::set1(88.72283935f);   // ln(FLT_MAX): above, +inf
  F y = exp_in_range<S>(S::min(S::max(x, lo), hi));
  y = S::select(S::lt(x, lo), S::zero(), y);
  y = S::select(S::gt(x, hi), S::set1(__builtin_inff()), y);
  return S::select(S::unordered(x), x, y);
}

// ggml::expf (ggml_float.h) on a vector: the same operations, so every lane equals it bit for bit.
template <class S>
inline typename S::F ggml_exp(typename S::F x) {
  using F = typename S::F;
  const F r = S::set1(0x1.8p23f);
  const F n = S::sub(S::fmadd(x, S::set1(0x1.715476p+0f), r), r);
  const F b = S::fnmadd(n, S::set1(0x1.7f7d1cp-20f), S::fnmadd(n, S::set1(0x1.62e4p-1f), x));
  const F u = S::mul(b, b);
  const F j = S::fmadd(S::fmadd(S::fmadd(S::set1(0x1.0e4020p-7f), b, S::set1(0x1.573e2ep-5f)), u,
                                S::fmadd(S::set1(0x1.555e66p-3f), b, S::set1(0x1.fffdb6p-2f))),
                       u, S::fmadd(S::set1(0x1.ffffecp-1f), b, S::set1(1.0f)));
  const F res = S::scalef(j, n);
  const F big = S::set1(192.0f);
  const F alt = S::select(S::gt(n, S::zero()), S::set1(__builtin_inff()), S::zero());
  return S::select(S::gt(S::max(n, S::sub(S::zero(), n)), big), alt, res);
}

template <class S>
void exp_rows(const float* x, float* y, int64_t n) {
  chunks<S>(
      n, [&](int64_t i) { S::store(y + i, exp<S>(S::load(x + i))); },
      [&](int64_t i, int64_t k) { S::store_part(y + i, exp<S>(S::load_part(x + i, k, 0.0f)), k); });
}

template <class S>
void rms_norm(const float* x, const float* w, float eps, int64_t n_rows, int64_t dim, float* y) {
  using F = typename S::F;
  for (int64_t r = 0; r < n_rows; ++r, x += dim, y += dim) {
    auto acc = S::dzero();
    chunks<S>(
        dim, [&](int64_t i) { const F v = S::load(x + i); acc = S::dadd(acc, S::mul(v, v)); },
        [&](int64_t i, int64_t n) { const F v = S::load_part(x + i, n, 0.0f); acc = S::dadd(acc, S::mul(v, v)); });
    const float mean = static_cast<float>(S::dsum(acc) / static_cast<double>(dim));
    const F scale = S::set1(1.0f / __builtin_sqrtf(mean + eps));
    chunks<S>(
        dim, [&](int64_t i) { S::store(y + i, S::mul(S::mul(S::load(x + i), scale), S::load(w + i))); },
        [&](int64_t i, int64_t n) {
          S::store_part(y + i, S::mul(S::mul(S::load_part(x + i, n, 0.0f), scale), S::load_part(w + i, n, 0.0f)), n);
        });
  }
}

template <class S>
void layer_norm(const float* x, const float* w, const float* b, float eps, int64_t n_rows, int64_t dim, float* y) {
  using F = typename S::F;
  for (int64_t r = 0; r < n_rows; ++r, x += dim, y += dim) {
    auto acc = S::dzero();
    chunks<S>(
        dim, [&](int64_t i) { acc = S::dadd(acc, S::load(x + i)); },
        [&](int64_t i, int64_t n) { acc = S::dadd(acc, S::load_part(x + i, n, 0.0f)); });
    const float mean_f = static_cast<float>(S::dsum(acc) / static_cast<double>(dim));
    const F mean = S::set1(mean_f);
    auto sq = S::dzero();
    auto centre = [&](int64_t i, F v) {
      const F d = S::sub(v, mean);
      sq = S::dadd(sq, S::mul(d, d));
      return d;
    };
    chunks<S>(
        dim, [&](int64_t i) { S::store(y + i, centre(i, S::load(x + i))); },
        // lanes past the end read `mean`, so they add 0 to the sum of squares
        [&](int64_t i, int64_t n) { S::store_part(y + i, centre(i, S::load_part(x + i, n, mean_f)), n); });
    const float var = static_cast<float>(S::dsum(sq) / static_cast<double>(dim));
    const F scale = S::set1(1.0f / __builtin_sqrtf(var + eps));
    auto affine = [&](F d, F wv, F bv) { return S::add(S::mul(S::mul(d, scale), wv), bv); };
    chunks<S>(
        dim, [&](int64_t i) { S::store(y + i, affine(S::load(y + i), S::load(w + i), S::load(b + i))); },
        [&](int64_t i, int64_t n) {
          const F v = affine(S::load_part(y + i, n, 0.0f), S::load_part(w + i, n, 0.0f), S::load_part(b + i, n, 0.0f));
          S::store_part(y + i, v, n);
        });
  }
}

template <class S>
void rope_rows(float* x, int64_t n_heads, int64_t head_dim, int64_t n_rot, const float* cos2, const float* sin2) {
  using F = typename S::F;
  // even lanes fma(x0, c, -(x1 s)), odd lanes fma(x0, s, x1 c): ggml's expressions as g++ fuses them
  auto rot = [](F v, F c, F s) {
    const F w = S::swap_pairs(v);
    return S::even_odd(S::fmadd(v, c, S::mul(w, s)), S::fmadd(w, s, S::mul(v, c)));
  };
  for (int64_t h = 0; h < n_heads; ++h, x += head_dim) {
    chunks<S>(
        n_rot, [&](int64_t i) { S::store(x + i, rot(S::load(x + i), S::load(cos2 + i), S::load(sin2 + i))); },
        [&](int64_t i, int64_t n) {  // n is even: pairs never straddle the tail
          const F v = rot(S::load_part(x + i, n, 0.0f), S::load_part(cos2 + i, n, 0.0f), S::load_part(sin2 + i, n, 0.0f));
          S::store_part(x + i, v, n);
        });
  }
}

template <class S>
void softmax(float* x, int64_t n) {
  using F = typename S::F;
  if (n <= 0) return;
  const float ninf = -__builtin_inff();
  F m = S::set1(ninf);
  chunks<S>(
      n, [&](int64_t i) { m = S::max(m, S::load(x + i)); },
      [&](int64_t i, int64_t k) { m = S::max(m, S::load_part(x + i, k, ninf)); });
  const F mx = S::set1(S::hmax(m));
  auto sum = S::dzero();
  chunks<S>(
      n,
      [&](int64_t i) {
        const F e = exp<S>(S::sub(S::load(x + i), mx));
        sum = S::dadd(sum, e);
        S::store(x + i, e);
      },
      [&](int64_t i, int64_t k) {
        const F e = exp<S>(S::sub(S::load_part(x + i, k, ninf), mx));  // exp(-inf) = 0
        sum = S::dadd(sum, e);
        S::store_part(x + i, e, k);
      });
  const F inv = S::set1(static_cast<float>(1.0 / S::dsum(sum)));
  chunks<S>(
      n, [&](int64_t i) { S::store(x + i, S::mul(S::load(x + i), inv)); },
      [&](int64_t i, int64_t k) { S::store_part(x + i, S::mul(S::load_part(x + i, k, 0.0f), inv), k); });
}

// Element-wise y = f(a, b) for the binary ops below.
template <class S, class Op>
inline void map2(const float* a, const float* b, float* y, int64_t n, Op op) {
  chunks<S>(
      n, [&](int64_t i) { S::store(y + i, op(S::load(a + i), S::load(b + i))); },
      [&](int64_t i, int64_t k) { S::store_part(y + i, op(S::load_part(a + i, k, 0.0f), S::load_part(b + i, k, 0.0f)), k); });
}

template <class S>
void silu_mul(const float* gate, const float* up, float* y, int64_t n) {
  using F = typename S::F;
  const F one = S::set1(1.0f);
  map2<S>(gate, up, y, n, [&](F g, F u) { return S::mul(S::div(g, S::add(one, ggml_exp<S>(S::sub(S::zero(), g)))), u); });
}

template <class S>
void gelu_tanh(float* x, int64_t n) {
  using F = typename S::F;
  const F one = S::set1(1.0f), k = S::set1(0.7978845608028654f), c = S::set1(0.044715f), m2 = S::set1(-2.0f);
  map2<S>(x, x, x, n, [&](F v, F) {
    const F u = S::mul(k, S::add(v, S::mul(S::mul(S::mul(c, v), v), v)));  // the scalar's operation order
    return S::div(v, S::add(one, exp<S>(S::mul(m2, u))));
  });
}

template <class S>
void add(float* y, const float* x, int64_t n) {
  map2<S>(y, x, y, n, [](typename S::F a, typename S::F b) { return S::add(a, b); });
}

template <class S>
void scale_add(float* y, const float* x, float s, int64_t n) {
  const auto sv = S::set1(s);
  map2<S>(y, x, y, n, [&](typename S::F a, typename S::F b) { return S::fmadd(sv, b, a); });
}

template <class S>
void f32_to_f16(const float* src, uint16_t* dst, int64_t n) {
  chunks<S>(
      n, [&](int64_t i) { S::store_f16(dst + i, S::load(src + i)); },
      [&](int64_t i, int64_t k) { S::store_f16_part(dst + i, S::load_part(src + i, k, 0.0f), k); });
}

template <class S>
void f16_to_f32(const uint16_t* src, float* dst, int64_t n) {
  chunks<S>(
      n, [&](int64_t i) { S::store(dst + i, S::load_f16(src + i)); },
      [&](int64_t i, int64_t k) { S::store_part(dst + i, S::load_f16_part(src + i, k), k); });
}

}  // namespace smolvlm::kernels::simd
