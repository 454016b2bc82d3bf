// The vision forward pass, top to bottom (transformers' SmolVLMVisionTransformer and
// SmolVLMConnector; llama.cpp's clip_graph_siglip for the GGUF conventions).
// Shapes: B tiles in this pass, Np patches per tile (T = B*Np rows), C width, H heads of D dims,
// Fv MLP width, K = 3*P*P conv inputs per patch, s pixel-shuffle scale, E text width.
#include "model/vision/vision_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <new>

#include "base/error.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "model/vision/connector.h"

namespace smolvlm {

using kernels::ThreadPool;

namespace {

// Row-wise kernels (norms, bias, activations) are single-threaded; a pass splits its rows over
// the pool. fn(first_row, n_rows).
void for_rows(ThreadPool& pool, int64_t n_rows, const std::function<void(int64_t, int64_t)>& fn) {
  const int64_t parts = std::min<int64_t>(4 * pool.size(), n_rows / 16);
  if (parts <= 1) return fn(0, n_rows);
  pool.run(parts, [&](int64_t p, int) {
    const int64_t r0 = n_rows * p / parts, r1 = n_rows * (p + 1) / parts;
    fn(r0, r1 - r0);
  });
}

// y[r] = layer_norm(x[r]) * w + b for n rows of width dim.
void layer_norm_rows(ThreadPool& pool, const float* x, const float* w, const float* b, float eps, int64_t n,
                     int64_t dim, float* y) {
  for_rows(pool, n, [&](int64_t r, int64_t m) { kernels::layer_norm(x + r * dim, w, b, eps, m, dim, y + r * dim); });
}

// 64-byte aligned, uninitialized float storage (every buffer is written before it is read).
struct Scratch {
  explicit Scratch(size_t n)
      : p(static_cast<float*>(::operator new(n * sizeof(float), std::align_val_t(64)))) {}
  ~Scratch() { ::operator delete(p, std::align_val_t(64)); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  float* p;
};

// Rounds a buffer size up to whole cache lines so that every carved buffer stays 64-byte aligned.
int64_t lines(int64_t floats) { return (floats + 15) / 16 * 16; }

}  // namespace

VisionModel::VisionModel(GgufFile file) : file_(std::move(file)), config_(read_vision_config(file_)) {
  weights_ = bind_vision_weights(file_, config_);
}

void VisionModel::check_tiles_shape(std::span<const int64_t> shape) const {
  const int64_t S = config_.image_size;
  std::string got = "[";
  for (size_t i = 0; i < shape.size(); ++i) got += (i ? ", " : "") + std::to_string(shape[i]);
  got += "]";
  if (shape.size() != 4 || shape[1] != 3)
    fail("vision tiles have shape ", got, ", expected [n_tiles, 3, ", S, ", ", S, "] (normalized float32 RGB, "
         "channel-first)");
  if (shape[0] < 1) fail("vision tiles have shape ", got, ": no tiles");
  if (shape[2] != S || shape[3] != S)
    fail("vision tiles are ", shape[2], "x", shape[3], " pixels (shape ", got, "), but this vision encoder takes ", S,
         "x", S, " tiles (clip.vision.image_size)");
}

size_t VisionModel::scratch_floats(int64_t B) const {
  const VisionConfig& c = config_;
  const int64_t T = B * c.n_patches();
  // hidden, h, q, k, v, attn: [T, C] each; wide: [T, max(Fv, K)] (MLP, conv patches, shuffled tokens)
  return static_cast<size_t>(6 * lines(T * c.n_embd) + lines(T * std::max(c.n_ff, c.patch_dim())));
}

double VisionModel::flops_per_tile() const {
  const VisionConfig& c = config_;
  const double N = double(c.n_patches()), C = double(c.n_embd), F = double(c.n_ff);
  const double conv = 2.0 * N * double(c.patch_dim()) * C;
  const double layer = 2.0 * N * (4.0 * C * C + 2.0 * C * F)  // q, k, v, out; fc1, fc2
                       + 4.0 * N * N * C;                     // scores q.k and the value sums
  const double connector = 2.0 * double(c.tokens_per_tile()) * double(c.connector_dim()) * double(c.projection_dim);
  return conv + double(c.n_layer) * layer + connector;
}

std::vector<float> VisionModel::encode(std::span<const float> tiles, int64_t n_tiles, ThreadPool& pool) const {
  const int64_t S = config_.image_size;
  if (n_tiles < 1 || tiles.size() != static_cast<size_t>(n_tiles * 3 * S * S))
    fail("vision tiles: ", tiles.size(), " floats given for ", n_tiles, " tiles of 3x", S, "x", S);
  std::vector<float> out(static_cast<size_t>(n_tiles * config_.tokens_per_tile() * config_.projection_dim));
  encode(tiles.data(), n_tiles, out.data(), pool);
  return out;
}

void VisionModel::encode(const float* tiles, int64_t n_tiles, float* out, ThreadPool& pool,
                         const VisionEncodeOptions& o) const {
  const VisionConfig& c = config_;
  if (n_tiles < 1) fail("vision encode: no tiles");
  if (tiles == nullptr || out == nullptr) fail("vision encode: no input or output buffer");
  const int64_t per_pass = std::clamp<int64_t>(o.max_tiles_per_pass, 1, n_tiles);
  Scratch scratch(scratch_floats(per_pass));
  const int64_t tile_floats = 3 * c.image_size * c.image_size;
  const int64_t out_floats = c.tokens_per_tile() * c.projection_dim, inter_floats = c.n_patches() * c.n_embd;
  for (int64_t t0 = 0; t0 < n_tiles; t0 += per_pass) {
    const int64_t B = std::min(per_pass, n_tiles - t0);
    encode_pass(tiles + t0 * tile_floats, B, out + t0 * out_floats,
                o.embeddings ? o.embeddings + t0 * inter_floats : nullptr,
                o.post_ln ? o.post_ln + t0 * inter_floats : nullptr, scratch.p, pool);
  }
}

void VisionModel::encode_pass(const float* tiles, int64_t B, float* out, float* embeddings, float* post_ln,
                              float* scratch, ThreadPool& pool) const {
  const VisionConfig& c = config_;
  const VisionWeights& wt = weights_;
  const int64_t S = c.image_size, P = c.patch_size, n = c.patches_per_side(), Np = c.n_patches();
  const int64_t T = B * Np, C = c.n_embd, F = c.n_ff, H = c.n_head, D = c.head_dim(), K = c.patch_dim();
  const int64_t s = c.scale_factor, Nt = c.tokens_per_tile();
  const float attn_scale = 1.0f / std::sqrt(static_cast<float>(D));

  float* hidden = scratch;               // [T, C]   the residual stream
  float* h = hidden + lines(T * C);      // [T, C]   norm output, then out_proj / fc2 output
  float* q = h + lines(T * C);           // [T, H*D]
  float* k = q + lines(T * C);           // [T, H*D]
  float* v = k + lines(T * C);           // [T, H*D]
  float* attn = v + lines(T * C);        // [T, H*D]
  float* wide = attn + lines(T * C);     // [T, max(Fv, K)]

  // ---- embeddings ----
  // patches = the tiles cut into P x P windows, each flattened (channel, row, column)      [T, K]
  // (384/14: the last S - n*P pixel rows and columns belong to no patch, as in Conv2d)
  float* patches = wide;
  for_rows(pool, B * n, [&](int64_t r0, int64_t m) {  // rows of patches
    for (int64_t br = r0; br < r0 + m; ++br) {
      const int64_t b = br / n, r = br % n;
      const float* tile = tiles + b * 3 * S * S;
      for (int64_t col = 0; col < n; ++col) {
        float* dst = patches + ((b * Np) + r * n + col) * K;
        for (int64_t ch = 0; ch < 3; ++ch)
          for (int64_t ky = 0; ky < P; ++ky)
            std::memcpy(dst + (ch * P + ky) * P, tile + (ch * S + r * P + ky) * S + col * P, P * sizeof(float));
      }
    }
  });
  // hidden = patch_embedding(tiles) + bias + position_embedding(position_ids = 0 .. Np-1)   [T, C]
  kernels::matmul(*wt.patch_embedding, patches, T, hidden, pool);
  for_rows(pool, T, [&](int64_t r0, int64_t m) {
    for (int64_t r = r0; r < r0 + m; ++r) {
      kernels::add(hidden + r * C, wt.patch_bias, C);
      kernels::add(hidden + r * C, wt.position_embedding + (r % Np) * C, C);
    }
  });
  if (embeddings != nullptr) std::memcpy(embeddings, hidden, static_cast<size_t>(T * C) * sizeof(float));

  for (const VisionLayerWeights& w : wt.layers) {
    // ---- self_attn ----
    // h = layer_norm1(hidden)                                                                [T, C]
    layer_norm_rows(pool, hidden, w.layer_norm1_w, w.layer_norm1_b, c.eps, T, C, h);
    // q = q_proj(h), k = k_proj(h), v = v_proj(h), in one pass over h                       [T, H*D] x 3
    const kernels::MatmulOut qkv[] = {{w.q_proj.get(), q}, {w.k_proj.get(), k}, {w.v_proj.get(), v}};
    kernels::matmul_many(qkv, 3, h, T, pool);
    for_rows(pool, T, [&](int64_t r0, int64_t m) {
      for (int64_t r = r0; r < r0 + m; ++r) {
        kernels::add(q + r * C, w.q_bias, C);
        kernels::add(k + r * C, w.k_bias, C);
        kernels::add(v + r * C, w.v_bias, C);
      }
    });
    // attn = softmax(q k^T / sqrt(D)) v within each tile, every patch sees every patch     [T, H*D]
    for (int64_t b = 0; b < B; ++b) {
      const int64_t at = b * Np * C;
      kernels::attention({.q = q + at, .k = k + at, .v = v + at, .out = attn + at, .kv_type = GgmlType::F32,
                          .n_q = Np, .n_kv = Np, .n_heads = H, .n_kv_heads = H, .head_dim = D,
                          .kv_row_stride = static_cast<size_t>(C) * sizeof(float), .q_pos0 = 0, .causal = false,
                          .scale = attn_scale},
                         pool);
    }
    // hidden = hidden + out_proj(attn)                                                       [T, C]
    kernels::matmul(*w.out_proj, attn, T, h, pool);
    for_rows(pool, T, [&](int64_t r0, int64_t m) {
      for (int64_t r = r0; r < r0 + m; ++r) {
        kernels::add(h + r * C, w.out_bias, C);
        kernels::add(hidden + r * C, h + r * C, C);
      }
    });

    // ---- mlp ----
    // h = layer_norm2(hidden)                                                                [T, C]
    layer_norm_rows(pool, hidden, w.layer_norm2_w, w.layer_norm2_b, c.eps, T, C, h);
    // wide = gelu_tanh(fc1(h))                                                               [T, Fv]
    kernels::matmul(*w.fc1, h, T, wide, pool);
    for_rows(pool, T, [&](int64_t r0, int64_t m) {
      for (int64_t r = r0; r < r0 + m; ++r) kernels::add(wide + r * F, w.fc1_bias, F);
      kernels::gelu_tanh(wide + r0 * F, m * F);
    });
    // hidden = hidden + fc2(wide)                                                            [T, C]
    kernels::matmul(*w.fc2, wide, T, h, pool);
    for_rows(pool, T, [&](int64_t r0, int64_t m) {
      for (int64_t r = r0; r < r0 + m; ++r) {
        kernels::add(h + r * C, w.fc2_bias, C);
        kernels::add(hidden + r * C, h + r * C, C);
      }
    });
  }

  // h = post_layernorm(hidden)                                                               [T, C]
  layer_norm_rows(pool, hidden, wt.post_layernorm_w, wt.post_layernorm_b, c.eps, T, C, h);
  if (post_ln != nullptr) std::memcpy(post_ln, h, static_cast<size_t>(T * C) * sizeof(float));

  // ---- connector ----
  // shuffled = pixel_shuffle(h, s)                                                   [B*Nt, C*s*s]
  float* shuffled = q;  // T * C floats, exactly the shuffled size
  pixel_shuffle(h, B, n, C, s, shuffled);
  // out = modality_projection(shuffled), no bias                                            [B*Nt, E]
  kernels::matmul(*wt.projection, shuffled, B * Nt, out, pool);
}

}  // namespace smolvlm
