// The vision tower's and connector's weights, bound once from an mmproj GGUF on one device: on the
// CPU matrices packed for the active ISA's matmul kernels (F32 / F16 / BF16 / Q8_0 / any matmul
// type), on a GPU uploaded once; vectors (norms, biases, the position table) as float32 tensors
// (views of the mapped file when stored F32 and on the CPU, else dequantized copies). Names mirror transformers' modules (Idefics3/SmolVLM vision model); the
// GGUF tensor each one comes from is given alongside (reference/llamacpp-gguf-smolvlm.md §3.2).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "backend/backend.h"
#include "model/vision/vision_config.h"

namespace smolvlm {

class GgufFile;

struct VisionLayerWeights {
  backend::Tensor layer_norm1_w;              // v.blk.N.ln1.weight       [C]
  backend::Tensor layer_norm1_b;              // v.blk.N.ln1.bias         [C]
  std::unique_ptr<backend::Matrix> q_proj;    // v.blk.N.attn_q.weight    [C, C]
  std::unique_ptr<backend::Matrix> k_proj;    // v.blk.N.attn_k.weight    [C, C]
  std::unique_ptr<backend::Matrix> v_proj;    // v.blk.N.attn_v.weight    [C, C]
  backend::Tensor q_bias;                     // v.blk.N.attn_q.bias      [C]
  backend::Tensor k_bias;                     // v.blk.N.attn_k.bias      [C]
  backend::Tensor v_bias;                     // v.blk.N.attn_v.bias      [C]
  std::unique_ptr<backend::Matrix> out_proj;  // v.blk.N.attn_out.weight [C, C]
  backend::Tensor out_bias;                   // v.blk.N.attn_out.bias    [C]
  backend::Tensor layer_norm2_w;              // v.blk.N.ln2.weight       [C]
  backend::Tensor layer_norm2_b;              // v.blk.N.ln2.bias         [C]
  std::unique_ptr<backend::Matrix> fc1;       // v.blk.N.ffn_up.weight    [Fv, C]
  backend::Tensor fc1_bias;                   // v.blk.N.ffn_up.bias      [Fv]
  std::unique_ptr<backend::Matrix> fc2;       // v.blk.N.ffn_down.weight  [C, Fv]
  backend::Tensor fc2_bias;                   // v.blk.N.ffn_down.bias    [C]
};

struct VisionWeights {
  // embeddings.patch_embedding: Conv2d(3, C, P, stride P) as a matrix over flattened patches
  // (channel, row, column) — v.patch_embd.weight ne [P, P, 3, C] is exactly [C, 3*P*P] row-major.
  std::unique_ptr<backend::Matrix> patch_embedding; // [C, 3*P*P]
  backend::Tensor patch_bias;                 // v.patch_embd.bias      [C]
  backend::Tensor position_embedding;         // v.position_embd.weight [n_patches, C]
  std::vector<VisionLayerWeights> layers;                  // n_layer
  backend::Tensor post_layernorm_w;           // v.post_ln.weight [C]
  backend::Tensor post_layernorm_b;           // v.post_ln.bias   [C]
  // connector.modality_projection.proj (no bias): mm.model.fc.weight [E, C*s^2]
  std::unique_ptr<backend::Matrix> projection;
  // Files converted between llama.cpp PRs #13050 and #13290 store fc2 under ffn_up and fc1 under
  // ffn_down; detected by shape (as clip.cpp does) and bound the right way round.
  bool ffn_swapped = false;

  std::vector<std::unique_ptr<float[]>> owned;  // dequantized copies of non-F32 vectors
  std::vector<std::unique_ptr<backend::Buffer>> buffers;  // the vectors' memory on the device

  size_t matmul_bytes() const;  // weight bytes of every matrix (for reports)
};

// Validates every tensor's presence, shape and type against `config` and binds them on `device`.
// Errors name the file, the tensor and its type or shape (and, for a GPU, what did not fit).
// `file` must outlive the result.
VisionWeights bind_vision_weights(const GgufFile& file, const VisionConfig& config, backend::Device& device);

}  // namespace smolvlm
