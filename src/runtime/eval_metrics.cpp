#include "runtime/eval_metrics.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"

namespace smolvlm {
namespace {

// log-sum-exp of the logits, and the argmax (lowest id on ties).
struct Normalizer {
  double lse = 0;
  size_t argmax = 0;
};
Normalizer normalize(std::span<const float> x) {
  Normalizer n;
  double mx = -INFINITY;
  for (size_t i = 0; i < x.size(); ++i)
    if (x[i] > mx) {
      mx = x[i];
      n.argmax = i;
    }
  double sum = 0;
  for (float v : x) sum += std::exp(static_cast<double>(v) - mx);
  n.lse = mx + std::log(sum);
  return n;
}

}  // namespace

EvalScore score_token(std::span<const float> base, std::span<const float> model, int32_t next) {
  if (base.size() != model.size() || base.empty())
    fail("eval: the two models' vocabularies differ (", base.size(), " and ", model.size(), " logits)");
  if (next < 0 || static_cast<size_t>(next) >= base.size()) fail("eval: token id ", next, " is outside the vocabulary");
  const Normalizer b = normalize(base), m = normalize(model);
  EvalScore s;
  s.nll_base = b.lse - base[static_cast<size_t>(next)];
  s.nll_model = m.lse - model[static_cast<size_t>(next)];
  double kl = 0;
  for (size_t i = 0; i < base.size(); ++i) {
    const double lp = base[i] - b.lse, lq = model[i] - m.lse;
    kl += std::exp(lp) * (lp - lq);
  }
  s.kl = std::max(0.0, kl);  // rounding can leave -1e-17
  s.top1_agree = b.argmax == m.argmax;
  return s;
}

void EvalSummary::add(const EvalScore& s) {
  nll_base_ += s.nll_base;
  nll_model_ += s.nll_model;
  kl_sum_ += s.kl;
  agree_ += s.top1_agree ? 1 : 0;
  kl_.push_back(s.kl);
}

double EvalSummary::ppl_base() const { return kl_.empty() ? 0 : std::exp(nll_base_ / static_cast<double>(kl_.size())); }
double EvalSummary::ppl_model() const { return kl_.empty() ? 0 : std::exp(nll_model_ / static_cast<double>(kl_.size())); }
double EvalSummary::kl_mean() const { return kl_.empty() ? 0 : kl_sum_ / static_cast<double>(kl_.size()); }
double EvalSummary::kl_max() const { return kl_.empty() ? 0 : *std::max_element(kl_.begin(), kl_.end()); }
double EvalSummary::top1_agreement() const {
  return kl_.empty() ? 0 : static_cast<double>(agree_) / static_cast<double>(kl_.size());
}
double EvalSummary::kl_p99() const {
  if (kl_.empty()) return 0;
  std::vector<double> v = kl_;
  const size_t rank = static_cast<size_t>(std::ceil(0.99 * static_cast<double>(v.size()))) - 1;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(rank), v.end());
  return v[rank];
}

}  // namespace smolvlm
