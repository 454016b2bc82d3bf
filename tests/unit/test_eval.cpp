// smolvlm eval: the per-token metrics on constructed logits against hand-computed values, and an
// end-to-end `eval --json` on the golden tiny models whose figures equal those computed here, in
// double, from `dev logits --all-positions` of both models on the same windows (1e-4 relative).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/error.h"
#include "runtime/eval_metrics.h"
#include "support/testing.h"

namespace smolvlm {
namespace {

using testing::run_smolvlm;
using testing::TempDir;

TEST(EvalMetrics, HandComputedKlPerplexityAndAgreement) {
  // base p = softmax(0, ln 3) = (1/4, 3/4); model q = (1/2, 1/2).
  const std::vector<float> base = {0.0f, static_cast<float>(std::log(3.0))};
  const std::vector<float> model = {5.0f, 5.0f};
  const EvalScore s = score_token(base, model, 1);
  const double kl = 0.25 * std::log(0.25 / 0.5) + 0.75 * std::log(0.75 / 0.5);
  EXPECT_NEAR(s.kl, kl, 1e-7);
  EXPECT_NEAR(s.nll_base, -std::log(0.75), 1e-7);
  EXPECT_NEAR(s.nll_model, std::log(2.0), 1e-7);
  EXPECT_FALSE(s.top1_agree);  // base: id 1; model: a tie, the lowest id (0)
  EXPECT_EQ(score_token(base, base, 0).kl, 0.0);
  EXPECT_TRUE(score_token(base, base, 0).top1_agree);

  EvalSummary sum;
  sum.add(s);
  sum.add(score_token(base, base, 0));  // nll_base = nll_model = ln 4, kl 0, agree
  EXPECT_EQ(sum.tokens(), 2);
  EXPECT_NEAR(sum.ppl_base(), std::exp((-std::log(0.75) + std::log(4.0)) / 2), 1e-6);
  EXPECT_NEAR(sum.ppl_model(), std::exp((std::log(2.0) + std::log(4.0)) / 2), 1e-6);
  EXPECT_NEAR(sum.kl_mean(), kl / 2, 1e-7);
  EXPECT_NEAR(sum.kl_max(), kl, 1e-7);
  EXPECT_NEAR(sum.kl_p99(), kl, 1e-7);  // nearest rank: the 2nd of 2
  EXPECT_DOUBLE_EQ(sum.top1_agreement(), 0.5);

  EvalSummary many;  // p99 of 1..200 (x1e-3) by nearest rank: the 198th
  for (int i = 200; i >= 1; --i) {
    EvalScore e;
    e.kl = i * 1e-3;
    many.add(e);
  }
  EXPECT_DOUBLE_EQ(many.kl_p99(), 0.198);
  EXPECT_THROW(score_token(base, std::vector<float>{1, 2, 3}, 0), Error);
  EXPECT_THROW(score_token(base, model, 7), Error);
}

TEST(EvalCli, MatchesKlFromDevLogitsOfBothModels) {
  const std::string g = "golden/tiny512/gguf/";
  SMOLVLM_REQUIRE_SHARED(g + "text-Q4_K_M.gguf");
  const std::string model = testing::shared_path(g + "text-Q4_K_M.gguf").string();
  const std::string base = testing::shared_path(g + "text-F16.gguf").string();
  TempDir dir;
  std::string text;
  for (int i = 0; i < 60; ++i) text += "the cat sat on the mat and looked at the rain " + std::to_string(i * 7) + ". ";
  testing::write_file(dir / "t.txt", text.data(), text.size());
  const int64_t ctx = 64;
  const auto ev = run_smolvlm({"eval", model, "--base", base, "--text", (dir / "t.txt").string(), "--ctx",
                               std::to_string(ctx), "--json"});
  ASSERT_EQ(ev.exit_code, 0) << ev.err;
  const nlohmann::json got = nlohmann::json::parse(ev.out)["text"];

  const auto tok = run_smolvlm({"dev", "tokenize", base, "-f", (dir / "t.txt").string(), "--json", "--no-special"});
  ASSERT_EQ(tok.exit_code, 0) << tok.err;
  const std::vector<int32_t> ids = nlohmann::json::parse(tok.out).get<std::vector<int32_t>>();
  const size_t windows = ids.size() / ctx;
  ASSERT_GE(windows, 2u);
  double nll_b = 0, nll_q = 0, kl = 0, kl_max = 0;
  int64_t n = 0, agree = 0;
  for (size_t w = 0; w < windows; ++w) {
    std::string list;
    for (int64_t i = 0; i < ctx; ++i) {
      if (i > 0) list += ',';
      list += std::to_string(ids[w * ctx + i]);
    }
    std::vector<std::vector<float>> logits;
    for (const std::string& m : {base, model}) {
      const auto out = dir / "l.npy";
      const auto r = run_smolvlm({"dev", "logits", m, "--ids", list, "--all-positions", "--out", out.string()});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      logits.push_back(testing::load_npy(out).f32());
    }
    const size_t V = logits[0].size() / ctx;
    for (int64_t j = ctx / 2; j < ctx - 1; ++j) {
      const float* b = logits[0].data() + j * V;
      const float* q = logits[1].data() + j * V;
      double mb = -1e300, mq = -1e300;
      size_t ab = 0, aq = 0;
      for (size_t v = 0; v < V; ++v) {
        if (b[v] > mb) mb = b[v], ab = v;
        if (q[v] > mq) mq = q[v], aq = v;
      }
      double sb = 0, sq = 0;
      for (size_t v = 0; v < V; ++v) sb += std::exp(b[v] - mb), sq += std::exp(q[v] - mq);
      const double lb = mb + std::log(sb), lq = mq + std::log(sq);
      double k = 0;
      for (size_t v = 0; v < V; ++v) k += std::exp(b[v] - lb) * ((b[v] - lb) - (q[v] - lq));
      const int32_t next = ids[w * ctx + j + 1];
      nll_b += lb - b[next];
      nll_q += lq - q[next];
      kl += k;
      kl_max = std::max(kl_max, k);
      agree += ab == aq;
      ++n;
    }
  }
  EXPECT_EQ(got["tokens"].get<int64_t>(), n);
  const auto rel = [](double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-12); };
  EXPECT_LT(rel(got["kl_mean"], kl / n), 1e-4) << got.dump();
  EXPECT_LT(rel(got["kl_max"], kl_max), 1e-4) << got.dump();
  EXPECT_LT(rel(got["ppl_base"], std::exp(nll_b / n)), 1e-4) << got.dump();
  EXPECT_LT(rel(got["ppl_model"], std::exp(nll_q / n)), 1e-4) << got.dump();
  EXPECT_NEAR(got["top1_agreement"].get<double>(), static_cast<double>(agree) / n, 1.5 / n) << got.dump();
  EXPECT_GT(got["kl_mean"].get<double>(), 0);  // Q4_K_M is not F16
}

TEST(EvalCli, ImagesScoreTheBaseAnswerAndErrorsAreClear) {
  const std::string g = "golden/tiny512/";
  SMOLVLM_REQUIRE_SHARED(g + "gguf/mmproj-F16.gguf");
  const std::string model = testing::shared_path(g + "gguf/text-Q8_0.gguf").string();
  const std::string base = testing::shared_path(g + "gguf/text-F16.gguf").string();
  const std::string mmproj = testing::shared_path(g + "gguf/mmproj-F16.gguf").string();
  const std::string images = testing::shared_path(g + "inputs").string();
  const auto self = run_smolvlm({"eval", base, "--base", base, "--mmproj", mmproj, "--images", images, "--json",
                                 "--answer-tokens", "8"});
  ASSERT_EQ(self.exit_code, 0) << self.err;
  const nlohmann::json s = nlohmann::json::parse(self.out)["images"];
  EXPECT_GE(s["tokens"].get<int64_t>(), 1);
  EXPECT_EQ(s["kl_mean"].get<double>(), 0.0);  // a model against itself
  EXPECT_EQ(s["top1_agreement"].get<double>(), 1.0);
  const auto q = run_smolvlm({"eval", model, "--base", base, "--mmproj", mmproj, "--images", images, "--json",
                              "--answer-tokens", "8"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_GT(nlohmann::json::parse(q.out)["images"]["kl_mean"].get<double>(), 0.0);
  const auto bad = run_smolvlm({"eval", model, "--base", base, "--images", images});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("--images needs --mmproj"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace smolvlm
