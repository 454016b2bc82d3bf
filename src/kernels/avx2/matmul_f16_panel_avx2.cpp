// The fast-order F16 kernel on AVX2 (SumOrder::kFastest): the weights repacked into panels of 16
// rows, fp16 along k,
//   element (k, i) of panel P = w[16P + i][k] at P * cols * 16 + k * 16 + i
// (rows beyond the matrix are zero). A micro-tile of TT tokens x 16 rows keeps TT x 2
// accumulators: per k, the panel's 16 weights widened once (two vcvtph2ps) and one token's
// activation broadcast per pair of accumulators. Each lane is one output, so nothing is reduced
// across lanes and the outputs are stored as they are; a lane sums its k in increasing order,
// K-block after K-block (parked in y), the same order whatever the blocking or the task split. A
// decode step (one token) sums four interleaved partial sums per lane (k mod 4), added at the end,
// so that eight multiply-add chains hide the latency. The row kernel (matmul_f_avx2.cpp) keeps
// ggml's order for the exact mode. Measured on Zen 4 with AVX2 forced, 2 threads, interleaved
// against the row kernel: one vision tile (F16 projector) 1.35-1.63 -> 1.21-1.23 s, faster in 5 of
// 6 pairs; the real-shape 256M's F16 pp512 faster in 3 of 3 (629-728 -> 638-829 t/s), its tg128
// within the noise (105-139 against 107-131 t/s).
#include <immintrin.h>

#include <algorithm>

#include "kernels/avx2/matmul_avx2.h"

namespace smolvlm::kernels::mm::avx2 {
namespace {

constexpr int64_t kPanel = 16;   // rows per panel: 2 vectors of 8 outputs
constexpr int64_t kKBlock = 512;  // elements per K-block: a 16 KiB panel slice, reused from L1
constexpr int kTokens = 6;       // tokens per micro-tile: 12 accumulators

size_t packed_bytes(int64_t rows, int64_t cols) { return size_t((rows + kPanel - 1) / kPanel) * size_t(cols * kPanel) * 2; }

void pack(const WeightView& w, uint8_t* dst) {
  const int64_t panels = (w.rows + kPanel - 1) / kPanel;
  const auto* src = static_cast<const uint16_t*>(w.data);
  auto* out = reinterpret_cast<uint16_t*>(dst);
  for (int64_t P = 0; P < panels; ++P) {
    uint16_t* panel = out + P * w.cols * kPanel;
    for (int64_t i = 0; i < kPanel; ++i) {
      const int64_t r = P * kPanel + i;
      for (int64_t k = 0; k < w.cols; ++k) panel[k * kPanel + i] = r < w.rows ? src[r * w.cols + k] : 0;
    }
  }
}

inline __m256 widen(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }

// Lanes 8c .. 8c + 7 of a panel that exist (nr of its 16 rows).
inline __m256i lanes(int64_t nr, int c) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(nr - 8 * c)), idx);
}

// y[t * ldy + r] for TT tokens and the panel's first nr rows, over elements [k0, k1): from zero
// when k0 == 0, else from the sums parked in y.
template <int TT>
void micro(const uint16_t* panel, const float* const* x, int64_t k0, int64_t k1, float* y, int64_t ldy, int64_t nr) {
  const __m256i m[2] = {lanes(nr, 0), lanes(nr, 1)};
  __m256 acc[TT][2];
  for (int t = 0; t < TT; ++t)
    for (int c = 0; c < 2; ++c)
      acc[t][c] = k0 == 0 ? _mm256_setzero_ps() : _mm256_maskload_ps(y + t * ldy + 8 * c, m[c]);
  for (int64_t k = k0; k < k1; ++k) {
    const __m256 w0 = widen(panel + k * kPanel), w1 = widen(panel + k * kPanel + 8);
    for (int t = 0; t < TT; ++t) {
      const __m256 xb = _mm256_broadcast_ss(x[t] + k);
      acc[t][0] = _mm256_fmadd_ps(w0, xb, acc[t][0]);
      acc[t][1] = _mm256_fmadd_ps(w1, xb, acc[t][1]);
    }
  }
  if (nr == kPanel) {  // (vmaskmovps stores are slow on AMD)
    for (int t = 0; t < TT; ++t)
      for (int c = 0; c < 2; ++c) _mm256_storeu_ps(y + t * ldy + 8 * c, acc[t][c]);
  } else {
    for (int t = 0; t < TT; ++t)
      for (int c = 0; c < 2; ++c) _mm256_maskstore_ps(y + t * ldy + 8 * c, m[c], acc[t][c]);
  }
}

