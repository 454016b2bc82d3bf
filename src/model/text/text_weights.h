// The Llama decoder's weights, bound once from a GGUF file: matrices packed for the active ISA's
// matmul kernels (zero-copy views of the mmap'd file where the kernel wants the file layout),
// norm vectors as float32 views, the embedding table as a row-lookup view. Names mirror
// transformers' modules; the GGUF tensor each one comes from is given alongside.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/matmul.h"
#include "model/text/text_config.h"

namespace smolvlm {

class GgufFile;

struct TextLayerWeights {
  const float* input_layernorm = nullptr;           // blk.N.attn_norm.weight   [E]
  std::unique_ptr<kernels::PackedWeight> q_proj;    // blk.N.attn_q.weight      [H*D, E]   (rows permuted for NORM rope)
  std::unique_ptr<kernels::PackedWeight> k_proj;    // blk.N.attn_k.weight      [Hkv*D, E] (rows permuted for NORM rope)
  std::unique_ptr<kernels::PackedWeight> v_proj;    // blk.N.attn_v.weight      [Hkv*D, E]
  std::unique_ptr<kernels::PackedWeight> o_proj;    // blk.N.attn_output.weight [E, H*D]
  const float* post_attention_layernorm = nullptr;  // blk.N.ffn_norm.weight    [E]
  std::unique_ptr<kernels::PackedWeight> gate_proj;  // blk.N.ffn_gate.weight   [F, E]
  std::unique_ptr<kernels::PackedWeight> up_proj;    // blk.N.ffn_up.weight     [F, E]
  std::unique_ptr<kernels::PackedWeight> down_proj;  // blk.N.ffn_down.weight   [E, F]
};

struct TextWeights {
  kernels::WeightView embed_tokens;                // token_embd.weight [V, E] (row lookup, any dequantizable type)
  std::vector<TextLayerWeights> layers;            // n_layer
  const float* norm = nullptr;                     // output_norm.weight [E]
  std::unique_ptr<kernels::PackedWeight> lm_head;  // output.weight [V, E], or token_embd.weight when tied
  bool tied_lm_head = false;                       // output.weight absent: lm_head reuses token_embd

  // Weight bytes the matmuls stream for one token (every projection and lm_head; not the
  // embedding table, which is a row lookup): the numerator of the decode bandwidth bound.
  size_t matmul_bytes() const;
};

// Validates every tensor's presence, shape and type against `config` (which gets n_vocab from
// token_embd.weight, checked against llama.vocab_size and the tokenizer's token count) and binds
// them. Errors name the file, the tensor and its type or shape. `file` must outlive the result.
TextWeights bind_text_weights(const GgufFile& file, TextConfig& config);

}  // namespace smolvlm
