#include "model/text/text_state.h"

#include <algorithm>

#include "base/error.h"

namespace smolvlm {
namespace {

int64_t context_size(const TextConfig& c, const TextStateOptions& o) {
  if (o.n_ctx < 0) fail("context size ", o.n_ctx, " must be positive");
  return o.n_ctx > 0 ? o.n_ctx : std::min(c.n_ctx_train, TextStateOptions::kDefaultCtx);
}

}  // namespace

TextActivations::TextActivations(const TextConfig& c, int64_t n) {
  const auto rows = static_cast<size_t>(n);
  hidden.resize(rows * c.n_embd);
  normed.resize(rows * c.n_embd);
  q.resize(rows * c.q_dim());
  k.resize(rows * c.kv_dim());
  v.resize(rows * c.kv_dim());
  attn.resize(rows * c.q_dim());
  gate.resize(rows * c.n_ff);
  up.resize(rows * c.n_ff);
  pos.resize(rows);
}

TextState::TextState(const TextConfig& c, const TextStateOptions& o)
    : kv(c, context_size(c, o), o.kv_type), config_(c) {
  if (o.n_batch <= 0) fail("batch size ", o.n_batch, " must be positive");
  n_batch_ = std::min(o.n_batch, kv.n_ctx());
  act = TextActivations(c, n_batch_);
}

}  // namespace smolvlm
