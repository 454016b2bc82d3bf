// The fast-order BF16 kernel on AVX512_BF16 (SumOrder::kFastest; F16 weights bound as bf16 take it
// too): the weights repacked into panels of 64 rows, pair-interleaved along k,
//   word (p, i) of panel P = (w[64P + i][2p], w[64P + i][2p + 1]) at P * pairs * 64 + p * 64 + i
// (rows beyond the matrix and the odd column's partner are zero). A micro-tile of TT tokens x 64
// rows keeps TT x 4 accumulators of 16 rows each: per pair p, four panel vectors and one token's
// pair broadcast per row of accumulators, vdpbf16ps adding the exact products of both elements.
// Each lane is one output, so nothing is reduced across lanes and the tile stores its outputs as
// they are: lane sums run over the pairs in increasing k, K-block after K-block (parked in y), the
// same order whatever the blocking or the task split. The row kernel (DpBf16 in
// matmul_f_avx512.cpp) keeps ggml's lane order for the exact mode; this one ran 1.27-1.45x its
// speed on the vision tower's fc1 and fc2 (BM_MatmulM1024, Zen 4, 2 threads, same runs).
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/avx512/matmul_avx512.h"

namespace smolvlm::kernels::mm::avx512 {
namespace {

constexpr int64_t kPanel = 64;     // rows per panel: 4 vectors of 16 outputs
constexpr int64_t kKPairs = 128;  // pairs per K-block: a 32 KiB panel slice (64 to 384 measured alike)
constexpr int kTokens = 6;         // tokens per micro-tile: 24 accumulators

int64_t pairs_of(int64_t cols) { return (cols + 1) / 2; }

size_t packed_bytes(int64_t rows, int64_t cols) {
  return size_t((rows + kPanel - 1) / kPanel) * size_t(pairs_of(cols) * kPanel) * 4;
}

void pack(const WeightView& w, uint8_t* dst) {
  const int64_t pairs = pairs_of(w.cols), panels = (w.rows + kPanel - 1) / kPanel;
  const auto* src = static_cast<const uint16_t*>(w.data);
  auto* out = reinterpret_cast<uint32_t*>(dst);
  for (int64_t P = 0; P < panels; ++P) {
    uint32_t* panel = out + P * pairs * kPanel;
    for (int64_t i = 0; i < kPanel; ++i) {
      const int64_t r = P * kPanel + i;
      if (r >= w.rows) {
        for (int64_t p = 0; p < pairs; ++p) panel[p * kPanel + i] = 0;
        continue;
      }
      const uint16_t* row = src + r * w.cols;
      for (int64_t p = 0; p < pairs; ++p) {
        const uint32_t hi = 2 * p + 1 < w.cols ? row[2 * p + 1] : 0;
        panel[p * kPanel + i] = uint32_t(row[2 * p]) | hi << 16;
      }
    }
  }
}

// y[t * ldy + r] for TT tokens and the panel's first nr rows (nr <= 64), over pairs [p0, p1): from
// zero when p0 == 0, else from the sums parked in y.
template <int TT>
void micro(const uint32_t* panel, const uint16_t* const* x, int64_t p0, int64_t p1, float* y, int64_t ldy, int64_t nr) {
  __m512 acc[TT][4];
  __mmask16 mask[4];  // the outputs of each vector that exist (none: a store that writes nothing)
  for (int c = 0; c < 4; ++c) mask[c] = __mmask16((1u << std::clamp<int64_t>(nr - 16 * c, 0, 16)) - 1);
  for (int t = 0; t < TT; ++t)
    for (int c = 0; c < 4; ++c)
      acc[t][c] = p0 == 0 ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask[c], y + t * ldy + 16 * c);
  for (int64_t p = p0; p < p1; ++p) {  // (an odd row's last pair: (x, 0) against (w, 0))
    __m512bh w[4];
    for (int c = 0; c < 4; ++c) w[c] = __m512bh(_mm512_loadu_si512(panel + p * kPanel + 16 * c));
    for (int t = 0; t < TT; ++t) {
      uint32_t xw;
      std::memcpy(&xw, x[t] + 2 * p, 4);
      const __m512bh xv = __m512bh(_mm512_set1_epi32(int(xw)));
      for (int c = 0; c < 4; ++c) acc[t][c] = _mm512_dpbf16_ps(acc[t][c], xv, w[c]);
    }
  }
  for (int t = 0; t < TT; ++t)
    for (int c = 0; c < 4; ++c) _mm512_mask_storeu_ps(y + t * ldy + 16 * c, mask[c], acc[t][c]);
}

template <int TT>
void micro_at(const uint32_t* panel, const Acts& a, int64_t t, int64_t p0, int64_t p1, float* y,
              int64_t ldy, int64_t nr) {
  const uint16_t* x[TT];
  for (int j = 0; j < TT; ++j) x[j] = a.h + (t + j) * a.h_stride;
  micro<TT>(panel, x, p0, p1, y + t * ldy, ldy, nr);
}

// Kernel::tile: panel by panel (r0 is a multiple of 64), K-block by K-block, the block's tokens
// kTokens at a time (then the rest) against the panel's slice.
void tile(const PackedData& pw, const Acts& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1, float* y, int64_t ldy) {
  const int64_t pairs = pairs_of(pw.cols);
  const auto* packed = reinterpret_cast<const uint32_t*>(pw.data);
  for (int64_t r = r0; r < r1; r += kPanel) {
    const uint32_t* panel = packed + (r / kPanel) * pairs * kPanel;
    const int64_t nr = std::min(kPanel, r1 - r);
    for (int64_t p0 = 0; p0 < pairs; p0 += kKPairs) {
      const int64_t p1 = std::min(pairs, p0 + kKPairs);
      token_tiles<kTokens>(t0, t1, [&]<int TT>(int64_t t) { micro_at<TT>(panel, a, t, p0, p1, y + r, ldy, nr); });
    }
  }
}

}  // namespace

const Kernel kBF16Panels = {.isa = Isa::kAvx512,
                            .row_block = int(kPanel),
                            .packed_bytes = packed_bytes,
                            .pack = pack,
                            .bf16_codes = true,
                            .token_tile = kTokens,
                            .tile = tile};

}  // namespace smolvlm::kernels::mm::avx512
