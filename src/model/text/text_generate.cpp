#include "model/text/text_generate.h"

#include "base/error.h"

namespace smolvlm {

int32_t argmax(const float* x, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i) {
    if (x[i] > x[best]) best = i;
  }
  return static_cast<int32_t>(best);
}

std::vector<int32_t> greedy_continuation(const TextModel& model, TextState& state,
                                         std::span<const float> last_logits, int64_t n, kernels::ThreadPool& pool,
                                         std::vector<float>* gen_logits) {
  const int64_t V = model.config().n_vocab;
  if (static_cast<int64_t>(last_logits.size()) != V)
    fail("greedy: expected the ", V, " logits of the last position, got ", last_logits.size());
  std::vector<int32_t> ids;
  if (n <= 0) return ids;
  if (gen_logits != nullptr) gen_logits->assign(static_cast<size_t>(n * V), 0.0f);
  std::vector<float> logits(last_logits.begin(), last_logits.end());
  ids.push_back(argmax(logits.data(), V));
  const int64_t steps = gen_logits != nullptr ? n : n - 1;
  for (int64_t s = 0; s < steps; ++s) {
    float* out = gen_logits != nullptr ? gen_logits->data() + s * V : logits.data();
    model.forward(TextInput::tokens({&ids[static_cast<size_t>(s)], 1}), state, LogitRows::kLast, out, pool);
    if (s + 1 < n) ids.push_back(argmax(out, V));
  }
  return ids;
}

}  // namespace smolvlm
