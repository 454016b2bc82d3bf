// Internal to the kernels layer: the per-ISA function table behind ops.h (one dispatch point,
// ops_table(active_isa())), and the attention tile kernel interface shared by the driver
// (attention.cpp) and the per-ISA tile kernels.
//
// Every ISA fills the same table: ops_scalar.cpp (plain loops, the reference), avx2/ops_avx2.cpp
// and avx512/ops_avx512.cpp (one template source, ops_simd.h, instantiated per vector width).
// Argument checking, RoPE's cos/sin cache, threading and scratch allocation live in the generic
// code (ops.cpp, attention.cpp), so the ISA files hold arithmetic only.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/ggml_float.h"
#include "kernels/isa.h"
#include "kernels/ops.h"

namespace smolvlm::kernels::detail {

// The query rows of one attention task: n_tok consecutive queries x n_g consecutive query heads
// that share one KV head. Rows are ordered (token, head), head fastest; row r is token t = r / n_g,
// head g = r % n_g.
struct AttnQueries {
  const float* q = nullptr;  // query (token 0, head 0) of the tile
  float* out = nullptr;      // same layout as q
  int64_t tok_stride = 0;    // floats between consecutive tokens in q and out (n_heads * head_dim)
  int64_t n_tok = 0, n_g = 0, head_dim = 0;
  int64_t n_kv = 0;
  bool causal = true;
  int64_t vis0 = 0;  // causal: keys visible to token 0 of the tile (q_pos0 + i0 + 1); else n_kv
  float scale = 1.0f;
  // Keys visible to tile token t.
  int64_t visible(int64_t t) const {
    if (!causal) return n_kv;
    const int64_t n = vis0 + t;
    return n < n_kv ? n : n_kv;
  }
  // Keys of the block [j0, j0 + nb) visible to each of rows r0..r0+R-1 (cnt), and their maximum.
  template <int R>
  int64_t visible_in_block(int64_t r0, int64_t j0, int64_t nb, int64_t* cnt) const {
    int64_t n_max = 0;
    for (int r = 0; r < R; ++r) {
      const int64_t c = visible((r0 + r) / n_g) - j0;
      cnt[r] = c < 0 ? 0 : (c > nb ? nb : c);
      n_max = cnt[r] > n_max ? cnt[r] : n_max;
    }
    return n_max;
  }
};

// One attention task against the cached keys/values of its KV head.
struct AttnTile : AttnQueries {
  const void* k = nullptr;  // key of position 0 of this KV head
  const void* v = nullptr;  // value of position 0 of this KV head
  size_t kv_stride = 0;     // bytes between positions
  bool f16 = false;         // K/V element type: fp16 (else f32)
  int64_t kv_block = 0;     // keys per online-softmax step
  float* scratch = nullptr;  // attn_scratch_floats(...) floats, 64-byte aligned
};
// Scratch floats one tile needs (rows = n_tok * n_g). Layout, in this order (ops_attention_simd.h):
// q copy and output accumulator [rows][Dp], scores [rows][Sp], running max and sum [rows],
// K block transposed [head_dim][Sp], V block [Sp][Dp]; Dp = head_dim rounded up to 16 floats,
// Sp = kv_block rounded up to 32, so that every part stays 64-byte aligned.
inline int64_t attn_pad_dim(int64_t head_dim) { return (head_dim + 15) / 16 * 16; }
inline int64_t attn_pad_block(int64_t kv_block) { return (kv_block + 31) / 32 * 32; }
inline size_t attn_scratch_floats(int64_t rows, int64_t kv_block, int64_t head_dim) {
  const int64_t dp = attn_pad_dim(head_dim), sp = attn_pad_block(kv_block), rp = (rows + 15) / 16 * 16;
  return static_cast<size_t>(2 * rows * dp + rows * sp + 2 * rp + head_dim * sp + sp * dp);
}

// Decode (one query token), flash-decoding style: every head of the token against one chunk of n
// consecutive cached keys (k / v: the chunk's first position, KV head 0). Per head h, with scores
// s_j = (q_h . k_j) * scale over the chunk: m[h] = max_j s_j, l[h] = sum_j p_j with p_j =
// exp(s_j - m[h]), and o[h * dp ..] = sum_j p_j v_j (dp = attn_pad_dim(head_dim); not yet divided
// by l). The driver (attention.cpp) merges the chunks' parts per head. As in AttnTile, an fp16
// cache takes q rounded to fp16.
struct AttnSplit {
  const float* q = nullptr;  // [n_heads][head_dim]
  int64_t n_heads = 0, n_kv_heads = 0, head_dim = 0;
  const void* k = nullptr;
  const void* v = nullptr;
  size_t kv_stride = 0;  // bytes between positions
  bool f16 = false;
  int64_t n = 0;  // keys in the chunk, >= 1
  float scale = 1.0f;
  float* o = nullptr;  // [n_heads][dp]
  float* m = nullptr;  // [n_heads]
  float* l = nullptr;  // [n_heads]
  float* scratch = nullptr;  // attn_split_scratch_floats(n_heads, n, head_dim) floats, 64-byte aligned
};
// Scratch of one AttnSplit: the heads' query copies [n_heads][Dp], scores [n_heads][Sp], and room
// for 16 keys of partial sums per head or 16 keys as floats (max(n_heads * 256, 16 * Dp)).
inline size_t attn_split_scratch_floats(int64_t n_heads, int64_t n, int64_t head_dim) {
  const int64_t dp = attn_pad_dim(head_dim), keys = n_heads * 256 > 16 * dp ? n_heads * 256 : 16 * dp;
  return static_cast<size_t>(n_heads * (dp + attn_pad_block(n)) + keys);
}

// llama.cpp's non-flash attention for one query row and head, in ggml's float order (ggml AVX-512
// build, F32 cache): scores as ggml_vec_dot_f32, softmax_ext with ggml::expf and a double sum, the
// value sums as its tinyBLAS gemm (a batch of >= 2 tokens) or its vec_dot_f32 (one token).
struct GgmlAttnRow {
  const float* q = nullptr;  // [head_dim]
  float* out = nullptr;      // [head_dim]
  const void* k = nullptr;   // key of position 0 of the row's KV head
  const void* v = nullptr;
  size_t kv_stride = 0;      // bytes between positions
  bool f16 = false;
  int64_t head_dim = 0;
  int64_t n_vis = 0;         // keys 0 .. n_vis-1 are visible
  float scale = 1.0f;
  bool one_token = false;
  float* scores = nullptr;   // scratch: n_vis rounded up to 64 floats
  float* acc = nullptr;      // scratch: 64 x head_dim floats (rounded up to 16), 64-byte aligned
};

// AttentionArgs::bf16: one task against its KV head's keys and values staged once per call as
// bf16 pairs (attention_bf16 in attention.cpp), each 32-bit word two bf16 codes, the lower one first:
//   k [(head_dim + 1) / 2][np]:  word (i, j) = (k_j[2i], k_j[2i + 1])
//   v [np / 2][attn_pad_dim(head_dim)]:  word (i, d) = (v_2i[d], v_2i+1[d])
// with np = n_kv rounded up to kBf16KeyBlock and zeros beyond the keys and head_dim. Per block of
// kBf16KeyBlock keys and per row: scores s_j = (q . k_j) * scale, q rounded to bf16, the exact
// products summed in f32; AttnTile's online-softmax step in f32; p_j rounded to bf16;
// o = o * corr + sum_j p_j v_j summed in f32. out = o / l, l the sum of the unrounded p_j. Only
// the order of the f32 sums differs between the ISAs.
constexpr int64_t kBf16KeyBlock = 64;
struct AttnBf16Tile : AttnQueries {
  const uint32_t* k = nullptr;
  const uint32_t* v = nullptr;
  int64_t np = 0;
  float* scratch = nullptr;  // attn_bf16_scratch_floats(n_tok * n_g, head_dim) floats, 64-byte aligned
};
// Scratch of one AttnBf16Tile (rows = n_tok * n_g): query pairs [rows][(head_dim + 1) / 2 words],
// output accumulator [rows][Dp], running max [rows], running sums [rows][16 lanes], and one row
// group's bf16 probabilities [8][kBf16KeyBlock]; every part 64-byte aligned.
inline size_t attn_bf16_scratch_floats(int64_t rows, int64_t head_dim) {
  const int64_t d2 = (head_dim + 1) / 2, rp = (rows + 15) / 16 * 16;
  return static_cast<size_t>((rows * d2 + 15) / 16 * 16 + rows * attn_pad_dim(head_dim) + rp + rows * 16 +
                             8 * kBf16KeyBlock / 2);
}
using AttnBf16Kernel = void (*)(const AttnBf16Tile& t);
void attention_bf16_tile_scalar(const AttnBf16Tile& t);  // the reference (ops_scalar.cpp)
// The kernel attention() runs AttentionArgs::bf16 with: AVX512_BF16's where the active ISA is
// AVX-512 and the CPU has it, else none (the float tiles run instead).
AttnBf16Kernel attention_bf16_kernel();
// attention() with AttentionArgs::bf16, on the given tile kernel (F32 K/V).
void attention_bf16(const AttentionArgs& a, ThreadPool& pool, AttnBf16Kernel kernel);

// AttentionArgs::int8: the keys quantized once per call (attention_i8 in attention.cpp), per key
// and KV head to 8-bit codes with one scale, c_d = nearbyint(x_d * 127 / max|x|), scale
// max|x| / 127 (quantize_row_i8); with d4 = (head_dim + 3) / 4 and np = n_kv rounded up to 16:
//   kq [d4][np]: word (i, j) = key j's codes 4i .. 4i+3, the lowest byte first
//   ks [np]: key j's scale times the attention scale;  kc [np]: 128 * the sum of key j's codes
// with zeros beyond the keys and head_dim. Each query row is quantized the same way and its codes
// offset by 128 (unsigned), so that s_j = float(sum_d (c_q,d + 128) c_k,d - kc_j) * ks_j * scale_q:
// the exact integer dot product of the two rows' codes (vpdpbusd), then two float products. The
// online softmax and the value sums as AttnTile's, in f32 over the f32 values.
struct AttnI8Tile : AttnQueries {
  const int32_t* kq = nullptr;
  const float* ks = nullptr;
  const int32_t* kc = nullptr;
  int64_t np = 0;
  const float* v = nullptr;  // value of position 0 of this KV head
  int64_t v_stride = 0;      // floats between positions
  int64_t kv_block = 0;      // keys per online-softmax step, a multiple of 16
  float* scratch = nullptr;  // attn_i8_scratch_floats(n_tok * n_g, kv_block, head_dim), 64-byte aligned
};
// Scratch of one AttnI8Tile (rows = n_tok * n_g): AttnTile's output accumulator [rows][Dp], scores
// [rows][Sp], running max and sum [rows] and V block [Sp][Dp], then the query codes [rows][d4]
// (words) and scales [rows].
inline size_t attn_i8_scratch_floats(int64_t rows, int64_t kv_block, int64_t head_dim) {
  const int64_t dp = attn_pad_dim(head_dim), sp = attn_pad_block(kv_block), rp = (rows + 15) / 16 * 16;
  return static_cast<size_t>(rows * dp + rows * sp + 2 * rp + sp * dp + (rows * ((head_dim + 3) / 4) + 15) / 16 * 16 + rp);
}
constexpr int64_t kI8MaxHeadDim = 256;
struct AttnI8Kernel {
  void (*tile)(const AttnI8Tile& t) = nullptr;
  // codes[d] = nearbyint(x[d] * (127 / max|x|)), d < n (all 0 for a zero row); returns max|x| / 127.
  float (*quantize)(const float* x, int64_t n, int8_t* codes) = nullptr;
};
void attention_i8_tile_scalar(const AttnI8Tile& t);  // the reference (ops_scalar.cpp)
float quantize_row_i8(const float* x, int64_t n, int8_t* codes);  // its quantizer (ops_scalar.cpp)
// The kernel attention() runs AttentionArgs::int8 with: AVX2's where the active ISA is AVX2 and the
// CPU has VNNI (AVX-VNNI, or AVX512-VNNI with VL for the same instruction EVEX-encoded), else none
// (the float tiles run instead).
AttnI8Kernel attention_i8_kernel();
// attention() with AttentionArgs::int8, on the given kernel (F32 K/V, head_dim <= kI8MaxHeadDim).
void attention_i8(const AttentionArgs& a, ThreadPool& pool, AttnI8Kernel kernel);

struct OpsTable {
  Isa isa;
  void (*rms_norm)(const float* x, const float* w, float eps, int64_t n_rows, int64_t dim, float* y);
  void (*layer_norm)(const float* x, const float* w, const float* b, float eps, int64_t n_rows, int64_t dim,
                     float* y);
  // Rotates pairs (2i, 2i+1), i < n_rot/2, of each of n_heads rows of head_dim floats with the
  // expanded tables cos2 = (c0, c0, c1, c1, ...), sin2 = (-s0, s0, -s1, s1, ...):
  //   (x0, x1) -> (fma(x0, c, -(x1 s)), fma(x0, s, x1 c)),
  // bit for bit ggml's (x0 cos - x1 sin, x0 sin + x1 cos) as g++ fuses it.
  void (*rope_rows)(float* x, int64_t n_heads, int64_t head_dim, int64_t n_rot, const float* cos2,
                    const float* sin2);
  void (*softmax)(float* x, int64_t n);
  void (*silu_mul)(const float* gate, const float* up, float* y, int64_t n);
  void (*gelu_tanh)(float* x, int64_t n);
  void (*add)(float* y, const float* x, int64_t n);
  void (*scale_add)(float* y, const float* x, float s, int64_t n);
  void (*f32_to_f16)(const float* src, uint16_t* dst, int64_t n);
  void (*f16_to_f32)(const uint16_t* src, float* dst, int64_t n);
  void (*attention_tile)(const AttnTile& t);
  void (*attention_ggml_row)(const GgmlAttnRow& r);
  void (*attention_split)(const AttnSplit& s);
  void (*exp)(const float* x, float* y, int64_t n);  // y = e^x (the vector exp, for tests)
};

// The table of one ISA (whatever the CPU supports: callers check isa_supported()).
const OpsTable& ops_table(Isa isa);
extern const OpsTable kScalarOps;
extern const OpsTable kAvx2Ops;
extern const OpsTable kAvx512Ops;

// attention() with explicit tile sizes (tokens per query tile, keys per online-softmax block);
// kv_block >= n_kv and q_tile >= n_q give the untiled computation (one plain softmax per row).
void attention_tiled(const AttentionArgs& a, ThreadPool& pool, int64_t q_tile, int64_t kv_block);
// attention() with Order::kGgml.
void attention_ggml(const AttentionArgs& a, ThreadPool& pool);
// attention() of one query token (Order::kTiled): the visible keys in chunks (their size a
// function of the key count only), one AttnSplit task each, merged per head in chunk order.
void attention_split(const AttentionArgs& a, ThreadPool& pool);

}  // namespace smolvlm::kernels::detail
