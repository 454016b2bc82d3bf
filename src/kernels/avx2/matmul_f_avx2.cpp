// AVX2 kernels for float weights (F32, F16, BF16) on ggml rows in place: the AVX2 twin of
// avx512/matmul_f_avx512.cpp (RT rows x TT tokens of f32 accumulators along k, horizontal sums
// at the end). The last cols % 8 elements go through a zero-padded vector.
#include <immintrin.h>

#include <cstring>

#include "base/fp16.h"
#include "kernels/avx2/matmul_avx2.h"

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

template <class W, int RT, int TT>
void micro(const uint8_t* w, size_t row_bytes, const Acts& a, int64_t t, float* y, int64_t ldy) {
  const int64_t cols = a.cols;
  __m256 acc[RT][TT];
  for (int i = 0; i < RT; ++i)
    for (int j = 0; j < TT; ++j) acc[i][j] = _mm256_setzero_ps();
  const float* x[TT];
  for (int j = 0; j < TT; ++j) x[j] = a.f + (t + j) * a.f_stride;
  int64_t k = 0;
  for (; k + 8 <= cols; k += 8) {
    __m256 wv[RT];
    for (int i = 0; i < RT; ++i) wv[i] = W::load(w + size_t(i) * row_bytes + size_t(k) * W::kSize);
    for (int j = 0; j < TT; ++j) {
      const __m256 xv = _mm256_loadu_ps(x[j] + k);
      for (int i = 0; i < RT; ++i) acc[i][j] = _mm256_fmadd_ps(wv[i], xv, acc[i][j]);
    }
  }
  if (k < cols) {
    const int n = int(cols - k);
    __m256 wv[RT];
    for (int i = 0; i < RT; ++i) {
      alignas(32) float buf[8] = {};
      for (int e = 0; e < n; ++e) buf[e] = W::one(w + size_t(i) * row_bytes + size_t(k + e) * W::kSize);
      wv[i] = _mm256_load_ps(buf);
    }
    for (int j = 0; j < TT; ++j) {
      alignas(32) float buf[8] = {};
      std::memcpy(buf, x[j] + k, size_t(n) * 4);
      const __m256 xv = _mm256_load_ps(buf);
      for (int i = 0; i < RT; ++i) acc[i][j] = _mm256_fmadd_ps(wv[i], xv, acc[i][j]);
    }
  }
  for (int j = 0; j < TT; ++j)
    for (int i = 0; i < RT; ++i) y[(t + j) * ldy + i] = hsum(acc[i][j]);
}

// Decode: one row at a time as a single sequential stream (the hardware prefetcher's best case),
// four accumulators to hide the FMA latency.
template <class W>
float row_dot(const uint8_t* w, const float* x, int64_t cols) {
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

template <class W, int RT>
void rows_tokens(const uint8_t* w, size_t row_bytes, const Acts& a, int64_t t0, int64_t t1, float* y, int64_t ldy) {
  int64_t t = t0;
  for (; t + 2 <= t1; t += 2) micro<W, RT, 2>(w, row_bytes, a, t, y, ldy);
  if (t < t1) micro<W, RT, 1>(w, row_bytes, a, t, y, ldy);
}

template <class W>
void tile(const PackedData& w, const Acts& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1, float* y, int64_t ldy) {
  const size_t row_bytes = size_t(w.cols) * W::kSize;
  if (t1 - t0 == 1) {
    for (int64_t r = r0; r < r1; ++r) y[t0 * ldy + r] = row_dot<W>(w.data + size_t(r) * row_bytes, a.f + t0 * a.f_stride, w.cols);
    return;
  }
  int64_t r = r0;
  for (; r + 4 <= r1; r += 4) rows_tokens<W, 4>(w.data + size_t(r) * row_bytes, row_bytes, a, t0, t1, y + r, ldy);
  for (; r < r1; ++r) rows_tokens<W, 1>(w.data + size_t(r) * row_bytes, row_bytes, a, t0, t1, y + r, ldy);
}

constexpr Kernel kF32{.isa = Isa::kAvx2, .tile = tile<F32>};
constexpr Kernel kF16{.isa = Isa::kAvx2, .tile = tile<F16>};
constexpr Kernel kBF16{.isa = Isa::kAvx2, .tile = tile<BF16>};

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
