// The vision tower's and connector's weights, bound once from an mmproj GGUF: matrices packed for
// the active ISA's matmul kernels (F32 / F16 / BF16 / Q8_0 / any matmul type), vectors (norms,
// biases, the position table) as float32 (views of the mapped file when stored F32, else
// dequantized copies). Names mirror transformers' modules (Idefics3/SmolVLM vision model); the
// GGUF tensor each one comes from is given alongside (reference/llamacpp-gguf-smolvlm.md §3.2).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/matmul.h"
#include "model/vision/vision_config.h"

namespace smolvlm {

class GgufFile;

struct VisionLayerWeights {
  const float* layer_norm1_w = nullptr;           // v.blk.N.ln1.weight       [C]
  const float* layer_norm1_b = nullptr;           // v.blk.N.ln1.bias         [C]
  std::unique_ptr<kernels::PackedWeight> q_proj;  // v.blk.N.attn_q.weight    [C, C]
  std::unique_ptr<kernels::PackedWeight> k_proj;  // v.blk.N.attn_k.weight    [C, C]
  std::unique_ptr<kernels::PackedWeight> v_proj;  // v.blk.N.attn_v.weight    [C, C]
  const float* q_bias = nullptr;                  // v.blk.N.attn_q.bias      [C]
  const float* k_bias = nullptr;                  // v.blk.N.attn_k.bias      [C]
  const float* v_bias = nullptr;                  // v.blk.N.attn_v.bias      [C]
  std::unique_ptr<kernels::PackedWeight> out_proj;  // v.blk.N.attn_out.weight [C, C]
  const float* out_bias = nullptr;                // v.blk.N.attn_out.bias    [C]
  const float* layer_norm2_w = nullptr;           // v.blk.N.ln2.weight       [C]
  const float* layer_norm2_b = nullptr;           // v.blk.N.ln2.bias         [C]
  std::unique_ptr<kernels::PackedWeight> fc1;     // v.blk.N.ffn_up.weight    [Fv, C]
  const float* fc1_bias = nullptr;                // v.blk.N.ffn_up.bias      [Fv]
  std::unique_ptr<kernels::PackedWeight> fc2;     // v.blk.N.ffn_down.weight  [C, Fv]
  const float* fc2_bias = nullptr;                // v.blk.N.ffn_down.bias    [C]
};

struct VisionWeights {
  // embeddings.patch_embedding: Conv2d(3, C, P, stride P) as a matrix over flattened patches
  // (channel, row, column) — v.patch_embd.weight ne [P, P, 3, C] is exactly [C, 3*P*P] row-major.
  std::unique_ptr<kernels::PackedWeight> patch_embedding;  // [C, 3*P*P]
  const float* patch_bias = nullptr;                       // v.patch_embd.bias      [C]
  const float* position_embedding = nullptr;               // v.position_embd.weight [n_patches, C]
  std::vector<VisionLayerWeights> layers;                  // n_layer
  const float* post_layernorm_w = nullptr;                 // v.post_ln.weight [C]
  const float* post_layernorm_b = nullptr;                 // v.post_ln.bias   [C]
  // connector.modality_projection.proj (no bias): mm.model.fc.weight [E, C*s^2]
  std::unique_ptr<kernels::PackedWeight> projection;
  // Files converted between llama.cpp PRs #13050 and #13290 store fc2 under ffn_up and fc1 under
  // ffn_down; detected by shape (as clip.cpp does) and bound the right way round.
  bool ffn_swapped = false;

  std::vector<std::unique_ptr<float[]>> owned;  // dequantized copies of non-F32 vectors

  size_t matmul_bytes() const;  // weight bytes of every matrix (for reports)
};

// Validates every tensor's presence, shape and type against `config` and binds them. Errors name
// the file, the tensor and its type or shape. `file` must outlive the result.
VisionWeights bind_vision_weights(const GgufFile& file, const VisionConfig& config);

}  // namespace smolvlm
