// Sampler: greedy (argmax of the penalized logits, lowest id on ties), the exact penalty formula,
// top_k / top_p / min_p cut sets (exact on tiny vocabularies, against a full-sort reference on a
// 49280-wide row), empirical draw frequencies, seed reproducibility (known-answer xoshiro256**
// values) and NaN / infinity handling.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <vector>

#include "base/error.h"
#include "runtime/sampler.h"
#include "support/testing.h"

namespace smolvlm {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// Only the steps a test names are on.
SamplerParams plain(float temperature = 1.0f, int64_t seed = 1) {
  SamplerParams p;
  p.temperature = temperature;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = seed;
  return p;
}

std::vector<float> logs_of(std::vector<double> probs) {
  std::vector<float> l;
  for (double p : probs) l.push_back(static_cast<float>(std::log(p)));
  return l;
}

std::vector<float> random_row(size_t n, uint32_t seed, float sd = 2.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sd);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

std::vector<int32_t> ids_of(const std::vector<Sampler::Candidate>& d) {
  std::vector<int32_t> ids;
  for (const auto& c : d) ids.push_back(c.id);
  return ids;
}

// Draws n tokens from the same row; counts per id.
std::map<int32_t, int> histogram(Sampler& s, const std::vector<float>& logits, int n,
                                 const std::vector<int32_t>& history = {}) {
  std::map<int32_t, int> h;
  for (int i = 0; i < n; ++i) ++h[s.sample(logits, history)];
  return h;
}

// Checks that only the expected ids were drawn and that their frequencies fit the probabilities:
// each within 0.015 absolute, and Pearson's chi-square below the 0.1% point for its degrees of
// freedom (loose; the seed is fixed, so the outcome is deterministic).
void expect_frequencies(const std::map<int32_t, int>& h, const std::map<int32_t, double>& want,
                        int n) {
  for (const auto& [id, count] : h) EXPECT_TRUE(want.count(id)) << "drew disallowed id " << id;
  double chi2 = 0.0;
  for (const auto& [id, p] : want) {
    const auto it = h.find(id);
    const double got = it == h.end() ? 0.0 : it->second;
    EXPECT_NEAR(got / n, p, 0.015) << "id " << id;
    chi2 += (got - p * n) * (got - p * n) / (p * n);
  }
  const double crit[] = {0.0, 10.83, 13.82, 16.27, 18.47};  // chi-square 0.999 quantiles
  ASSERT_LT(want.size() - 1, std::size(crit));
  EXPECT_LT(chi2, crit[want.size() - 1]);
}

// The expected penalized logits, straight from the definition.
std::vector<float> penalized(std::vector<float> l, const std::vector<int32_t>& history,
                             const SamplerParams& p) {
  if (p.repeat_last_n == 0) return l;
  const size_t n = p.repeat_last_n < 0 ? history.size()
                                       : std::min(history.size(), size_t(p.repeat_last_n));
  std::map<int32_t, int> count;
  for (size_t i = history.size() - n; i < history.size(); ++i) ++count[history[i]];
  for (const auto& [id, c] : count) {
    if (id < 0 || size_t(id) >= l.size()) continue;
    float& x = l[size_t(id)];
    x = x > 0 ? x / p.repeat_penalty : x * p.repeat_penalty;
    x -= float(c) * p.frequency_penalty + p.presence_penalty;
  }
  return l;
}

TEST(Sampler, GreedyPicksArgmaxLowestIdOnTies) {
  const std::vector<float> l = {0.1f, 3.0f, -1.0f, 3.0f, 2.0f};
  for (float t : {0.0f, -1.0f, kNaN}) {
    Sampler s(plain(t));
    EXPECT_EQ(s.sample(l, {}), 1) << "temperature " << t;
    const auto d = s.distribution(l, {});
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].id, 1);
    EXPECT_EQ(d[0].p, 1.0);
  }
  // A wide row with a tie at the max, default top_k / top_p (irrelevant when greedy).
  auto wide = random_row(49280, 3);
  const auto mx = std::max_element(wide.begin(), wide.end());
  wide[40000] = *mx;
  SamplerParams g;
  g.temperature = 0.0f;
  Sampler s(g);
  EXPECT_EQ(s.sample(wide, {}), int32_t(mx - wide.begin()));
  EXPECT_LT(mx - wide.begin(), 40000);
}

