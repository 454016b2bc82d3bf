#include "model/text/kv_cache.h"

#include "base/error.h"

namespace smolvlm {

KvCache::KvCache(const TextConfig& c, int64_t n_ctx, GgmlType type, const TextPlacement& place)
    : n_ctx_(n_ctx), type_(type) {
  if (type != GgmlType::F16 && type != GgmlType::F32)
    fail("KV cache type ", ggml_type_name(type), " is not supported (use F16 or F32)");
  if (n_ctx <= 0) fail("context size ", n_ctx, " must be positive");
  const int64_t kv_dim = c.kv_dim();
  const size_t half = ggml_row_size(type, kv_dim) * static_cast<size_t>(n_ctx);
  for (int64_t l = 0; l < c.n_layer; ++l) {
    backend::Device& d = *place.layer(l);
    mem_.push_back(d.alloc(2 * half, cat("the KV cache of layer ", l, " (", n_ctx, " positions)")));
    k_.push_back({mem_.back().get(), 0, type, n_ctx, kv_dim});
    v_.push_back({mem_.back().get(), half, type, n_ctx, kv_dim});
    on_gpu_.push_back(!d.is_cpu());
  }
}

size_t KvCache::bytes() const {
  size_t n = 0;
  for (const auto& m : mem_) n += m->bytes();
  return n;
}

size_t KvCache::device_bytes() const {
  size_t n = 0;
  for (size_t l = 0; l < mem_.size(); ++l) n += on_gpu_[l] ? mem_[l]->bytes() : 0;
  return n;
}

void KvCache::truncate(int64_t n) {
  if (n < 0 || n > n_past_) fail("KV cache: cannot keep ", n, " positions of ", n_past_);
  n_past_ = n;
}

}  // namespace smolvlm
