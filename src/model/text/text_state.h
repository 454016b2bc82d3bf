// Per-sequence state of the text decoder: the KV cache and the activation buffers of one batch
// (prefill chunk or decode step). Made by TextModel::new_state; one per conversation.
#pragma once

#include <cstdint>
#include <new>
#include <vector>

#include "io/ggml_type.h"
#include "model/text/kv_cache.h"
#include "model/text/text_config.h"

namespace smolvlm {

struct TextStateOptions {
  int64_t n_ctx = 0;                   // KV cache positions; 0: min(trained context, kDefaultCtx)
  GgmlType kv_type = GgmlType::F16;    // F16 (default, like llama.cpp) or F32
  int64_t n_batch = 512;               // prompt tokens per matrix x matrix pass
  static constexpr int64_t kDefaultCtx = 4096;
};

// 64-byte aligned storage for activations (whole cache lines for the SIMD kernels).
template <typename T>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <typename U>
  AlignedAllocator(const AlignedAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(64))); }
  void deallocate(T* p, size_t) { ::operator delete(p, std::align_val_t(64)); }
  bool operator==(const AlignedAllocator&) const { return true; }
};
using FloatBuffer = std::vector<float, AlignedAllocator<float>>;

// The activations of one pass of up to `rows` rows (prefill chunk, decode step or a batch of
// decode steps of several sequences); names as in the forward pass.
struct TextActivations {
  TextActivations() = default;
  TextActivations(const TextConfig& c, int64_t rows);
  int64_t rows() const { return static_cast<int64_t>(pos.size()); }

  FloatBuffer hidden;  // [B, E]    the residual stream
  FloatBuffer normed;  // [B, E]    norm output, then o_proj / down_proj output
  FloatBuffer q;       // [B, H*D]
  FloatBuffer k;       // [B, Hkv*D]
  FloatBuffer v;       // [B, Hkv*D]
  FloatBuffer attn;    // [B, H*D]
  FloatBuffer gate;    // [B, F]
  FloatBuffer up;      // [B, F]
  std::vector<int32_t> pos;  // [B] positions of the rows
};

class TextState {
 public:
  TextState(const TextConfig& config, const TextStateOptions& options);

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

}  // namespace smolvlm
