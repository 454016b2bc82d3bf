// The key/value cache of the decoder: per layer, the rotated keys and the values of every position
// seen so far, [n_ctx, Hkv * D] each, stored as F16 (default, like llama.cpp) or F32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "io/ggml_type.h"
#include "model/text/text_config.h"

namespace smolvlm {

class KvCache {
 public:
  // Throws Error for n_ctx <= 0 or a type other than F16 / F32.
  KvCache(const TextConfig& config, int64_t n_ctx, GgmlType type = GgmlType::F16);

  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_past() const { return n_past_; }  // positions filled: the next token goes to position n_past
  GgmlType type() const { return type_; }
  size_t row_bytes() const { return row_bytes_; }  // one position of one layer's keys (or values)
  size_t bytes() const { return 2 * layer_bytes_ * static_cast<size_t>(n_layer_); }

  void* keys(int64_t layer) { return base(layer, 0); }    // [n_ctx, Hkv*D] of layer
  void* values(int64_t layer) { return base(layer, 1); }  // [n_ctx, Hkv*D] of layer
  // Converts n rows [n, Hkv*D] of f32 keys and values into layer's rows pos .. pos+n-1.
  void store(int64_t layer, int64_t pos, int64_t n, const float* k, const float* v);

  void advance(int64_t n) { n_past_ += n; }  // after every layer has stored positions n_past .. n_past+n-1
  void clear() { n_past_ = 0; }
  // Keeps positions 0 .. n-1 only (a session reusing a common prompt prefix); 0 <= n <= n_past.
  void truncate(int64_t n);

 private:
  uint8_t* base(int64_t layer, int which) { return data_.get() + (2 * layer + which) * layer_bytes_; }
  struct Free {
    void operator()(uint8_t* p) const;
  };
  int64_t n_layer_ = 0, n_ctx_ = 0, kv_dim_ = 0, n_past_ = 0;
  GgmlType type_ = GgmlType::F16;
  size_t row_bytes_ = 0, layer_bytes_ = 0;
  std::unique_ptr<uint8_t, Free> data_;
};

}  // namespace smolvlm
