#include "model/text/text_state.h"

#include <algorithm>

#include "base/error.h"

namespace smolvlm {

int64_t text_context_size(const TextConfig& c, const TextStateOptions& o) {
  if (o.n_ctx < 0) fail("context size ", o.n_ctx, " must be positive");
  return o.n_ctx > 0 ? o.n_ctx : std::min(c.n_ctx_train, TextStateOptions::kDefaultCtx);
}

TextActivations::TextActivations(const TextConfig& c, int64_t n, const TextPlacement& place) {
  pos.resize(static_cast<size_t>(n));
  for (backend::Device* d : place.devices()) {
    OnDevice s;
    s.device = d;
    const int64_t E = c.n_embd, Q = c.q_dim(), KV = c.kv_dim(), F = c.n_ff;
    const bool logits = !d->is_cpu() && d == place.output;
    const int64_t logit_rows = std::min(n, kLogitRows);
    const int64_t cols[] = {E, E, Q, KV, KV, Q, F, F, logits ? c.n_vocab : 0};
    const int64_t rows[] = {n, n, n, n, n, n, n, n, logit_rows};
    size_t bytes = 0;
    for (int i = 0; i < 9; ++i) bytes += static_cast<size_t>(rows[i] * cols[i]) * sizeof(float) + 256;
    s.mem = d->alloc(bytes, cat("activations of ", n, " rows"));
    backend::Tensor* t[] = {&s.hidden, &s.normed, &s.q, &s.k, &s.v, &s.attn, &s.gate, &s.up, &s.logits};
    size_t at = 0;
    for (int i = 0; i < 9; ++i) {
      *t[i] = {s.mem.get(), at, GgmlType::F32, rows[i], cols[i]};
      at += (static_cast<size_t>(rows[i] * cols[i]) * sizeof(float) + 255) / 256 * 256;
    }
    sets.push_back(std::move(s));
  }
}

TextActivations::OnDevice& TextActivations::on(const backend::Device* d) {
  for (OnDevice& s : sets)
    if (s.device == d) return s;
  fail("activations: no buffers on device ", d->name());
}

TextState::TextState(const TextConfig& c, const TextStateOptions& o, const TextPlacement& place)
    : kv(c, text_context_size(c, o), o.kv_type, place), config_(c) {
  if (o.n_batch <= 0) fail("batch size ", o.n_batch, " must be positive");
  n_batch_ = std::min(o.n_batch, kv.n_ctx());
  act = TextActivations(c, n_batch_, place);
}

}  // namespace smolvlm
