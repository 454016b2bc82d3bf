// Hyper-parameters of the Llama text decoder (SmolLM2 inside SmolVLM2), read from a GGUF file's
// `llama.*` keys with llama.cpp's defaults for the optional ones.
#pragma once

#include <cstdint>
#include <string>

namespace smolvlm {

class GgufFile;

struct TextConfig {
  int64_t n_embd = 0;        // llama.embedding_length            (hidden_size, E)
  int64_t n_layer = 0;       // llama.block_count                 (num_hidden_layers)
  int64_t n_ff = 0;          // llama.feed_forward_length         (intermediate_size, F)
  int64_t n_head = 0;        // llama.attention.head_count        (num_attention_heads, H)
  int64_t n_head_kv = 0;     // llama.attention.head_count_kv     (num_key_value_heads; default H)
  int64_t head_dim = 0;      // llama.attention.key_length        (default E / H; value_length must agree)
  int64_t n_rot = 0;         // llama.rope.dimension_count        (default head_dim)
  int64_t n_ctx_train = 0;   // llama.context_length              (max_position_embeddings)
  int64_t n_vocab = 0;       // rows of token_embd.weight (checked against llama.vocab_size and the tokenizer)
  float rms_eps = 0;         // llama.attention.layer_norm_rms_epsilon (rms_norm_eps)
  float rope_freq_base = 10000.0f;  // llama.rope.freq_base        (rope_theta)

  int64_t q_dim() const { return n_head * head_dim; }      // H * D
  int64_t kv_dim() const { return n_head_kv * head_dim; }  // Hkv * D
  std::string summary() const;  // one line for logs: "E 576, 30 layers, heads 9/3 x 64, ..."
};

// Reads and checks the hyper-parameters. Throws Error naming the file and key when the file is not
// a llama model, a required key is missing or has the wrong type, or the values are inconsistent.
// n_vocab is left 0 (the weights loader fills it from token_embd.weight).
TextConfig read_text_config(const GgufFile& file);

}  // namespace smolvlm
