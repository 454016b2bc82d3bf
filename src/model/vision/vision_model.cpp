// The vision forward pass, top to bottom (transformers' SmolVLMVisionTransformer and
// SmolVLMConnector; llama.cpp's clip_graph_siglip for the GGUF conventions).
// Shapes: B tiles in this pass, Np patches per tile (T = B*Np rows), C width, H heads of D dims,
// Fv MLP width, K = 3*P*P conv inputs per patch, s pixel-shuffle scale, E text width.
#include "model/vision/vision_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/error.h"
#include "model/numerics.h"

namespace smolvlm {

using backend::Tensor;
using kernels::ThreadPool;

// The buffers of one pass of up to B tiles on the model's device (T = B*Np rows).
struct VisionModel::Activations {
  std::unique_ptr<backend::Buffer> mem;
  Tensor hidden;  // [T, C]   the residual stream
  Tensor h;       // [T, C]   norm output, then out_proj / fc2 output
  Tensor q;       // [T, H*D] (then the pixel-shuffled tokens [B*Nt, C*s*s], the same floats)
  Tensor k;       // [T, H*D]
  Tensor v;       // [T, H*D]
  Tensor attn;    // [T, H*D]
  Tensor wide;    // [T, max(Fv, K)] the MLP's inner rows, or the conv patches
  Tensor tiles;   // [B, 3*S*S] the uploaded tiles (a GPU; the CPU reads the caller's)
};

namespace {

constexpr int64_t kGpuTilesPerPass = 4;
constexpr size_t kAlign = 256;

size_t aligned(size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

}  // namespace

VisionModel::VisionModel(GgufFile file, backend::Device& device, std::shared_ptr<backend::Device> keep)
    : file_(std::move(file)), config_(read_vision_config(file_)), device_(&device), keep_(std::move(keep)) {
  weights_ = bind_vision_weights(file_, config_, device);
  // F32 and F16 weights (as they run: F16 bound as bf16 runs as BF16) compute in f32 throughout;
  // weights whose products are bf16 or coarser (BF16, quantized) take bf16 attention too, in the
  // fast numerics, and quantized ones (whose matrix products quantize their activations to 8 bits)
  // int8 attention scores where the CPU has no bf16 products but int8 ones (AVX2 with VNNI).
  const GgmlType runs_as = weights_.layers.empty() ? GgmlType::F32 : weights_.layers.front().q_proj->type();
  bf16_attention_ = numerics() == Numerics::kFast && runs_as != GgmlType::F32 && runs_as != GgmlType::F16;
  int8_attention_ = bf16_attention_ && runs_as != GgmlType::BF16;
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

int64_t default_tiles_per_pass(bool gpu) { return gpu ? kGpuTilesPerPass : 1; }

size_t vision_pass_bytes(const VisionConfig& c, int64_t B, bool gpu) {
  const auto T = static_cast<size_t>(B * c.n_patches());
  const size_t tiles = gpu ? static_cast<size_t>(B * 3 * c.image_size * c.image_size) : 0;
  return 6 * aligned(T * c.n_embd * 4) + aligned(T * std::max(c.n_ff, c.patch_dim()) * 4) + aligned(tiles * 4);
}

int64_t VisionModel::tiles_per_pass(const VisionEncodeOptions& o, int64_t n_tiles) const {
  const int64_t want = o.max_tiles_per_pass > 0 ? o.max_tiles_per_pass : default_tiles_per_pass(!device_->is_cpu());
  return std::clamp<int64_t>(want, 1, n_tiles);
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

template <class Out>
void VisionModel::run_passes(const float* tiles, int64_t n_tiles, ThreadPool& pool, const VisionEncodeOptions& o,
                             const Out& out_at) const {
  const VisionConfig& c = config_;
  if (n_tiles < 1) fail("vision encode: no tiles");
  if (tiles == nullptr) fail("vision encode: no input");
  int64_t per_pass = tiles_per_pass(o, n_tiles);
  const int64_t C = c.n_embd, W = std::max(c.n_ff, c.patch_dim());
  const int64_t tile_floats = 3 * c.image_size * c.image_size, inter_floats = c.n_patches() * C;

  Activations a;
  for (;;) {  // a GPU short of memory encodes fewer tiles per pass
    try {
      a.mem = device_->alloc(vision_pass_bytes(c, per_pass, !device_->is_cpu()),
                             cat("the vision encoder's activations (", per_pass, " tiles)"));
      break;
    } catch (const backend::OutOfDeviceMemory&) {
      if (per_pass == 1) throw;
      per_pass = 1;
    }
  }
  const int64_t T = per_pass * c.n_patches();
  size_t at = 0;
  const auto carve = [&](int64_t rows, int64_t cols) {
    const Tensor t{a.mem.get(), at, GgmlType::F32, rows, cols};
    at += aligned(static_cast<size_t>(rows * cols) * 4);
    return t;
  };
  for (Tensor* t : {&a.hidden, &a.h, &a.q, &a.k, &a.v, &a.attn}) *t = carve(T, C);
  a.wide = carve(T, W);
  if (!device_->is_cpu()) a.tiles = carve(per_pass, tile_floats);

  for (int64_t t0 = 0; t0 < n_tiles; t0 += per_pass) {
    const int64_t B = std::min(per_pass, n_tiles - t0);
    std::unique_ptr<backend::Ops> ops = device_->begin(pool);
    const float* src = tiles + t0 * tile_floats;
    backend::HostView caller(const_cast<float*>(src), static_cast<size_t>(B * tile_floats) * sizeof(float));
    Tensor input{&caller, 0, GgmlType::F32, B, tile_floats};  // the CPU reads the caller's tiles
    if (!device_->is_cpu()) {
      input = a.tiles.slice(0, B);
      ops->write(input, src);  // uploaded once
    }
    encode_pass(*ops, a, input, B, out_at(t0, B), o.embeddings ? o.embeddings + t0 * inter_floats : nullptr,
                o.post_ln ? o.post_ln + t0 * inter_floats : nullptr);
    ops->finish();
    if (o.on_progress) o.on_progress(t0 + B, n_tiles);
  }
}

void VisionModel::encode(const float* tiles, int64_t n_tiles, float* out, ThreadPool& pool,
                         const VisionEncodeOptions& o) const {
  if (out == nullptr) fail("vision encode: no output buffer");
  const int64_t rows_per_tile = config_.tokens_per_tile(), E = config_.projection_dim;
  if (!device_->is_cpu()) {  // on the device, then read back
    const DeviceEmbeddings d = encode_on_device(tiles, n_tiles, pool, o);
    std::unique_ptr<backend::Ops> ops = device_->begin(pool);
    ops->read(d.rows, out);
    ops->finish();
    return;
  }
  backend::HostView view(out, static_cast<size_t>(std::max<int64_t>(n_tiles, 0) * rows_per_tile * E) * sizeof(float));
  const Tensor all{&view, 0, GgmlType::F32, n_tiles * rows_per_tile, E};
  run_passes(tiles, n_tiles, pool, o, [&](int64_t t0, int64_t B) { return all.slice(t0 * rows_per_tile, B * rows_per_tile); });
}

DeviceEmbeddings VisionModel::encode_on_device(const float* tiles, int64_t n_tiles, ThreadPool& pool,
                                               const VisionEncodeOptions& o) const {
  const int64_t rows_per_tile = config_.tokens_per_tile(), E = config_.projection_dim;
  if (n_tiles < 1) fail("vision encode: no tiles");
  DeviceEmbeddings d;
  d.device = device_;
  d.buffer = device_->alloc(static_cast<size_t>(n_tiles * rows_per_tile * E) * sizeof(float), "image embeddings");
  d.rows = {d.buffer.get(), 0, GgmlType::F32, n_tiles * rows_per_tile, E};
  run_passes(tiles, n_tiles, pool, o, [&](int64_t t0, int64_t B) { return d.rows.slice(t0 * rows_per_tile, B * rows_per_tile); });
  return d;
}

void VisionModel::encode_pass(backend::Ops& o, const Activations& a, const Tensor& tiles, int64_t B, const Tensor& out,
                              float* embeddings, float* post_ln) const {
  const VisionConfig& c = config_;
  const VisionWeights& wt = weights_;
  const int64_t S = c.image_size, P = c.patch_size, n = c.patches_per_side(), Np = c.n_patches();
  const int64_t T = B * Np, C = c.n_embd, F = c.n_ff, H = c.n_head, D = c.head_dim(), K = c.patch_dim();
  const int64_t s = c.scale_factor, Nt = c.tokens_per_tile();
  const float attn_scale = 1.0f / std::sqrt(static_cast<float>(D));

  const Tensor hidden = a.hidden.slice(0, T);        // [T, C]   the residual stream
  const Tensor h = a.h.slice(0, T);                  // [T, C]   norm output, then out_proj / fc2 output
  const Tensor q = a.q.slice(0, T);                  // [T, H*D]
  const Tensor k = a.k.slice(0, T);                  // [T, H*D]
  const Tensor v = a.v.slice(0, T);                  // [T, H*D]
  const Tensor attn = a.attn.slice(0, T);            // [T, H*D]
  const Tensor patches = a.wide.reshape(T, K);       // [T, K]
  const Tensor mlp = a.wide.reshape(T, F);           // [T, Fv]

  // ---- embeddings ----
  // patches = the tiles cut into P x P windows, each flattened (channel, row, column)      [T, K]
  // (384/14: the last S - n*P pixel rows and columns belong to no patch, as in Conv2d)
  o.conv_patches(tiles, S, P, patches);
  // hidden = patch_embedding(tiles) + bias + position_embedding(position_ids = 0 .. Np-1)   [T, C]
  o.matmul(*wt.patch_embedding, patches, hidden);
  o.add_rows(hidden, wt.patch_bias);
  o.add_rows(hidden, wt.position_embedding);  // [Np, C], for each tile
  if (embeddings != nullptr) o.read(hidden, embeddings);

  for (const VisionLayerWeights& w : wt.layers) {
    // ---- self_attn ----
    // h = layer_norm1(hidden)                                                                [T, C]
    o.layer_norm(hidden, w.layer_norm1_w, w.layer_norm1_b, c.eps, h);
    // q = q_proj(h), k = k_proj(h), v = v_proj(h), in one pass over h                       [T, H*D] x 3
    const backend::MatmulOut qkv[] = {{w.q_proj.get(), q}, {w.k_proj.get(), k}, {w.v_proj.get(), v}};
    o.matmul_many(qkv, h);
    o.add_rows(q, w.q_bias);
    o.add_rows(k, w.k_bias);
    o.add_rows(v, w.v_bias);
    // attn = softmax(q k^T / sqrt(D)) v within each tile, every patch sees every patch     [T, H*D]
    for (int64_t b = 0; b < B; ++b)
      o.attention({.q = q.slice(b * Np, Np), .k = k.slice(b * Np, Np), .v = v.slice(b * Np, Np),
                   .out = attn.slice(b * Np, Np), .n_kv = Np, .n_heads = H, .n_kv_heads = H, .head_dim = D,
                   .q_pos0 = 0, .causal = false, .scale = attn_scale, .bf16 = bf16_attention_,
                   .int8 = int8_attention_});
    // hidden = hidden + out_proj(attn)                                                       [T, C]
    o.matmul(*w.out_proj, attn, h);
    o.add_rows(h, w.out_bias);
    o.add(hidden, h);

    // ---- mlp ----
    // h = layer_norm2(hidden)                                                                [T, C]
    o.layer_norm(hidden, w.layer_norm2_w, w.layer_norm2_b, c.eps, h);
    // mlp = gelu_tanh(fc1(h))                                                                [T, Fv]
    o.matmul(*w.fc1, h, mlp);
    o.add_rows(mlp, w.fc1_bias);
    o.gelu_tanh(mlp);
    // hidden = hidden + fc2(mlp)                                                             [T, C]
    o.matmul(*w.fc2, mlp, h);
    o.add_rows(h, w.fc2_bias);
    o.add(hidden, h);
  }

  // h = post_layernorm(hidden)                                                               [T, C]
  o.layer_norm(hidden, wt.post_layernorm_w, wt.post_layernorm_b, c.eps, h);
  if (post_ln != nullptr) o.read(h, post_ln);

  // ---- connector ----
  // shuffled = pixel_shuffle(h, s)                                                   [B*Nt, C*s*s]
  const Tensor shuffled = a.q.reshape(B * Nt, C * s * s);  // T * C floats, exactly the shuffled size
  o.pixel_shuffle(h, n, s, shuffled);
  // out = modality_projection(shuffled), no bias                                            [B*Nt, E]
  o.matmul(*wt.projection, shuffled, out);
}

}  // namespace smolvlm
