// The default fast float order (model/numerics.h) against the same goldens the exact-mode parity
// tests use (test_text_model_golden.cpp), with stated and measured tolerances, on the scalar kernels
// and every SIMD ISA this CPU has; and the switch between the modes.
//
// "rel" = max|x - ref| / max|ref| over a prompt's logits (all positions), as in the golden tests.
// Fast mode changes only the order of float sums (one integer sum per quantized block, 8 lanes
// along k for float weights on AVX2, flash-attention tiles), so an F32 model stays within ~1e-6 of
// llama.cpp. Quantized models quantize each activation row to Q8 blocks, where a sum that moves by
// one ulp can move an activation across a rounding boundary: one code of one block changes and the
// logits downstream move by up to ~1e-2 relative (golden/README.md §7 expects 1-3e-2 for such
// positions). The bounds below hold with a margin over what was measured here (printed per run).
#include <gtest/gtest.h>

#include <cstdio>

#include "model/numerics.h"
#include "support/testing.h"
#include "test_text_model_util.h"

namespace smolvlm {
namespace {

using ::smolvlm::testing::IsaScope;
using testing::load_npy;
using testing::text::expect_greedy_matches;
using testing::text::golden;
using testing::text::GoldenRun;
using testing::text::rel_diff;
using testing::text::run_golden_protocol;

constexpr int kPrompts = 4;
constexpr int64_t kGreedy = 24;

// Fast against llama.cpp's logits for the same file (F32 KV cache, as the goldens).
double fast_tolerance(const std::string& variant) {
  if (variant == "F32") return 1e-5;  // float sums reordered only
  if (variant == "F16") return 1e-3;  // + fp16-rounded activations that may round the other way
  return 3e-2;                        // quantized activations (above)
}

std::vector<int32_t> prompt(const std::string& model, int k) {
  return load_npy(golden(model, "inputs/prompt_" + std::to_string(k) + ".npy")).i32();
}

using Param = std::tuple<std::string, std::string, std::string>;  // model, variant, ISA
class TextFastOrder : public ::testing::TestWithParam<Param> {};
std::string param_name(const ::testing::TestParamInfo<Param>& p) {
  return std::get<0>(p.param) + "_" + std::get<1>(p.param) + "_" + std::get<2>(p.param);
}

TEST_P(TextFastOrder, LogitsStayWithinTheToleranceOfLlamaCppAndRef) {
  const auto& [model_name, variant, isa] = GetParam();
  SMOLVLM_REQUIRE_SHARED("golden/" + model_name + "/gguf/text-" + variant + ".gguf");
  SMOLVLM_REQUIRE_ISA(isa);
  IsaScope scope(*kernels::parse_isa(isa));
  const ScopedNumerics fast(Numerics::kFast);
  const TextModel model = TextModel::open(golden(model_name, "gguf/text-" + variant + ".gguf"));
  ASSERT_EQ(model.numerics(), Numerics::kFast);
  const double tol = fast_tolerance(variant);
  const int64_t V = model.config().n_vocab;
  for (int k = 0; k < kPrompts; ++k) {
    const std::string dir = "llamacpp/text/" + variant + "/", K = std::to_string(k);
    const std::string what = model_name + " " + variant + " " + isa + " prompt " + K;
    const GoldenRun r = run_golden_protocol(model, prompt(model_name, k), kGreedy, GgmlType::F32);
    const double rel = rel_diff(r.logits, load_npy(golden(model_name, dir + "logits_p" + K + ".npy")).f32());
    std::printf("  %s, fast: logits vs llama.cpp %.2e (bound %.0e)\n", what.c_str(), rel, tol);
    EXPECT_LE(rel, tol) << what;
    if (variant == "F32") {  // and the float64 reference, as tight as exact mode's bound
      EXPECT_LE(rel_diff(r.logits, load_npy(golden(model_name, "ref/logits_prompt_" + K + ".npy")).f32()), 1e-4);
      EXPECT_LE(rel_diff(r.gen_logits, load_npy(golden(model_name, "ref/gen_logits_prompt_" + K + ".npy")).f32()),
                1e-4);
    }
    expect_greedy_matches(r, load_npy(golden(model_name, dir + "greedy_p" + K + ".npy")).i32(), V, tol, what);
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, TextFastOrder,
                         ::testing::Combine(::testing::Values("tiny512", "tiny384"),
                                            ::testing::Values("F32", "F16", "Q8_0", "Q4_0", "Q4_K_M", "Q5_K_M"),
                                            ::testing::Values("scalar", "avx2", "avx512")),
                         param_name);

// The setting is taken when a model binds its weights, and the two modes really differ: on a SIMD
// ISA the fast order's logits are not llama.cpp's bits (else the fast mode would not be in use),
// while the exact order's are.
TEST(Numerics, EachModelKeepsTheModeItWasBoundWith) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/text-Q8_0.gguf");
  const std::string path = golden("tiny512", "gguf/text-Q8_0.gguf");
  const auto ids = prompt("tiny512", 0);
  const auto ref = load_npy(golden("tiny512", "llamacpp/text/Q8_0/logits_p0.npy")).f32();
  auto logits = [&](const TextModel& m) { return run_golden_protocol(m, ids, 1, GgmlType::F32).logits; };
  std::optional<TextModel> exact, fast;
  {
    const ScopedNumerics e(Numerics::kExact);
    exact.emplace(TextModel::open(path));
  }
  {
    const ScopedNumerics f(Numerics::kFast);
    fast.emplace(TextModel::open(path));
  }
  EXPECT_EQ(exact->numerics(), Numerics::kExact);
  EXPECT_EQ(fast->numerics(), Numerics::kFast);
  EXPECT_EQ(logits(*exact), ref);  // bits, whatever the process's setting is now
  if (kernels::active_isa() != kernels::Isa::kScalar) {
    const auto f = logits(*fast);
    EXPECT_NE(f, ref) << "fast mode gave llama.cpp's bits: is it in use?";
    EXPECT_LE(rel_diff(f, ref), fast_tolerance("Q8_0"));
  }
  EXPECT_STREQ(numerics_name(Numerics::kExact), "exact");
  EXPECT_STREQ(numerics_name(Numerics::kFast), "fast");
}

}  // namespace
}  // namespace smolvlm
