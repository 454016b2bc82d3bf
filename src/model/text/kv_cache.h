// The key/value cache of the decoder: per layer, the rotated keys and the values of every position
// seen so far, [n_ctx, Hkv * D] each, stored as F16 (default, like llama.cpp) or F32, on the
// device that runs the layer (an offloaded layer keeps its cache on the GPU).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "backend/backend.h"
#include "io/ggml_type.h"
#include "model/text/text_config.h"
#include "model/text/text_placement.h"

namespace smolvlm {

class KvCache {
 public:
  // Throws Error for n_ctx <= 0, a type other than F16 / F32, or a device without room.
  KvCache(const TextConfig& config, int64_t n_ctx, GgmlType type, const TextPlacement& placement);

  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_past() const { return n_past_; }  // positions filled: the next token goes to position n_past
  GgmlType type() const { return type_; }
  size_t bytes() const;         // all layers
  size_t device_bytes() const;  // on GPUs

  const backend::Tensor& keys(int64_t layer) const { return k_[static_cast<size_t>(layer)]; }    // [n_ctx, Hkv*D]
  const backend::Tensor& values(int64_t layer) const { return v_[static_cast<size_t>(layer)]; }  // [n_ctx, Hkv*D]

  void advance(int64_t n) { n_past_ += n; }  // after every layer has stored positions n_past .. n_past+n-1
  void clear() { n_past_ = 0; }
  // Keeps positions 0 .. n-1 only (a session reusing a common prompt prefix); 0 <= n <= n_past.
  void truncate(int64_t n);

 private:
  int64_t n_ctx_ = 0, n_past_ = 0;
  GgmlType type_ = GgmlType::F16;
  std::vector<std::unique_ptr<backend::Buffer>> mem_;  // one per layer: keys, then values
  std::vector<backend::Tensor> k_, v_;
  std::vector<bool> on_gpu_;
};

}  // namespace smolvlm
