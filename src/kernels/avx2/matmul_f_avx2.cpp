// AVX2 kernels for float weights (F32, F16, BF16) on ggml rows in place, through the blocked
// driver of matmul_float_gemm.h (the AVX2 twin of avx512/matmul_f_avx512.cpp; F16 widens with
// F16C). The last cols % 8 elements go through a zero-padded vector.
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

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// f32 FMA on weights of element type W against f32 activations (see matmul_float_gemm.h).
template <class W>
struct Fma {
  using V = __m256;
  using WV = __m256;
  using XV = __m256;
  static constexpr int kStep = 8, kRT = 3, kTT = 4;
  static constexpr size_t kWSize = W::kSize, kXSize = 4;
  static V zero() { return _mm256_setzero_ps(); }
  static float reduce(V v) { return hsum(v); }
  static WV w(const uint8_t* p) { return W::load(p); }
  static WV w_tail(const uint8_t* p, int n) {
    alignas(32) float buf[8] = {};
    for (int e = 0; e < n; ++e) buf[e] = W::one(p + size_t(e) * W::kSize);
    return _mm256_load_ps(buf);
  }
  static XV x(const uint8_t* p) { return _mm256_loadu_ps(reinterpret_cast<const float*>(p)); }
  static XV x_tail(const uint8_t* p, int n) {
    alignas(32) float buf[8] = {};
    std::memcpy(buf, p, size_t(n) * 4);
    return _mm256_load_ps(buf);
  }
  static V madd(V acc, WV w, XV x) { return _mm256_fmadd_ps(w, x, acc); }
  static const uint8_t* act(const Acts& a, int64_t t) { return reinterpret_cast<const uint8_t*>(a.f + t * a.f_stride); }

  // Decode: one row at a time as a single sequential stream (the hardware prefetcher's best
  // case), four accumulators to hide the FMA latency.
  static float row_dot(const uint8_t* w, const uint8_t* xb, int64_t cols) {
    const float* x = reinterpret_cast<const float*>(xb);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    int64_t k = 0;
    for (; k + 32 <= cols; k += 32) {
      _mm_prefetch(reinterpret_cast<const char*>(w + size_t(k) * W::kSize + 2048), _MM_HINT_T0);
      if (W::kSize == 4) _mm_prefetch(reinterpret_cast<const char*>(w + size_t(k) * W::kSize + 2048 + 64), _MM_HINT_T0);
      for (int j = 0; j < 4; ++j)
        acc[j] = _mm256_fmadd_ps(W::load(w + size_t(k + 8 * j) * W::kSize), _mm256_loadu_ps(x + k + 8 * j), acc[j]);
    }
    float tail = 0;
    for (; k < cols; ++k) tail += W::one(w + size_t(k) * W::kSize) * x[k];
    return hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]))) + tail;
  }
};

template <class F>
constexpr Kernel make() {
  return Kernel{.isa = Isa::kAvx2, .row_block = F::kRT, .token_tile = F::kTT, .tile = gemm::tile<F>};
}
constexpr Kernel kF32 = make<Fma<F32>>();
constexpr Kernel kF16 = make<Fma<F16>>();
constexpr Kernel kBF16 = make<Fma<BF16>>();

}  // namespace

const Kernel* float_kernel(GgmlType t) {
  switch (t) {
    case GgmlType::F32: return &kF32;
    case GgmlType::F16: return &kF16;
    case GgmlType::BF16: return &kBF16;
    default: return nullptr;
  }
}

}  // namespace smolvlm::kernels::mm::avx2