// One token against a whole panel: four partial sums per lane (k mod 4), added at the end.
void decode(const uint16_t* panel, const float* x, int64_t cols, float* y, int64_t nr) {
  __m256 acc[4][2];
  for (auto& a : acc) a[0] = a[1] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 4 <= cols; k += 4) {
    _mm_prefetch(reinterpret_cast<const char*>(panel + (k + 32) * kPanel), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(panel + (k + 34) * kPanel), _MM_HINT_T0);
    for (int j = 0; j < 4; ++j) {
      const __m256 xb = _mm256_broadcast_ss(x + k + j);
      acc[j][0] = _mm256_fmadd_ps(widen(panel + (k + j) * kPanel), xb, acc[j][0]);
      acc[j][1] = _mm256_fmadd_ps(widen(panel + (k + j) * kPanel + 8), xb, acc[j][1]);
    }
  }
  for (; k < cols; ++k) {
    const __m256 xb = _mm256_broadcast_ss(x + k);
    acc[0][0] = _mm256_fmadd_ps(widen(panel + k * kPanel), xb, acc[0][0]);
    acc[0][1] = _mm256_fmadd_ps(widen(panel + k * kPanel + 8), xb, acc[0][1]);
  }
  for (int c = 0; c < 2; ++c) {
    const __m256 s = _mm256_add_ps(_mm256_add_ps(acc[0][c], acc[2][c]), _mm256_add_ps(acc[1][c], acc[3][c]));
    if (nr == kPanel) _mm256_storeu_ps(y + 8 * c, s);
    else _mm256_maskstore_ps(y + 8 * c, lanes(nr, c), s);
  }
}

template <int TT>
void micro_at(const uint16_t* panel, const Acts& a, int64_t t, int64_t k0, int64_t k1, float* y, int64_t ldy,
              int64_t nr) {
  const float* x[TT];
  for (int j = 0; j < TT; ++j) x[j] = a.f + (t + j) * a.f_stride;
  micro<TT>(panel, x, k0, k1, y + t * ldy, ldy, nr);
}

// Kernel::tile: panel by panel (r0 is a multiple of 16); a decode step streams each panel once,
// a batch goes K-block by K-block, the block's tokens kTokens at a time (then the rest).
void tile(const PackedData& pw, const Acts& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1, float* y, int64_t ldy) {
  const int64_t cols = pw.cols;
  const auto* packed = reinterpret_cast<const uint16_t*>(pw.data);
  for (int64_t r = r0; r < r1; r += kPanel) {
    const uint16_t* panel = packed + (r / kPanel) * cols * kPanel;
    const int64_t nr = std::min(kPanel, r1 - r);
    if (a.n_tokens == 1) {
      for (int64_t t = t0; t < t1; ++t) decode(panel, a.f + t * a.f_stride, cols, y + t * ldy + r, nr);
      continue;
    }
    for (int64_t k0 = 0; k0 < cols; k0 += kKBlock) {
      const int64_t k1 = std::min(cols, k0 + kKBlock);
      token_tiles<kTokens>(t0, t1, [&]<int TT>(int64_t t) { micro_at<TT>(panel, a, t, k0, k1, y + r, ldy, nr); });
    }
  }
}

}  // namespace

const Kernel kF16Panels = {.isa = Isa::kAvx2,
                           .row_block = int(kPanel),
                           .packed_bytes = packed_bytes,
                           .pack = pack,
                           .token_tile = kTokens,
                           .tile = tile};

}  // namespace smolvlm::kernels::mm::avx2