TEST(Sampler, GreedyUsesPenalizedLogits) {
  const std::vector<float> l = {1.0f, 0.9f, -3.0f};
  SamplerParams p = plain(0.0f);
  EXPECT_EQ(Sampler(p).sample(l, std::vector<int32_t>{0}), 0);
  p.repeat_penalty = 1.2f;  // 1.0 / 1.2 < 0.9
  EXPECT_EQ(Sampler(p).sample(l, std::vector<int32_t>{0}), 1);
  EXPECT_EQ(Sampler(p).sample(l, std::vector<int32_t>{2}), 0);  // only id 2 penalized
  p.repeat_last_n = 1;  // id 0 fell out of the window
  EXPECT_EQ(Sampler(p).sample(l, std::vector<int32_t>{0, 2}), 0);
  p.repeat_last_n = 0;  // off
  EXPECT_EQ(Sampler(p).sample(l, std::vector<int32_t>{0}), 0);
}

TEST(Sampler, PenaltiesChangeExactlyTheRightLogits) {
  const std::vector<float> l = {2.0f, -1.0f, 0.5f, 3.0f, 0.0f, 1.0f, -0.5f};
  const std::vector<int32_t> history = {5, 0, 1, 1, 3, 3, 3, 9, -2};  // 9, -2: outside the row
  SamplerParams p = plain();
  p.repeat_penalty = 2.0f;
  p.frequency_penalty = 0.5f;
  p.presence_penalty = 0.25f;

  // Window of 7: {1, 1, 3, 3, 3, 9, -2}. Worked by hand.
  p.repeat_last_n = 7;
  std::vector<float> got = l;
  Sampler::apply_penalties(got, history, p);
  const std::vector<float> by_hand = {2.0f, -3.25f, 0.5f, -0.25f, 0.0f, 1.0f, -0.5f};
  for (size_t i = 0; i < l.size(); ++i) EXPECT_FLOAT_EQ(got[i], by_hand[i]) << "id " << i;

  for (int32_t last_n : {-1, 0, 1, 4, 5, 100}) {
    p.repeat_last_n = last_n;
    got = l;
    Sampler::apply_penalties(got, history, p);
    const auto want = penalized(l, history, p);
    for (size_t i = 0; i < l.size(); ++i)
      EXPECT_FLOAT_EQ(got[i], want[i]) << "id " << i << " repeat_last_n " << last_n;
  }
  // Whole history: id 5 (positive) divided, id 0 divided, counts 1 each.
  p.repeat_last_n = -1;
  got = l;
  Sampler::apply_penalties(got, history, p);
  EXPECT_FLOAT_EQ(got[5], 1.0f / 2 - 0.75f);
  EXPECT_FLOAT_EQ(got[0], 2.0f / 2 - 0.75f);
  EXPECT_FLOAT_EQ(got[4], 0.0f);  // never seen
  // All three penalties off: nothing changes, whatever the window.
  SamplerParams off = plain();
  off.repeat_last_n = -1;
  got = l;
  Sampler::apply_penalties(got, history, off);
  EXPECT_EQ(got, l);
}

TEST(Sampler, PenalizedDistributionMatchesSoftmax) {
  const std::vector<float> l = {1.0f, 0.2f, -0.4f, 0.7f};
  const std::vector<int32_t> history = {0, 0, 2, 3};
  SamplerParams p = plain(1.0f, 2024);
  p.repeat_penalty = 1.5f;
  p.frequency_penalty = 0.2f;
  p.presence_penalty = 0.1f;
  const auto pl = penalized(l, history, p);
  double z = 0;
  for (float x : pl) z += std::exp(double(x));
  std::map<int32_t, double> want;
  for (size_t i = 0; i < pl.size(); ++i) want[int32_t(i)] = std::exp(double(pl[i])) / z;

  Sampler s(p);
  const auto d = s.distribution(l, history);
  ASSERT_EQ(d.size(), l.size());
  for (const auto& c : d) EXPECT_NEAR(c.p, want[c.id], 1e-6) << "id " << c.id;
  // The penalty moved real mass: token 0 is no longer the most likely.
  EXPECT_LT(want[0], want[1]);
  const int n = 40000;
  expect_frequencies(histogram(s, l, n, history), want, n);
}

