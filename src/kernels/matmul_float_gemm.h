// Internal, included only by the ISA kernel files (compiled with that ISA's flags): the blocked
// matrix x matrix driver shared by the float-weight kernels (F32, F16, BF16 on ggml rows in place).
//
// A micro-tile of RT rows x TT tokens keeps RT x TT vector accumulators along k, so each weight
// vector loaded (and converted) serves TT tokens and each activation vector RT rows; one
// horizontal sum per output at the end. Every output is the same dot product whatever the tile
// shape, the blocking or the task split: lane j of its accumulator sums the products of the
// elements k = j (mod lanes) in increasing k, then F::reduce sums the lanes. (A K-block only
// parks the accumulators in memory and resumes them, which changes no bit.)
//
// Blocking: the caller (matmul.cpp's Plan) hands each task a token block whose activations fit
// in half the L2. Here the weight rows are walked in panels of RT rows, and each panel's k-slice
// of at most L1/4 bytes is run against every token tile of the block, so the panel is reused from
// L1 and the activations stream from L2 (never from memory, however many tokens the call has).
//
// F (one weight format on one ISA) provides:
//   V                 the f32 accumulator vector;  WV, XV  what one step of weights / activations loads as
//   kStep             elements per step; kWSize, kXSize bytes per element of weights / activations
//   kRT, kTT          the micro-tile
//   zero(), madd(acc, w, x), reduce(acc)
//   w(p), w_tail(p, n), x(p), x_tail(p, n)   loads of a full step, or of its first n < kStep elements (rest 0)
//   act(a, t)         activation row t;  row_dot(w, x, cols)  decode (one token)
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include <unistd.h>
#include <xmmintrin.h>

#include "kernels/matmul_impl.h"

