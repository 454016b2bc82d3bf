// Greedy decoding on the text model: the protocol of the golden files (argmax, lowest id wins
// ties, end-of-generation ids not special, token s fed at position n_prompt + s).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/thread_pool.h"
#include "model/text/text_model.h"

namespace smolvlm {

// Index of the largest value; the lowest index wins ties. n > 0.
int32_t argmax(const float* x, int64_t n);

// Continues the sequence in `state` (the prompt already evaluated, `last_logits` its last row):
// token 0 = argmax(last_logits), then token s is decoded at position state.n_past() and the argmax
// of its logits is token s + 1, until n tokens. With gen_logits, n decode steps run (the last
// token is fed too) and gen_logits receives [n, n_vocab]: row s = the logits after feeding token s.
std::vector<int32_t> greedy_continuation(const TextModel& model, TextState& state,
                                         std::span<const float> last_logits, int64_t n, kernels::ThreadPool& pool,
                                         std::vector<float>* gen_logits = nullptr);

}  // namespace smolvlm