TEST(Sampler, TopK1IsGreedyForAnyTemperature) {
  for (uint32_t row = 0; row < 20; ++row) {
    const auto l = random_row(1000, 100 + row);
    const std::vector<int32_t> history = {int32_t(row), 17, 17, 999, 3};
    SamplerParams g;  // defaults otherwise: top_p 0.9, penalties on
    g.repeat_penalty = 1.3f;
    g.temperature = 0.0f;
    const int32_t greedy = Sampler(g).sample(l, history);
    for (float t : {0.01f, 0.5f, 1.0f, 2.0f, 100.0f}) {
      SamplerParams p = g;
      p.temperature = t;
      p.top_k = 1;
      p.min_p = 0.05f;
      p.seed = row;
      EXPECT_EQ(Sampler(p).sample(l, history), greedy) << "row " << row << " temperature " << t;
    }
  }
}

// Probabilities 0.05, 0.5, 0.15, 0.3 for ids 0..3 (sorted order: 1, 3, 2, 0).
const std::vector<double> kProbs = {0.05, 0.5, 0.15, 0.3};

TEST(Sampler, TopPKeepsSmallestPrefixReachingP) {
  const auto l = logs_of(kProbs);
  struct Case {
    float top_p;
    std::vector<int32_t> ids;
  };
  for (const Case& c : {Case{0.75f, {1, 3}}, Case{0.9f, {1, 3, 2}}, Case{0.5f, {1}},
                        Case{0.0f, {1}}, Case{0.99f, {1, 3, 2, 0}}, Case{1.0f, {0, 1, 2, 3}}}) {
    SamplerParams p = plain();
    p.top_p = c.top_p;
    const auto d = Sampler(p).distribution(l, {});
    EXPECT_EQ(ids_of(d), c.ids) << "top_p " << c.top_p;
    double kept = 0;
    for (int32_t id : c.ids) kept += kProbs[size_t(id)];
    for (const auto& x : d) EXPECT_NEAR(x.p, kProbs[size_t(x.id)] / kept, 1e-6);
  }
  // Temperature does not move the cut (it is made at temperature 1), only the weights.
  SamplerParams p = plain(2.0f);
  p.top_p = 0.75f;
  const auto d = Sampler(p).distribution(l, {});
  ASSERT_EQ(ids_of(d), (std::vector<int32_t>{1, 3}));
  const double a = std::sqrt(0.5), b = std::sqrt(0.3);
  EXPECT_NEAR(d[0].p, a / (a + b), 1e-6);
  EXPECT_NEAR(d[1].p, b / (a + b), 1e-6);
}

TEST(Sampler, TopPDrawFrequencies) {
  const auto l = logs_of(kProbs);
  SamplerParams p = plain(1.0f, 1234);
  p.top_p = 0.9f;  // keeps 1, 3, 2 (0.95 of the mass)
  Sampler s(p);
  const int n = 30000;
  expect_frequencies(histogram(s, l, n), {{1, 0.5 / 0.95}, {3, 0.3 / 0.95}, {2, 0.15 / 0.95}}, n);
}

TEST(Sampler, MinPKeepsTokensAboveFractionOfMax) {
  const auto l = logs_of(kProbs);
  struct Case {
    float min_p;
    std::vector<int32_t> ids;
  };
  // Threshold min_p * 0.5: 0.25 -> 0.125 drops only id 0; 0.7 -> 0.35 keeps only id 1.
  for (const Case& c : {Case{0.25f, {1, 2, 3}}, Case{0.7f, {1}}, Case{1.5f, {1}},
                        Case{0.05f, {0, 1, 2, 3}}}) {
    SamplerParams p = plain();
    p.min_p = c.min_p;
    const auto d = Sampler(p).distribution(l, {});
    EXPECT_EQ(ids_of(d), c.ids) << "min_p " << c.min_p;
  }
  // After top_p 0.9 (1, 3, 2), min_p 0.35 (threshold 0.175) leaves 1, 3.
  SamplerParams p = plain();
  p.top_p = 0.9f;
  p.min_p = 0.35f;
  EXPECT_EQ(ids_of(Sampler(p).distribution(l, {})), (std::vector<int32_t>{1, 3}));

  SamplerParams q = plain(1.0f, 99);
  q.min_p = 0.25f;
  Sampler s(q);
  const int n = 30000;
  expect_frequencies(histogram(s, l, n), {{1, 0.5 / 0.95}, {3, 0.3 / 0.95}, {2, 0.15 / 0.95}}, n);
}

