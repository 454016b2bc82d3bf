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
// of one pass (max_tiles_per_pass tiles, default one), on all threads of the pool.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "io/gguf.h"
#include "kernels/thread_pool.h"
#include "model/vision/vision_config.h"
#include "model/vision/vision_weights.h"

namespace smolvlm {

struct VisionEncodeOptions {
  // Tiles per pass through the tower. One tile is already a matrix x matrix pass over its 1024
  // (or 729) patches, and more rows per matmul make today's kernels slower, not faster: their
  // prefill plan walks all tokens for each 64-row weight chunk, so once a pass's activations
  // outgrow the caches (fc2 reads T x Fv floats: 12.6 MB for one 256M tile, 50 MB for four) the
  // encoder loses 25 % (2 tiles) to 50 % (4 tiles) of its speed (bench_vision, BM_VisionTiles4).
  // Activations take about n_patches * (6 C + max(Fv, 3 P^2)) floats per tile (32 MB for 256M).
  int64_t max_tiles_per_pass = 1;
  // Optional intermediates (tests, `dev embed`), each [n_tiles, n_patches, C]:
  float* embeddings = nullptr;  // encoder input: patch convolution + bias + position embeddings
  float* post_ln = nullptr;     // encoder output after post_layernorm (the pixel-shuffle input)
};

class VisionModel {
 public:
  // Reads the hyper-parameters and binds the weights for the active ISA (force an ISA before
  // loading). Throws Error naming the file and the tensor or key at fault.
  explicit VisionModel(GgufFile file);
  static VisionModel open(const std::string& path) { return VisionModel(GgufFile::open(path)); }

  const VisionConfig& config() const { return config_; }
  const VisionWeights& weights() const { return weights_; }
  const GgufFile& file() const { return file_; }

  // Throws Error unless `shape` is [n, 3, S, S] with S = image_size (n >= 1): the tiles encode() takes.
  void check_tiles_shape(std::span<const int64_t> shape) const;

  // tiles: n_tiles normalized float32 tiles [n_tiles, 3, S, S] (channel, row, column);
  // out: [n_tiles, tokens_per_tile, projection_dim], tile by tile, tokens in pixel-shuffle order.
  void encode(const float* tiles, int64_t n_tiles, float* out, kernels::ThreadPool& pool,
              const VisionEncodeOptions& options = {}) const;
  std::vector<float> encode(std::span<const float> tiles, int64_t n_tiles, kernels::ThreadPool& pool) const;

  // Floating-point operations of encoding one tile (multiply-adds count 2; matmuls, attention).
  double flops_per_tile() const;

 private:
  // One pass: B tiles (B <= max_tiles_per_pass) through the tower and the connector.
  void encode_pass(const float* tiles, int64_t B, float* out, float* embeddings, float* post_ln, float* scratch,
                   kernels::ThreadPool& pool) const;
  size_t scratch_floats(int64_t B) const;

  GgufFile file_;  // the mapping the weight views point into
  VisionConfig config_;
  VisionWeights weights_;
};

}  // namespace smolvlm
