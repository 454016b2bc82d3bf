// Element-wise, normalization, position and attention kernels on float32 rows. Pure functions on
// pointers and sizes; each has a scalar reference and AVX2 / AVX-512 versions chosen by
// active_isa(). They know nothing of models.
#pragma once

#include <cstdint>

#include "io/ggml_type.h"
#include "kernels/matmul.h"
#include "kernels/thread_pool.h"

namespace smolvlm::kernels {

// y[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * w            (x, y: [n_rows, dim]; may alias)
void rms_norm(const float* x, const float* w, float eps, int64_t n_rows, int64_t dim, float* y);
// y[r, :] = (x - mean) / sqrt(var + eps) * w + b                   (may alias)
void layer_norm(const float* x, const float* w, const float* b, float eps, int64_t n_rows, int64_t dim, float* y);
// In place RoPE in llama.cpp's NORM mode: rotates adjacent pairs (2i, 2i+1) of the first n_rot
// dims of every head by pos * freq_base^(-2i/n_rot). x: [n_tokens, n_heads, head_dim].
void rope_norm(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, int64_t n_rot, const int32_t* pos,
               float freq_base);
// The angles of rope_norm: cs[t, i] = (cos, sin) of pos[t] * freq_base^(-2i/n_rot), i < n_rot / 2,
// in ggml's float order (cs: [n_tokens, n_rot / 2, 2]). What a GPU backend uploads for its rotation.
void rope_cos_sin(const int32_t* pos, int64_t n_tokens, int64_t n_rot, float freq_base, float* cs);
void softmax(float* x, int64_t n);                                 // in place, max-subtracted
void silu_mul(const float* gate, const float* up, float* y, int64_t n);  // y = silu(gate) * up
void gelu_tanh(float* x, int64_t n);                               // in place, tanh approximation
void add(float* y, const float* x, int64_t n);                     // y += x
void scale_add(float* y, const float* x, float s, int64_t n);      // y += s * x
// out[i, :] = dequantized row ids[i] of table (any dequantizable type). Throws on an id out of range.
void embed_rows(const WeightView& table, const int32_t* ids, int64_t n, float* out);

// Attention of n_q query rows against n_kv cached key/value rows, GQA by head grouping.
//   q:   [n_q, n_heads, head_dim] f32
//   k,v: [n_kv, n_kv_heads, head_dim] in kv_type (F16 or F32), row stride kv_row_stride bytes
//   out: [n_q, n_heads, head_dim] f32
// Query i sits at position q_pos0 + i; key j at position j. causal: key j visible to query i iff
// j <= q_pos0 + i. scale is usually 1/sqrt(head_dim). Long inputs run in tiles (flash-attention
// style online softmax), parallel over (query tile, head) on the pool.
//
// order: kTiled computes flash-attention style (above); kGgml computes what llama.cpp's non-flash
// CPU graph computes, bit for bit with an F32 or F16 cache (kq = mul_mat(k, q), soft_max_ext, kqv =
// mul_mat(v, kq) in a ggml AVX-512 build's float order; ggml orders the sums one way for a batch
// of one token and another for more, hence one_token). kGgml keeps a score row per query and
// head and 64 value accumulators; it is meant for decode steps and short prompts.
struct AttentionArgs {
  const float* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  float* out = nullptr;
  GgmlType kv_type = GgmlType::F16;
  int64_t n_q = 0, n_kv = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0;
  size_t kv_row_stride = 0;  // bytes between consecutive positions in k and v
  int64_t q_pos0 = 0;
  bool causal = true;
  float scale = 1.0f;
  enum class Order { kTiled, kGgml };
  Order order = Order::kTiled;
  bool one_token = false;  // kGgml: the batch held one token (ggml's vec_dot order for the value sums)
  // kTiled, several query tokens, F32 K/V, where the CPU multiplies bf16 pairs natively (AVX512_BF16):
  // q, k, v and the probabilities rounded to bf16, their exact products summed in f32 (the precision
  // of transformers' bf16 attention, about twice the speed); elsewhere the f32 tiles run.
  bool bf16 = false;
  // kTiled, several query tokens, F32 K/V, where bf16 does not run (above) and the CPU has int8 dot
  // products for the AVX2 path (AVX-VNNI): the scores as exact integer dot products of q and k
  // quantized per row to 8 bits (as a Q8_0 matrix product quantizes its activations, per 32), the
  // softmax and the value sums in f32 (a SigLIP layer's attention ~1.3x faster on Zen 4 with AVX2
  // forced); elsewhere the f32 tiles run.
  bool int8 = false;
};
void attention(const AttentionArgs& a, ThreadPool& pool);

// Converts n f32 values to dst_type (F16 or F32) — used to append keys/values to a cache.
void store_row(GgmlType dst_type, const float* src, void* dst, int64_t n);

}  // namespace smolvlm::kernels