// The cut sets on a 49280-wide row equal a plain full sort (larger logit first, lower id on ties).
std::vector<int32_t> reference_ids(const std::vector<float>& l, int32_t top_k, float top_p) {
  std::vector<int32_t> ids(l.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::stable_sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) { return l[a] > l[b]; });
  if (top_k > 0) ids.resize(size_t(top_k));
  if (top_p < 1.0f) {
    const double mx = l[size_t(ids[0])];
    double z = 0, cum = 0;
    for (int32_t id : ids) z += std::exp(double(l[size_t(id)]) - mx);
    for (size_t i = 0; i < ids.size(); ++i) {
      cum += std::exp(double(l[size_t(ids[i])]) - mx);
      if (cum >= double(top_p) * z) {
        ids.resize(i + 1);
        break;
      }
    }
  }
  return ids;
}

TEST(Sampler, WideVocabCutsMatchFullSort) {
  auto ties = random_row(49280, 5);
  for (float& x : ties) x = std::round(x * 4) / 4;  // many exact ties
  struct Case {
    std::vector<float> l;
    int32_t top_k;
    float top_p;
    size_t min_kept, max_kept;  // proves which stage of the sorted-head search ends it
  };
  const std::vector<Case> cases = {
      {ties, 40, 1.0f, 40, 40},
      {ties, 40, 0.9f, 1, 40},
      {ties, 3000, 1.0f, 3000, 3000},
      {ties, 0, 0.5f, 1, 49280},
      {random_row(49280, 6, 8.0f), 0, 0.9f, 1, 256},        // inside the first sorted 256
      {random_row(49280, 6, 4.0f), 0, 0.9f, 257, 2048},     // second stage
      {random_row(49280, 6, 2.5f), 0, 0.9f, 2049, 16384},   // third stage
      {random_row(49280, 6, 0.5f), 0, 0.9f, 16385, 49280},  // the whole row sorted
  };
  for (const Case& c : cases) {
    SamplerParams p = plain(0.8f);
    p.top_k = c.top_k;
    p.top_p = c.top_p;
    const auto d = Sampler(p).distribution(c.l, {});
    const auto want = reference_ids(c.l, c.top_k, c.top_p);
    EXPECT_EQ(ids_of(d), want) << "top_k " << c.top_k << " top_p " << c.top_p;
    EXPECT_GE(want.size(), c.min_kept);
    EXPECT_LE(want.size(), c.max_kept);
    double sum = 0;
    for (const auto& x : d) sum += x.p;
    EXPECT_NEAR(sum, 1.0, 1e-9);
  }
}

// A toy "model": each step's logits depend on the previous token.
std::vector<int32_t> generate(const SamplerParams& p, int steps) {
  Sampler s(p);
  std::vector<int32_t> history = {1, 2, 3};
  for (int i = 0; i < steps; ++i) {
    const auto l = random_row(5000, uint32_t(history.back()), 1.0f);
    history.push_back(s.sample(l, history));
  }
  return {history.begin() + 3, history.end()};
}

TEST(Sampler, SameSeedSameSequenceDifferentSeedsDiffer) {
  SamplerParams p;  // Ollama defaults
  p.repeat_penalty = 1.1f;
  p.seed = 7;
  const auto a = generate(p, 100);
  EXPECT_EQ(generate(p, 100), a);
  p.seed = 8;
  EXPECT_NE(generate(p, 100), a);
  // seed < 0: random seeds; a flat 1024-way row makes equal sequences impossible in practice.
  SamplerParams r = plain(1.0f, -1);
  const std::vector<float> flat(1024, 0.0f);
  Sampler s1(r), s2(r);
  std::vector<int32_t> x, y;
  for (int i = 0; i < 20; ++i) {
    x.push_back(s1.sample(flat, {}));
    y.push_back(s2.sample(flat, {}));
  }
  EXPECT_NE(x, y);
}

