#include "model/text/kv_cache.h"

#include <cstdlib>

#include "base/error.h"
#include "kernels/ops.h"

namespace smolvlm {

void KvCache::Free::operator()(uint8_t* p) const { std::free(p); }

KvCache::KvCache(const TextConfig& c, int64_t n_ctx, GgmlType type)
    : n_layer_(c.n_layer), n_ctx_(n_ctx), kv_dim_(c.kv_dim()), type_(type) {
  if (type != GgmlType::F16 && type != GgmlType::F32)
    fail("KV cache type ", ggml_type_name(type), " is not supported (use F16 or F32)");
  if (n_ctx <= 0) fail("context size ", n_ctx, " must be positive");
  row_bytes_ = ggml_row_size(type, kv_dim_);
  constexpr size_t kAlign = 64;
  layer_bytes_ = (row_bytes_ * static_cast<size_t>(n_ctx) + kAlign - 1) / kAlign * kAlign;
  data_.reset(static_cast<uint8_t*>(std::aligned_alloc(kAlign, bytes())));
  if (!data_) fail("cannot allocate a KV cache of ", bytes() >> 20, " MiB (", n_ctx, " positions)");
}

void KvCache::store(int64_t layer, int64_t pos, int64_t n, const float* k, const float* v) {
  if (pos < 0 || n < 0 || pos + n > n_ctx_) fail("KV cache: positions ", pos, "..", pos + n, " exceed ", n_ctx_);
  const size_t off = static_cast<size_t>(pos) * row_bytes_;
  // rows pos .. pos+n-1 are contiguous in the cache, like the n source rows
  kernels::store_row(type_, k, base(layer, 0) + off, n * kv_dim_);
  kernels::store_row(type_, v, base(layer, 1) + off, n * kv_dim_);
}

void KvCache::truncate(int64_t n) {
  if (n < 0 || n > n_past_) fail("KV cache: cannot keep ", n, " positions of ", n_past_);
  n_past_ = n;
}

}  // namespace smolvlm
