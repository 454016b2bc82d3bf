// What `smolvlm eval` measures, token by token, between a model and its base over the same tokens
// (as llama-perplexity --kl-divergence does): each model's negative log-likelihood of the next
// token, KL(base || model) of the two next-token distributions, and whether their top-1 agree.
// Sums in double. One EvalScore per scored token; EvalSummary keeps one double per token (for the
// 99th percentile), never the logits.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace smolvlm {

struct EvalScore {
  double nll_base = 0, nll_model = 0;  // -log p(next) under each
  double kl = 0;                       // KL(base || model), nats
  bool top1_agree = false;             // argmax equal (lowest id on ties)
};

// base, model: logits over the same vocabulary; next: the token that follows.
EvalScore score_token(std::span<const float> base, std::span<const float> model, int32_t next);

class EvalSummary {
 public:
  void add(const EvalScore& s);
  int64_t tokens() const { return static_cast<int64_t>(kl_.size()); }
  double ppl_base() const;
  double ppl_model() const;
  double kl_mean() const;
  double kl_p99() const;  // nearest-rank 99th percentile
  double kl_max() const;
  double top1_agreement() const;  // fraction in [0, 1]

 private:
  double nll_base_ = 0, nll_model_ = 0, kl_sum_ = 0;
  int64_t agree_ = 0;
  std::vector<double> kl_;
};

}  // namespace smolvlm
