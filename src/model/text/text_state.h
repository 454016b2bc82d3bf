// Per-sequence state of the text decoder: the KV cache and the activation buffers of one batch
// (prefill chunk or decode step). Made by TextModel::new_state; one per conversation.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "backend/backend.h"
#include "io/ggml_type.h"
#include "model/text/kv_cache.h"
#include "model/text/text_config.h"
#include "model/text/text_placement.h"

namespace smolvlm {

struct TextStateOptions {
  int64_t n_ctx = 0;                   // KV cache positions; 0: min(trained context, kDefaultCtx)
  GgmlType kv_type = GgmlType::F16;    // F16 (default, like llama.cpp) or F32
  int64_t n_batch = 512;               // prompt tokens per matrix x matrix pass
  static constexpr int64_t kDefaultCtx = 4096;
};

// The activations of one pass of up to `rows` rows (prefill chunk, decode step or a batch of
// decode steps of several sequences) on each device the model uses; names as in the forward pass.
struct TextActivations {
  struct OnDevice {
    backend::Device* device = nullptr;
    std::unique_ptr<backend::Buffer> mem;
    backend::Tensor hidden;  // [B, E]    the residual stream
    backend::Tensor normed;  // [B, E]    norm output, then o_proj / down_proj output
    backend::Tensor q;       // [B, H*D]
    backend::Tensor k;       // [B, Hkv*D]
    backend::Tensor v;       // [B, Hkv*D]
    backend::Tensor attn;    // [B, H*D]
    backend::Tensor gate;    // [B, F]
    backend::Tensor up;      // [B, F]
    backend::Tensor logits;  // [min(B, kLogitRows), V] on a GPU that runs lm_head (the CPU writes the caller's)
  };
  static constexpr int64_t kLogitRows = 16;

  TextActivations() = default;
  TextActivations(const TextConfig& c, int64_t rows, const TextPlacement& placement);
  int64_t rows() const { return static_cast<int64_t>(pos.size()); }
  OnDevice& on(const backend::Device* d);

  std::vector<OnDevice> sets;  // one per device of the placement
  std::vector<int32_t> pos;    // [B] positions of the rows
};

class TextState {
 public:
  TextState(const TextConfig& config, const TextStateOptions& options, const TextPlacement& placement);

  const TextConfig& config() const { return config_; }
  int64_t n_batch() const { return n_batch_; }
  int64_t n_past() const { return kv.n_past(); }
  int64_t n_ctx() const { return kv.n_ctx(); }
  void clear() { kv.clear(); }  // forget the sequence; the next input starts at position 0
  void truncate(int64_t n) { kv.truncate(n); }  // keep positions 0 .. n-1; the next input goes to n

  KvCache kv;
  TextActivations act;  // n_batch rows

 private:
  TextConfig config_;
  int64_t n_batch_ = 0;
};

// The context size a state gets for these options (0: min(trained context, kDefaultCtx)).
int64_t text_context_size(const TextConfig& c, const TextStateOptions& o);

}  // namespace smolvlm
