// SmolVLM2's vision tower and connector over an mmproj GGUF (arch clip, projector idefics3): ours,
// llama-quantize's or ggml-org's. Immutable after load; each encode() call allocates its own
// activations, so calls from several threads (each with its own pool) do not interfere.
//
//   VisionModel vision = VisionModel::open("mmproj-F16.gguf");
//   // tiles: normalized float32 [n, 3, S, S] (S = config().image_size)
//   std::vector<float> emb = vision.encode(tiles, n, pool);  // [n, tokens_per_tile, projection_dim]
//
// The forward pass is transformers' (SmolVLMVisionTransformer + SmolVLMConnector): patch
// convolution, learned position embeddings with identity position ids (full tiles, spec §3.3),
// pre-LN encoder layers with bidirectional attention and GELU (tanh), post_layernorm, pixel
// shuffle, bias-free projection. Every step runs as matrix x matrix over all patches of the tiles
// of one pass, on the model's device (the CPU's threads, or a GPU: one submit per pass, the tiles
// uploaded once, the embeddings left there for the text model's prefill).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "io/gguf.h"
#include "kernels/thread_pool.h"
#include "model/vision/vision_config.h"
#include "model/vision/vision_weights.h"

namespace smolvlm {

struct VisionEncodeOptions {
  // Tiles per pass through the tower (0: the device's default: 1 on the CPU, 4 on a GPU). On the
  // CPU one tile is already a matrix x matrix pass over its 1024
  // (or 729) patches, and more rows per matmul make today's kernels slower, not faster: their
  // prefill plan walks all tokens for each 64-row weight chunk, so once a pass's activations
  // outgrow the caches (fc2 reads T x Fv floats: 12.6 MB for one 256M tile, 50 MB for four) the
  // encoder loses 25 % (2 tiles) to 50 % (4 tiles) of its speed (bench_vision, BM_VisionTiles4).
  // Activations take about n_patches * (6 C + max(Fv, 3 P^2)) floats per tile (32 MB for 256M).
  int64_t max_tiles_per_pass = 0;
  // Optional intermediates (tests, `dev embed`), each [n_tiles, n_patches, C]:
  float* embeddings = nullptr;  // encoder input: patch convolution + bias + position embeddings
  float* post_ln = nullptr;     // encoder output after post_layernorm (the pixel-shuffle input)
  // Called after each pass: tiles encoded so far, of all (a progress display).
  std::function<void(int64_t done, int64_t total)> on_progress = nullptr;
};

// Tiles per encode pass by default: 1 on the CPU, more on a GPU (VisionEncodeOptions).
int64_t default_tiles_per_pass(bool gpu);
// Device memory an encode pass of `tiles` tiles takes (activations, and on a GPU the uploaded tiles).
size_t vision_pass_bytes(const VisionConfig& c, int64_t tiles, bool gpu);

// Embeddings left on the device that computed them: [n_tiles * tokens_per_tile, projection_dim].
struct DeviceEmbeddings {
  std::shared_ptr<backend::Buffer> buffer;
  backend::Tensor rows;
  backend::Device* device = nullptr;
};

class VisionModel {
 public:
  // Reads the hyper-parameters and binds the weights on `device` (the CPU: for the active ISA;
  // force an ISA before loading). Throws Error naming the file and the tensor or key at fault.
  explicit VisionModel(GgufFile file, backend::Device& device = backend::cpu(),
                       std::shared_ptr<backend::Device> keep = nullptr);
  static VisionModel open(const std::string& path, backend::Device& device = backend::cpu(),
                          std::shared_ptr<backend::Device> keep = nullptr) {
    return VisionModel(GgufFile::open(path), device, std::move(keep));
  }

  const VisionConfig& config() const { return config_; }
  const VisionWeights& weights() const { return weights_; }
  const GgufFile& file() const { return file_; }
  backend::Device& device() const { return *device_; }

  // Throws Error unless `shape` is [n, 3, S, S] with S = image_size (n >= 1): the tiles encode() takes.
  void check_tiles_shape(std::span<const int64_t> shape) const;

  // tiles: n_tiles normalized float32 tiles [n_tiles, 3, S, S] (channel, row, column);
  // out: [n_tiles, tokens_per_tile, projection_dim], tile by tile, tokens in pixel-shuffle order.
  void encode(const float* tiles, int64_t n_tiles, float* out, kernels::ThreadPool& pool,
              const VisionEncodeOptions& options = {}) const;
  std::vector<float> encode(std::span<const float> tiles, int64_t n_tiles, kernels::ThreadPool& pool) const;
  // The same, leaving the embeddings on the model's device (a GPU: for a prefill there).
  DeviceEmbeddings encode_on_device(const float* tiles, int64_t n_tiles, kernels::ThreadPool& pool,
                                    const VisionEncodeOptions& options = {}) const;

  // Floating-point operations of encoding one tile (multiply-adds count 2; matmuls, attention).
  double flops_per_tile() const;

 private:
  struct Activations;  // one pass's buffers on the device (vision_model.cpp)
  // One pass: B tiles [B, 3*S*S] on the device through the tower and the connector into out
  // [B*Nt, E]; the optional intermediates read back into embeddings / post_ln.
  void encode_pass(backend::Ops& ops, const Activations& a, const backend::Tensor& tiles, int64_t B,
                   const backend::Tensor& out, float* embeddings, float* post_ln) const;
  int64_t tiles_per_pass(const VisionEncodeOptions& o, int64_t n_tiles) const;
  // encode() and encode_on_device(): each pass's output into out_at(first tile, tiles) on the device.
  template <class Out>
  void run_passes(const float* tiles, int64_t n_tiles, kernels::ThreadPool& pool, const VisionEncodeOptions& o,
                  const Out& out_at) const;

  GgufFile file_;  // the mapping the weight views point into
  VisionConfig config_;
  backend::Device* device_;
  std::shared_ptr<backend::Device> keep_;  // keeps a GPU open
  VisionWeights weights_;
  // Attention may multiply bf16 pairs where the CPU does so natively (backend::AttentionOp::bf16):
  // the fast numerics (model/numerics.h) at load, with weights that run as BF16 or quantized; with
  // quantized weights also int8 codes where the CPU has int8 but no bf16 products (::int8).
  bool bf16_attention_ = false;
  bool int8_attention_ = false;
};

}  // namespace smolvlm