// On 1024 equal logits the draw is floor(u * 1024), the top 10 bits of each xoshiro256** output.
// Expected values come from an independent Python implementation of splitmix64 + xoshiro256**
// (checked against the published vectors: splitmix64(0) -> 0xe220a8397b1dcdaf; xoshiro256** from
// state {1,2,3,4} -> 11520, 0, 1509978240, 1215971899390074240).
TEST(Sampler, KnownAnswerXoshiro256StarStar) {
  const std::vector<float> flat(1024, 0.0f);
  const std::map<int64_t, std::vector<int32_t>> want = {
      {42, {85, 388, 696, 946, 1015, 788, 736, 870, 779, 597, 698, 297, 820, 329, 728, 898}},
      {7, {717, 285, 859, 1004, 1014, 893, 62, 106, 413, 155, 554, 749, 961, 901, 462, 574}}};
  for (const auto& [seed, seq] : want) {
    Sampler s(plain(0.7f, seed));  // any temperature: equal weights stay equal
    std::vector<int32_t> got;
    for (size_t i = 0; i < seq.size(); ++i) got.push_back(s.sample(flat, {}));
    EXPECT_EQ(got, seq) << "seed " << seed;
  }
}

TEST(Sampler, OneDrawPerCallEvenForOneCandidate) {
  const std::vector<float> flat(1024, 0.0f);
  std::vector<float> one(1024, -kInf);
  one[77] = 0.0f;
  Sampler a(plain(1.0f, 42)), b(plain(1.0f, 42));
  EXPECT_EQ(a.sample(one, {}), 77);
  b.sample(flat, {});
  for (int i = 0; i < 5; ++i) EXPECT_EQ(a.sample(flat, {}), b.sample(flat, {}));
}

TEST(Sampler, NaNAndInfinities) {
  const std::vector<float> some_nan = {kNaN, 1.0f, kNaN, 2.0f, kNaN};
  EXPECT_EQ(Sampler(plain(0.0f)).sample(some_nan, {}), 3);
  EXPECT_EQ(Sampler(plain(0.0f)).sample(std::vector<float>{kNaN, -5.0f}, {}), 1);
  {
    Sampler s(plain(1.0f, 5));
    EXPECT_EQ(ids_of(s.distribution(some_nan, {})), (std::vector<int32_t>{1, 3}));
    const auto h = histogram(s, some_nan, 2000);
    for (const auto& [id, n] : h) EXPECT_TRUE(id == 1 || id == 3) << id;
  }
  {
    SamplerParams p = plain(1.0f, 5);
    p.top_k = 40;  // more than the drawable tokens: NaN never fills the top k
    std::vector<float> l(100, kNaN);
    l[10] = 1.0f;
    l[60] = 2.0f;
    EXPECT_EQ(ids_of(Sampler(p).distribution(l, {})), (std::vector<int32_t>{60, 10}));
  }
  SamplerParams dflt;  // default chain: top_k, top_p on
  dflt.seed = 3;
  for (const SamplerParams& p : {plain(0.0f), plain(1.0f), dflt}) {
    EXPECT_EQ(Sampler(p).sample(std::vector<float>(7, kNaN), {}), 0);
    EXPECT_EQ(Sampler(p).sample(std::vector<float>(7, -kInf), {}), 0);
    EXPECT_EQ(Sampler(p).sample(std::vector<float>{-kInf, kNaN, -kInf}, {}), 0);
    EXPECT_EQ(Sampler(p).sample(std::vector<float>{1.0f, kInf, 3.0f, kInf}, {}), 1);
    EXPECT_EQ(Sampler(p).sample(std::vector<float>{kNaN, kNaN, 0.5f}, {}), 2);
  }
  // Penalties over infinities: inf / penalty stays inf, never NaN out.
  SamplerParams pen = plain(1.0f);
  pen.repeat_penalty = 1.5f;
  pen.frequency_penalty = kInf;
  const std::vector<float> l = {kInf, 0.0f, 1.0f};
  const int32_t got = Sampler(pen).sample(l, std::vector<int32_t>{0});  // inf - inf -> -inf
  EXPECT_TRUE(got == 1 || got == 2) << got;
  EXPECT_THROW(Sampler(plain()).sample(std::vector<float>{}, {}), Error);
}

}  // namespace
}  // namespace smolvlm
