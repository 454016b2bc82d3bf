// Sampler: llama.cpp's default chain as Ollama users get it (see sampler.h for the step order).
#include "runtime/sampler.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <random>

#include "base/error.h"

namespace smolvlm {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr float kPosInf = std::numeric_limits<float>::infinity();

// splitmix64 (Steele, Lea & Flood): expands one 64-bit seed into the xoshiro state.
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Index of the largest value; the first one (lowest id) on ties. No NaN; all -inf gives 0.
int32_t argmax(const std::vector<float>& v) {
  // The max over 8 independent lanes (vectorizes), then the first index holding it.
  float lane[8];
  std::fill(lane, lane + 8, kNegInf);
  const size_t n8 = v.size() / 8 * 8;
  for (size_t i = 0; i < n8; i += 8)
    for (size_t j = 0; j < 8; ++j) lane[j] = v[i + j] > lane[j] ? v[i + j] : lane[j];
  float mx = *std::max_element(lane, lane + 8);
  for (size_t i = n8; i < v.size(); ++i) mx = std::max(mx, v[i]);
  return static_cast<int32_t>(std::find(v.begin(), v.end(), mx) - v.begin());
}

}  // namespace

Sampler::Sampler(const SamplerParams& p) : p_(p) {
  uint64_t x;
  if (p.seed >= 0) {
    x = static_cast<uint64_t>(p.seed);
  } else {
    std::random_device rd;
    x = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }
  for (uint64_t& s : rng_state_) s = splitmix64(x);
}

// xoshiro256** 1.0 (Blackman & Vigna).
uint64_t Sampler::next_u64() {
  uint64_t* s = rng_state_;
  const uint64_t result = std::rotl(s[1] * 5, 7) * 9;
  const uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = std::rotl(s[3], 45);
  return result;
}

double Sampler::next_unit() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

void Sampler::apply_penalties(std::span<float> logits, std::span<const int32_t> history,
                              const SamplerParams& p) {
  float rep = p.repeat_penalty;
  if (!(rep > 0.0f) || !std::isfinite(rep)) rep = 1.0f;
  const float freq = p.frequency_penalty, pres = p.presence_penalty;
  if (p.repeat_last_n == 0 || (rep == 1.0f && freq == 0.0f && pres == 0.0f)) return;

  const size_t n = p.repeat_last_n < 0
                       ? history.size()
                       : std::min(history.size(), static_cast<size_t>(p.repeat_last_n));
  std::vector<int32_t> window(history.end() - static_cast<std::ptrdiff_t>(n), history.end());
  std::sort(window.begin(), window.end());
  // Each run of equal ids in the sorted window is one distinct token and its count.
  for (size_t i = 0; i < window.size();) {
    const int32_t id = window[i];
    size_t j = i;
    while (j < window.size() && window[j] == id) ++j;
    const float count = static_cast<float>(j - i);
    i = j;
    if (id < 0 || static_cast<size_t>(id) >= logits.size()) continue;
    float& l = logits[static_cast<size_t>(id)];
    l = l > 0.0f ? l / rep : l * rep;
    l -= count * freq + pres;
    if (std::isnan(l)) l = kNegInf;  // inf - inf from an infinite penalty, or a NaN logit
  }
}