namespace smolvlm::kernels::mm::gemm {

// The rest of a decode dot product after its whole 64-element steps, as ggml_vec_dot_f16 (a double
// sum: fp16 x fp16 products are exact) or ggml_vec_dot_f32 (a float sum of fused products) adds it.
// wk(i) reads weight element i as f32.
template <size_t WSize, class Wk>
inline float ggml_dot_rest(float sum, int64_t k, int64_t cols, Wk wk, const float* x) {
  if (k == cols) return sum;
  if constexpr (WSize == 2) {
    double s = sum;
    for (; k < cols; ++k) s += double(wk(k) * x[k]);
    return float(s);
  } else {
    for (; k < cols; ++k) sum = __builtin_fmaf(wk(k), x[k], sum);
    return sum;
  }
}

// A decode dot (row_dot) asks for no line ahead: the hardware prefetcher streams the row alone.
// Measured on Zen 4, 2 threads, interleaved: every cache line three 64-element steps ahead cost
// bench_matmul's F16 n1 4-23% (8 of 8 pairs) and the real-shape 256M's F16 tg128 ~5% (3 of 4).

// A parked accumulator (a struct, so that containers keep the vector's alignment).
template <class F>
struct Parked {
  typename F::V v;
};

// One k step at element k: acc[i][j] += weight row i . activation row j over the step's
// elements (Tail: only the first n, the row's partial last step). With more rows than tokens the
// activation vectors are held and the weight rows streamed through one register, else the reverse.
template <class F, int RT, int TT, bool Tail>
inline void step(typename F::V (&acc)[RT][TT], const uint8_t* const* w, const uint8_t* const* x, int64_t k, int n) {
  auto wl = [&](int i) {
    const uint8_t* p = w[i] + size_t(k) * F::kWSize;
    if constexpr (Tail) return F::w_tail(p, n); else return F::w(p);
  };
  auto xl = [&](int j) {
    const uint8_t* p = x[j] + size_t(k) * F::kXSize;
    if constexpr (Tail) return F::x_tail(p, n); else return F::x(p);
  };
  if constexpr (RT > TT) {
    typename F::XV xv[TT];
    for (int j = 0; j < TT; ++j) xv[j] = xl(j);
    for (int i = 0; i < RT; ++i) {
      const typename F::WV wv = wl(i);
      for (int j = 0; j < TT; ++j) acc[i][j] = F::madd(acc[i][j], wv, xv[j]);
    }
  } else {
    typename F::WV wv[RT];
    for (int i = 0; i < RT; ++i) wv[i] = wl(i);
    for (int j = 0; j < TT; ++j) {
      const typename F::XV xv = xl(j);
      for (int i = 0; i < RT; ++i) acc[i][j] = F::madd(acc[i][j], wv[i], xv);
    }
  }
}

// The micro-tile over elements [k0, k1): accumulators resume from `park` unless k0 == 0; they
// are summed into y (rows nr, tokens nt of the tile) when k1 == cols, else parked again.
template <class F, int RT, int TT>
inline void micro(const uint8_t* const* w, const uint8_t* const* x, int64_t k0, int64_t k1, int64_t cols,
                  Parked<F>* park, float* y, int64_t ldy, int nr, int nt) {
  typename F::V acc[RT][TT];
  for (int i = 0; i < RT; ++i)
    for (int j = 0; j < TT; ++j) acc[i][j] = k0 == 0 ? F::zero() : park[i * TT + j].v;
  int64_t k = k0;
  for (; k + F::kStep <= k1; k += F::kStep) step<F, RT, TT, false>(acc, w, x, k, F::kStep);
  if (k < k1) step<F, RT, TT, true>(acc, w, x, k, int(k1 - k));
  if (k1 < cols) {
    for (int i = 0; i < RT; ++i)
      for (int j = 0; j < TT; ++j) park[i * TT + j].v = acc[i][j];
    return;
  }
  for (int j = 0; j < nt; ++j)
    for (int i = 0; i < nr; ++i) y[j * ldy + i] = F::reduce(acc[i][j]);
}

// The per-core L1 data cache (sysconf; 32 KiB where unknown).
inline int64_t l1_bytes() {
  static const int64_t n = [] {
    const long v = ::sysconf(_SC_LEVEL1_DCACHE_SIZE);
    return std::clamp<int64_t>(v > 0 ? int64_t(v) : int64_t(32) << 10, int64_t(16) << 10, int64_t(256) << 10);
  }();
  return n;
}

// Elements per K-block: the RT-row weight panel's slice within L1/4 (a multiple of kStep; all of
// the row when it nearly fits), so that it stays in L1 while the token tiles stream past it.
template <class F>
int64_t k_block(int64_t cols) {
  const int64_t kBudget = l1_bytes() / 4;
  const int64_t per_step = int64_t(F::kRT) * F::kStep * int64_t(F::kWSize);
  const int64_t kc = std::max<int64_t>(1, kBudget / per_step) * F::kStep;
  return cols <= kc * 5 / 4 ? cols : kc;
}

// The Kernel::tile of format F: y[t * ldy + r] for r in [r0, r1), t in [t0, t1).
template <class F>
void tile(const PackedData& pw, const Acts& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1, float* y, int64_t ldy) {
  constexpr int RT = F::kRT, TT = F::kTT;
  const int64_t cols = pw.cols;
  const size_t row_bytes = size_t(cols) * F::kWSize;
  // Decode: one sequential stream per row. (llama.cpp's batches take tinyBLAS, 16 lanes along k,
  // which is what the micro-tiles below compute; for rows that are not whole 16-element steps it
  // takes vec_dot per token, so do we.)
  if (a.n_tokens == 1 || cols % 16 != 0) {
    for (int64_t t = t0; t < t1; ++t)
      for (int64_t r = r0; r < r1; ++r) y[t * ldy + r] = F::row_dot(pw.data + size_t(r) * row_bytes, F::act(a, t), cols);
    return;
  }
  const int64_t kc = k_block<F>(cols);
  const int64_t n_tiles = (t1 - t0 + TT - 1) / TT;
  thread_local std::vector<Parked<F>> park_tls;  // parked accumulators, one set per token tile
  std::vector<Parked<F>>& park = park_tls;
  if (park.size() < size_t(n_tiles * RT * TT)) park.resize(size_t(n_tiles * RT * TT));
  for (int64_t r = r0; r < r1; r += RT) {
    const int nr = int(std::min<int64_t>(RT, r1 - r));
    const uint8_t* w[RT];
    // (A short last panel repeats its last row; those outputs are not stored.)
    for (int i = 0; i < RT; ++i) w[i] = pw.data + size_t(r + std::min(i, nr - 1)) * row_bytes;
    for (int64_t k0 = 0; k0 < cols; k0 += kc) {
      const int64_t k1 = std::min(cols, k0 + kc);
      for (int64_t t = t0, i = 0; t < t1; t += TT, ++i) {
        const int nt = int(std::min<int64_t>(TT, t1 - t));
        Parked<F>* pk = park.data() + i * RT * TT;
        float* yt = y + t * ldy + r;
        const uint8_t* x[TT];
        for (int j = 0; j < nt; ++j) x[j] = F::act(a, t + j);
        if (nt == TT) {
          micro<F, RT, TT>(w, x, k0, k1, cols, pk, yt, ldy, nr, TT);
        } else {  // the last tokens, one at a time
          for (int j = 0; j < nt; ++j) micro<F, RT, 1>(w, x + j, k0, k1, cols, pk + j * RT, yt + j * ldy, ldy, nr, 1);
        }
      }
    }
  }
}

}  // namespace smolvlm::kernels::mm::gemm
