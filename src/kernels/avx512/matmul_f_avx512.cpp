// AVX-512 kernels for float weights (F32, F16, BF16) on ggml rows in place. A micro-tile of RT
// rows x TT tokens keeps RT x TT f32 accumulators along k, so each weight vector loaded (and
// converted) serves TT tokens and each activation vector RT rows; horizontal sums at the end.
// Activations arrive already rounded to the weight's ggml vec_dot_type (fp16 / bf16).
#include <immintrin.h>

#include "kernels/avx512/matmul_avx512.h"

namespace smolvlm::kernels::mm::avx512 {
namespace {

struct F32 {
  static constexpr size_t kSize = 4;
  static __m512 load(const uint8_t* p) { return _mm512_loadu_ps(p); }
  static __m512 load(const uint8_t* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
};
struct F16 {
  static constexpr size_t kSize = 2;
  static __m512 load(const uint8_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  static __m512 load(const uint8_t* p, __mmask16 m) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p)); }
};
struct BF16 {
  static constexpr size_t kSize = 2;
  static __m512 widen(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }
  static __m512 load(const uint8_t* p) { return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  static __m512 load(const uint8_t* p, __mmask16 m) { return widen(_mm256_maskz_loadu_epi16(m, p)); }
};

template <class W, int RT, int TT>
void micro(const uint8_t* w, size_t row_bytes, const Acts& a, int64_t t, float* y, int64_t ldy) {
  const int64_t cols = a.cols;
  __m512 acc[RT][TT];
  for (int i = 0; i < RT; ++i)
    for (int j = 0; j < TT; ++j) acc[i][j] = _mm512_setzero_ps();
  const float* x[TT];
  for (int j = 0; j < TT; ++j) x[j] = a.f + (t + j) * a.f_stride;
  int64_t k = 0;
  for (; k + 16 <= cols; k += 16) {
    __m512 wv[RT];
    for (int i = 0; i < RT; ++i) wv[i] = W::load(w + size_t(i) * row_bytes + size_t(k) * W::kSize);
    for (int j = 0; j < TT; ++j) {
      const __m512 xv = _mm512_loadu_ps(x[j] + k);
      for (int i = 0; i < RT; ++i) acc[i][j] = _mm512_fmadd_ps(wv[i], xv, acc[i][j]);
    }
  }
  if (k < cols) {
    const __mmask16 m = __mmask16((1u << (cols - k)) - 1);
    __m512 wv[RT];
    for (int i = 0; i < RT; ++i) wv[i] = W::load(w + size_t(i) * row_bytes + size_t(k) * W::kSize, m);
    for (int j = 0; j < TT; ++j) {
      const __m512 xv = _mm512_maskz_loadu_ps(m, x[j] + k);
      for (int i = 0; i < RT; ++i) acc[i][j] = _mm512_fmadd_ps(wv[i], xv, acc[i][j]);
    }
  }
  for (int j = 0; j < TT; ++j)
    for (int i = 0; i < RT; ++i) y[(t + j) * ldy + i] = _mm512_reduce_add_ps(acc[i][j]);
}

// Decode: one row at a time as a single sequential stream (the hardware prefetcher's best case),
// four accumulators to hide the FMA latency.
template <class W>
float row_dot(const uint8_t* w, const float* x, int64_t cols) {
  __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  int64_t k = 0;
  for (; k + 64 <= cols; k += 64) {
    _mm_prefetch(reinterpret_cast<const char*>(w + size_t(k) * W::kSize + 2048), _MM_HINT_T0);
    if (W::kSize == 4) _mm_prefetch(reinterpret_cast<const char*>(w + size_t(k) * W::kSize + 2048 + 128), _MM_HINT_T0);
    for (int j = 0; j < 4; ++j)
      acc[j] = _mm512_fmadd_ps(W::load(w + size_t(k + 16 * j) * W::kSize), _mm512_loadu_ps(x + k + 16 * j), acc[j]);
  }
  for (; k < cols; k += 16) {
    const __mmask16 m = cols - k >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (cols - k)) - 1);
    acc[0] = _mm512_fmadd_ps(W::load(w + size_t(k) * W::kSize, m), _mm512_maskz_loadu_ps(m, x + k), acc[0]);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}

template <class W, int RT>
void rows_tokens(const uint8_t* w, size_t row_bytes, const Acts& a, int64_t t0, int64_t t1, float* y, int64_t ldy) {
  int64_t t = t0;
  for (; t + 4 <= t1; t += 4) micro<W, RT, 4>(w, row_bytes, a, t, y, ldy);
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

constexpr Kernel kF32{.isa = Isa::kAvx512, .tile = tile<F32>};
constexpr Kernel kF16{.isa = Isa::kAvx512, .tile = tile<F16>};
constexpr Kernel kBF16{.isa = Isa::kAvx512, .tile = tile<BF16>};

}  // namespace

const Kernel* float_kernel(GgmlType t) {
  switch (t) {
    case GgmlType::F32: return &kF32;
    case GgmlType::F16: return &kF16;
    case GgmlType::BF16: return &kBF16;
    default: return nullptr;
  }
}

}  // namespace smolvlm::kernels::mm::avx512
