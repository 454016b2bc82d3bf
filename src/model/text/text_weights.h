// The Llama decoder's weights, bound once from a GGUF file on the device of their layer
// (text_placement.h): on the CPU packed for the active ISA's kernels (zero-copy views of the
// mmap'd file where the kernel wants the file layout), on a GPU uploaded once. Norm vectors are
// [1, E] tensors; the embedding table is a matrix read by row lookups. Names mirror transformers'
// modules; the GGUF tensor each one comes from is given alongside.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "backend/backend.h"
#include "kernels/matmul.h"
#include "model/text/text_config.h"
#include "model/text/text_placement.h"

namespace smolvlm {

class GgufFile;

struct TextLayerWeights {
  backend::Tensor input_layernorm;                 // blk.N.attn_norm.weight   [E]
  std::unique_ptr<backend::Matrix> q_proj;         // blk.N.attn_q.weight      [H*D, E]   (rows permuted for NORM rope)
  std::unique_ptr<backend::Matrix> k_proj;         // blk.N.attn_k.weight      [Hkv*D, E] (rows permuted for NORM rope)
  std::unique_ptr<backend::Matrix> v_proj;         // blk.N.attn_v.weight      [Hkv*D, E]
  std::unique_ptr<backend::Matrix> o_proj;         // blk.N.attn_output.weight [E, H*D]
  backend::Tensor post_attention_layernorm;        // blk.N.ffn_norm.weight    [E]
  std::unique_ptr<backend::Matrix> gate_proj;      // blk.N.ffn_gate.weight    [F, E]
  std::unique_ptr<backend::Matrix> up_proj;        // blk.N.ffn_up.weight      [F, E]
  std::unique_ptr<backend::Matrix> down_proj;      // blk.N.ffn_down.weight    [E, F]
  std::vector<std::unique_ptr<backend::Buffer>> owned;  // the norm vectors' memory
  size_t bytes() const;                            // every weight of the layer
};

struct TextWeights {
  std::unique_ptr<backend::Matrix> embed_tokens;   // token_embd.weight [V, E] (row lookup, any dequantizable type)
  std::vector<TextLayerWeights> layers;            // n_layer
  backend::Tensor norm;                            // output_norm.weight [E]
  std::unique_ptr<backend::Matrix> lm_head;        // output.weight [V, E], or token_embd.weight when tied
  std::vector<std::unique_ptr<backend::Buffer>> owned;
  bool tied_lm_head = false;                       // output.weight absent: lm_head reuses token_embd

  // Weight bytes the matmuls stream for one token (every projection and lm_head; not the
  // embedding table, which is a row lookup): the numerator of the decode bandwidth bound.
  size_t matmul_bytes() const;
};

// Validates every tensor's presence, shape and type against `config` (which gets n_vocab from
// token_embd.weight, checked against llama.vocab_size and the tokenizer's token count) and binds
// them on their devices. Errors name the file, the tensor and its type or shape (and, for a GPU,
// what did not fit). `file` must outlive the result.
TextWeights bind_text_weights(const GgufFile& file, TextConfig& config, const TextPlacement& placement,
                              kernels::SumOrder order);

// The bytes the weights of each part take (for the offload planner), read from the file's tensor
// table without binding anything: [0, n_layer) the layers, then input (token_embd) and output
// (output_norm + output, or nothing more when lm_head is tied to token_embd).
struct TextWeightSizes {
  std::vector<uint64_t> layers;
  uint64_t input = 0, output = 0;
};
TextWeightSizes text_weight_sizes(const GgufFile& file, const TextConfig& config);

}  // namespace smolvlm
