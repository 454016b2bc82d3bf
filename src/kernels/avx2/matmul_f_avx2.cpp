// AVX2 kernels for float weights (F32, F16, BF16) on ggml rows in place, through the blocked
// driver of matmul_float_gemm.h (the AVX2 twin of avx512/matmul_f_avx512.cpp; F16 widens with
// F16C): SumOrder::kGgml in the same 16 lanes and sums as the AVX-512 kernels and ggml, kFastest
// in 8 lanes. A row's last partial step goes through a zero-padded vector.
#include <immintrin.h>

#include <cstring>

#include "base/fp16.h"
#include "kernels/avx2/matmul_avx2.h"
#include "kernels/matmul_float_gemm.h"

namespace smolvlm::kernels::mm::avx2 {
namespace {

struct F32 {
  static constexpr size_t kSize = 4;
  static __m256 load(const uint8_t* p) { return _mm256_loadu_ps(reinterpret_cast<const float*>(p)); }
  static float one(const uint8_t* p) {
    float v;
    std::memcpy(&v, p, 4);
    return v;
  }
};
struct F16 {
  static constexpr size_t kSize = 2;
  static __m256 load(const uint8_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static float one(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return fp16_to_fp32(h);
  }
};
struct BF16 {
  static constexpr size_t kSize = 2;
  static __m256 load(const uint8_t* p) {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
  }
  static float one(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return bf16_to_fp32(h);
  }
};

// L f32 lanes along k (8 or 16) as L / 8 ymm. ggml's AVX-512 build sums float dot products in 16
// lanes (tinyBLAS) or 4 x 16 (vec_dot); 16 lanes here give its bits (SumOrder::kGgml), 8 lanes
// twice the outputs per register tile (kFastest).
template <int L>
struct Lanes {
  __m256 v[L / 8];
};
inline float hsum8(__m256 y) {
  __m128 s = _mm_add_ps(_mm256_extractf128_ps(y, 1), _mm256_castps256_ps128(y));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
// 16 lanes summed as _mm512_reduce_add_ps adds them: l + l+8, then as hsum8.
inline float tree16(__m256 lo, __m256 hi) { return hsum8(_mm256_add_ps(hi, lo)); }

// f32 FMA on weights of element type W against f32 activations (see matmul_float_gemm.h): lane j
// sums the elements k = j (mod L).
template <class W, int L>
struct Fma {
  static constexpr int N = L / 8;
  using V = Lanes<L>;
  using WV = Lanes<L>;
  using XV = Lanes<L>;
  static constexpr int kStep = L, kRT = L == 8 ? 3 : 2, kTT = L == 8 ? 4 : 3;
  static constexpr size_t kWSize = W::kSize, kXSize = 4;
  static V zero() {
    V r;
    for (auto& x : r.v) x = _mm256_setzero_ps();
    return r;
  }
  static float reduce(V a) {
    if constexpr (L == 8) return hsum8(a.v[0]);
    else return tree16(a.v[0], a.v[1]);
  }
  static WV w(const uint8_t* p) {
    WV r;
    for (int i = 0; i < N; ++i) r.v[i] = W::load(p + size_t(8 * i) * W::kSize);
    return r;
  }
  static WV w_tail(const uint8_t* p, int n) {
    alignas(32) float buf[L] = {};
    for (int e = 0; e < n; ++e) buf[e] = W::one(p + size_t(e) * W::kSize);
    WV r;
    for (int i = 0; i < N; ++i) r.v[i] = _mm256_load_ps(buf + 8 * i);
    return r;
  }
  static XV x(const uint8_t* p) {
    XV r;
    for (int i = 0; i < N; ++i) r.v[i] = _mm256_loadu_ps(reinterpret_cast<const float*>(p) + 8 * i);
    return r;
  }
  static XV x_tail(const uint8_t* p, int n) {
    alignas(32) float buf[L] = {};
    std::memcpy(buf, p, size_t(n) * 4);
    XV r;
    for (int i = 0; i < N; ++i) r.v[i] = _mm256_load_ps(buf + 8 * i);
    return r;
  }
  static V madd(V acc, WV w, XV x) {
    for (int i = 0; i < N; ++i) acc.v[i] = _mm256_fmadd_ps(w.v[i], x.v[i], acc.v[i]);
    return acc;
  }
  static const uint8_t* act(const Acts& a, int64_t t) { return reinterpret_cast<const uint8_t*>(a.f + t * a.f_stride); }
  // Decode: one row at a time as a single sequential stream (the hardware prefetcher's best
  // case), in ggml_vec_dot_f16/f32's order: 64 lanes (eight ymm) over 64-element steps, the four
  // 16-lane groups reduced as (g0 + g2) + (g1 + g3), then tree16; the last cols % 64 one by one.
  static float row_dot(const uint8_t* w, const uint8_t* xb, int64_t cols) {
    const float* x = reinterpret_cast<const float*>(xb);
    __m256 acc[8];
    for (auto& a : acc) a = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 64 <= cols; k += 64) {
      for (int j = 0; j < 8; ++j)
        acc[j] = _mm256_fmadd_ps(W::load(w + size_t(k + 8 * j) * W::kSize), _mm256_loadu_ps(x + k + 8 * j), acc[j]);
    }
    const __m256 lo = _mm256_add_ps(_mm256_add_ps(acc[0], acc[4]), _mm256_add_ps(acc[2], acc[6]));
    const __m256 hi = _mm256_add_ps(_mm256_add_ps(acc[1], acc[5]), _mm256_add_ps(acc[3], acc[7]));
    return gemm::ggml_dot_rest<W::kSize>(tree16(lo, hi), k, cols, [&](int64_t i) { return W::one(w + size_t(i) * W::kSize); }, x);
  }
};

template <class F>
constexpr Kernel make() {
  return Kernel{.isa = Isa::kAvx2, .row_block = F::kRT, .token_tile = F::kTT, .tile = gemm::tile<F>};
}
constexpr Kernel kF32 = make<Fma<F32, 16>>();
constexpr Kernel kF16 = make<Fma<F16, 16>>();
constexpr Kernel kBF16 = make<Fma<BF16, 16>>();
constexpr Kernel kF32Fast = make<Fma<F32, 8>>();
constexpr Kernel kF16Fast = make<Fma<F16, 8>>();
constexpr Kernel kBF16Fast = make<Fma<BF16, 8>>();

}  // namespace

const Kernel* float_kernel(GgmlType t, SumOrder order) {
  const bool fast = order == SumOrder::kFastest;
  switch (t) {
    case GgmlType::F32: return fast ? &kF32Fast : &kF32;
    case GgmlType::F16: return fast ? &kF16Panels : &kF16;
    case GgmlType::BF16: return fast ? &kBF16Fast : &kBF16;
    default: return nullptr;
  }
}

const Kernel* f16_rows_fast() { return &kF16Fast; }

}  // namespace smolvlm::kernels::mm::avx2