double Sampler::prepare(std::span<const float> logits, std::span<const int32_t> history) {
  if (logits.empty()) fail("sampler: empty logits row");
  if (logits.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    fail("sampler: logits row of ", logits.size(), " entries is wider than a token id");

  work_.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i)
    work_[i] = std::isnan(logits[i]) ? kNegInf : logits[i];
  apply_penalties(work_, history, p_);

  const auto single = [this](int32_t id) {
    cand_.assign(1, Token{work_[static_cast<size_t>(id)], id});
    weight_.assign(1, 1.0);
    return 1.0;
  };
  if (!(p_.temperature > 0.0f)) return single(argmax(work_));  // greedy

  // Total order: larger logit first, lower id on ties (unique result on every standard library).
  const auto before = [](const Token& a, const Token& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  };
  const size_t n = work_.size();
  const size_t k = p_.top_k > 0 ? static_cast<size_t>(p_.top_k) : n;
  cand_.clear();
  bool sorted = false;
  if (k < n) {
    // top_k in one pass: a heap of the k best so far, its worst at the front.
    for (size_t i = 0; i < n; ++i) {
      const Token t{work_[i], static_cast<int32_t>(i)};
      if (t.logit == kNegInf) continue;  // no chance to be drawn
      if (cand_.size() < k) {
        cand_.push_back(t);
        std::push_heap(cand_.begin(), cand_.end(), before);
      } else if (before(t, cand_.front())) {
        std::pop_heap(cand_.begin(), cand_.end(), before);
        cand_.back() = t;
        std::push_heap(cand_.begin(), cand_.end(), before);
      }
    }
    std::sort_heap(cand_.begin(), cand_.end(), before);  // best first
    sorted = true;
  } else {
    for (size_t i = 0; i < n; ++i)
      if (work_[i] != kNegInf) cand_.push_back(Token{work_[i], static_cast<int32_t>(i)});
  }
  if (cand_.empty()) return single(0);
  float mx = kNegInf;
  for (const Token& t : cand_) mx = std::max(mx, t.logit);
  if (mx == kPosInf) return single(argmax(work_));  // +inf takes all the mass

  const auto weight1 = [mx](const Token& t) {  // unnormalized probability at temperature 1
    return std::exp(static_cast<double>(t.logit) - mx);
  };

  // top_p at temperature 1.
  if (p_.top_p < 1.0f) {
    double z = 0.0;
    for (const Token& t : cand_) z += weight1(t);
    const double target = static_cast<double>(p_.top_p) * z;
    // Scans the sorted range [from, to) adding to cum; returns the kept length once cum >= target.
    double cum = 0.0;
    const auto scan = [&](size_t from, size_t to) -> size_t {
      for (size_t i = from; i < to; ++i) {
        cum += weight1(cand_[i]);
        if (cum >= target) return i + 1;
      }
      return 0;
    };
    size_t keep = 0;
    if (sorted) {
      keep = scan(0, cand_.size());
    } else {
      // The nucleus is usually small: bring the best 256 to the front in order, then 8x more
      // (still in order) only while the prefix is short of top_p.
      for (size_t done = 0, m = 256;; done = m, m *= 8) {
        m = std::min(m, cand_.size());
        const auto first = cand_.begin() + static_cast<std::ptrdiff_t>(done);
        const auto mid = cand_.begin() + static_cast<std::ptrdiff_t>(m);
        std::nth_element(first, mid, cand_.end(), before);
        std::sort(first, mid, before);
        keep = scan(done, m);
        if (keep > 0 || m == cand_.size()) break;
      }
    }
    if (keep > 0) cand_.resize(keep);  // 0: rounding left the sum below target; keep all
  }

  // min_p at temperature 1 (order-preserving; the max always stays).
  if (p_.min_p > 0.0f) {
    const double floor_p = std::min(static_cast<double>(p_.min_p), 1.0);
    std::erase_if(cand_, [&](const Token& t) { return weight1(t) < floor_p; });
  }

  // Temperature: the weights the draw uses. The max has weight 1, so the sum is >= 1.
  const double temp = p_.temperature;
  weight_.resize(cand_.size());
  double z = 0.0;
  for (size_t i = 0; i < cand_.size(); ++i) {
    weight_[i] = std::exp((static_cast<double>(cand_[i].logit) - mx) / temp);
    z += weight_[i];
  }
  return z;
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  const double z = prepare(logits, history);
  if (!(p_.temperature > 0.0f)) return cand_.front().id;  // greedy: no RNG use
  // Exactly one draw per non-greedy call, even for a single candidate.
  const double target = next_unit() * z;
  double cum = 0.0;
  for (size_t i = 0; i < cand_.size(); ++i) {
    cum += weight_[i];
    if (cum > target) return cand_[i].id;  // zero-weight tokens are never drawn
  }
  return cand_.front().id;  // unreachable: the summed weights exceed u * z for u < 1
}

std::vector<Sampler::Candidate> Sampler::distribution(std::span<const float> logits,
                                                      std::span<const int32_t> history) {
  const double z = prepare(logits, history);
  std::vector<Candidate> out(cand_.size());
  for (size_t i = 0; i < cand_.size(); ++i) out[i] = {cand_[i].id, weight_[i] / z};
  return out;
}

}  // namespace smolvlm
