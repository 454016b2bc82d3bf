// Internal to the matmul kernels: how activations are prepared for a weight type (ggml's
// vec_dot_type), the prepared-activation layout every kernel reads, and the per-ISA kernel
// tables behind the one dispatch point in matmul.cpp. Not part of the public API.
#pragma once

#include <cstddef>
#include <cstdint>

#include "io/ggml_type.h"
#include "kernels/isa.h"
#include "kernels/matmul.h"

namespace smolvlm::kernels::mm {

// ggml's vec_dot_type: what f32 activations are converted to before the dot products.
enum class ActType { F32, F16, BF16, Q8_0, Q8_1, Q8_K };
ActType act_type_for(GgmlType weight);
int64_t act_block(ActType a);  // elements per activation block: 1, 32 or 256

// Per-token integers a SIMD kernel wants next to the codes (chosen by the kernel, see Kernel):
enum class AuxKind {
  kNone,
  kQuadSum,   // per 4: -offset * sum(codes)      (removes the weight code offset: Q4_0 Q5_0 Q8_0)
  kBlockSum,  // per 32: -offset * sum(codes)     (the same, for SumOrder::kFastest's block sums)
  kPairs16,   // per 32: ggml's two int16 bsums of its halves packed in one int32 (Q4_K/Q5_K mins)
  kHalfSum,   // per 16: -offset * bsum                                             (Q6_K)
};
int64_t aux_count(AuxKind k, int64_t cols);  // aux ints per token

// Activations after ggml's conversion, struct-of-arrays per token (row t of each array).
//  F32/F16/BF16: `f` holds the values after rounding to the partner type (exact in f32); for a
//  kernel that asks (Kernel::bf16_codes), BF16 comes as the 16-bit codes `h` instead.
//  Q8_*: `q` the int8 codes; `d` the block scale as ggml stores it (fp16 for Q8_0/Q8_1, read back
//  to f32; f32 for Q8_K), one per act_block; `s` (Q8_1) the block's fp16 sum field read back to
//  f32; `sums` the exact sum of the codes per 32 (Q8_0/Q8_1); `bsums` (Q8_K) ggml's int16 sums per 16;
//  `aux` the kernel's per-token integers.
//  Tiles (when the kernel asks and n_tokens > 1): the same data for groups of 4 tokens (missing
//  tokens are zeros), interleaved so that one pointer reaches all four: tile i holds
//  tq[k/4][4 tokens][4 codes], td/ts[block][4], taux[aux index][4].
struct Acts {
  ActType type = ActType::F32;
  int64_t n_tokens = 0, cols = 0;
  const float* f = nullptr;
  int64_t f_stride = 0;
  const uint16_t* h = nullptr;  // bf16 codes, row t at h + t * h_stride (an odd row padded with a 0 code)
  int64_t h_stride = 0;
  const int8_t* q = nullptr;
  int64_t q_stride = 0;
  const float* d = nullptr;
  const float* s = nullptr;
  int64_t d_stride = 0;  // for d and s
  const int32_t* sums = nullptr;  // Q8_0 / Q8_1
  const int16_t* bsums = nullptr;  // Q8_K
  int64_t sums_stride = 0;         // elements, for sums or bsums
  const int32_t* aux = nullptr;
  int64_t aux_stride = 0;
  int64_t n_tiles = 0;
  const int8_t* tq = nullptr;
  const float* td = nullptr;
  const float* ts = nullptr;
  const int32_t* taux = nullptr;
  int64_t tq_stride = 0, td_stride = 0, taux_stride = 0;  // elements per tile
};

// One row of activations in ggml's block bytes for a quantized partner type (Q8_0 and Q8_1 as the
// x86 CPU backend's from_float writes them: d = amax/127, codes = round-half-even(x * 127/amax);
// Q8_K as quantize_row_q8_K_ref). `dst` gets ggml_row_size(type, cols) bytes.
void quantize_act_row(ActType type, const float* x, uint8_t* dst, int64_t cols);

// The packed weight a kernel reads: ggml rows (no pack function, zero-copy) or the kernel's layout.
struct PackedData {
  const uint8_t* data = nullptr;
  int64_t rows = 0, cols = 0;
};

// One ISA's kernel for one weight type.
struct Kernel {
  Isa isa = Isa::kScalar;
  // Rows per group: the packed layout's interleaved row group, or the float kernels' micro-panel.
  // Tasks start at multiples (required for packed layouts, efficient for micro-panels).
  int row_block = 1;
  // Repacking (both null: the kernel reads ggml rows in place).
  size_t (*packed_bytes)(int64_t rows, int64_t cols) = nullptr;
  void (*pack)(const WeightView& w, uint8_t* dst) = nullptr;
  // What the kernel wants prepared besides the codes (see AuxKind), and 4-token tiles for n > 1.
  AuxKind aux = AuxKind::kNone;
  int aux_offset = 0;
  bool tiles = false;
  bool bf16_codes = false;  // BF16 activations as 16-bit codes (Acts::h), not f32
  // Token granularity of the kernel's micro-tiles: prefill token blocks are multiples of it
  // (tiled kernels: a multiple of 4).
  int token_tile = 4;
  // y[t * ldy + r] = dot(W row r, activation t) for r in [r0, r1), t in [t0, t1). With tiles,
  // t0 is a multiple of 4 (t1 may not be: the kernel computes padded tokens and drops them).
  void (*tile)(const PackedData& w, const Acts& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1, float* y,
               int64_t ldy) = nullptr;
};

// The token tiles of a panel kernel: fn.template operator()<TT>(t) for tokens [t0, t1), kTokens at a
// time, then the rest as one tile of 1 .. kTokens - 1 tokens.
template <int TT, class Fn>
inline void token_tile_rest(int64_t n, int64_t t, const Fn& fn) {
  if constexpr (TT > 0) {
    if (n == TT) return fn.template operator()<TT>(t);
    token_tile_rest<TT - 1>(n, t, fn);
  }
}
template <int kTokens, class Fn>
inline void token_tiles(int64_t t0, int64_t t1, const Fn& fn) {
  int64_t t = t0;
  for (; t + kTokens <= t1; t += kTokens) fn.template operator()<kTokens>(t);
  token_tile_rest<kTokens - 1>(t1 - t, t, fn);
}

// nullptr where that ISA has no kernel of its own for the type (the dispatcher then falls back
// to the next lower ISA; the scalar table covers every supported type).
const Kernel* scalar_kernel(GgmlType t);
const Kernel* avx2_kernel(GgmlType t, SumOrder order = SumOrder::kGgml);
const Kernel* avx512_kernel(GgmlType t, SumOrder order = SumOrder::kGgml);
// Tests: 0 makes the AVX2 table use its plain-AVX2 integer kernels even where the CPU has
// VNNI (affects weights packed afterwards); -1 restores CPUID's choice.
void avx2_use_vnni(int on);
// Whether the AVX2 table has VNNI integer kernels here: AVX-VNNI, or AVX512-VNNI + VL (the same
// ymm instructions EVEX-encoded).
bool avx2_vnni_available();
// Tests: 0 makes the AVX-512 table use its widen-and-FMA BF16 kernel even where the CPU has
// AVX512_BF16 (affects weights packed afterwards); -1 restores CPUID's choice.
void avx512_use_bf16(int on);
// Tests: F16 weights packed with PackOptions::f16_as_bf16 run as bf16 on every ISA (1: the
// conversion checked where vdpbf16ps is missing), never (0), or where the CPU multiplies bf16
// natively (-1, the default).
void f16_as_bf16(int on);

}  // namespace smolvlm::kernels::mm
