// TextModel::decode_batch (one pass for the decode steps of several sequences) against decoding
// each sequence alone with forward(): the golden prompts of tiny512 / tiny384, prefilled one by
// one, then 16 greedy steps of all of them together, on the scalar kernels and every SIMD ISA.
// A batched pass multiplies B rows at once where the lone decode multiplies one, so the float
// matmuls may sum in another order: F32 weights stay within 1e-5 x max|logit| (measured 4.6e-7 on
// AVX2 / AVX-512, 0 on scalar) with the same greedy tokens; quantized weights (each row's
// activations rounded on their own, integer dot products) give bit-identical logits. Bad calls
// change no state.
#include <gtest/gtest.h>

#include "base/error.h"
#include "model/text/text_generate.h"
#include "support/testing.h"
#include "test_text_model_util.h"

namespace smolvlm {
namespace {

using testing::load_npy;
using testing::text::golden;
using testing::text::rel_diff;
using ::smolvlm::testing::IsaScope;

constexpr int64_t kSteps = 16;

using Param = std::tuple<std::string, std::string, std::string>;  // model, variant, ISA

class DecodeBatch : public ::testing::TestWithParam<Param> {};

TEST_P(DecodeBatch, EqualsDecodingEachSequenceAlone) {
  const auto& [model_name, variant, isa] = GetParam();
  SMOLVLM_REQUIRE_SHARED("golden/" + model_name + "/gguf/text-" + variant + ".gguf");
  SMOLVLM_REQUIRE_ISA(isa);
  IsaScope scope(*kernels::parse_isa(isa));
  const TextModel model = TextModel::open(golden(model_name, "gguf/text-" + variant + ".gguf"));
  const int64_t V = model.config().n_vocab;
  kernels::ThreadPool pool(2);
  TextStateOptions o;
  o.kv_type = GgmlType::F32;
  o.n_ctx = 256;

  // Alone: each prompt, then kSteps greedy tokens, one forward() per token.
  constexpr int kSeq = 4;
  std::vector<std::vector<int32_t>> alone_ids(kSeq);
  std::vector<std::vector<float>> alone_logits(kSeq);
  for (int k = 0; k < kSeq; ++k) {
    const auto prompt = load_npy(golden(model_name, "inputs/prompt_" + std::to_string(k) + ".npy")).i32();
    TextState s = model.new_state(o);
    std::vector<float> last(static_cast<size_t>(V));
    model.forward(TextInput::tokens(prompt), s, LogitRows::kLast, last.data(), pool);
    alone_ids[k] = greedy_continuation(model, s, last, kSteps, pool, &alone_logits[k]);
  }

  // Together: the same prompts prefilled one by one, then every step of all four in one pass.
  std::vector<TextState> states;
  std::vector<int32_t> next(kSeq);
  for (int k = 0; k < kSeq; ++k) {
    const auto prompt = load_npy(golden(model_name, "inputs/prompt_" + std::to_string(k) + ".npy")).i32();
    states.push_back(model.new_state(o));
    std::vector<float> last(static_cast<size_t>(V));
    model.forward(TextInput::tokens(prompt), states.back(), LogitRows::kLast, last.data(), pool);
    next[k] = argmax(last.data(), V);
  }
  std::vector<TextState*> ptrs;
  for (TextState& s : states) ptrs.push_back(&s);
  TextActivations act = model.new_activations(kSeq);
  std::vector<float> logits(static_cast<size_t>(kSeq * V));
  double worst = 0;
  for (int64_t step = 0; step < kSteps; ++step) {
    for (int k = 0; k < kSeq; ++k) ASSERT_EQ(next[k], alone_ids[k][step]) << "sequence " << k << " step " << step;
    model.decode_batch(next, ptrs, act, logits.data(), pool);
    for (int k = 0; k < kSeq; ++k) {
      const std::span<const float> row(logits.data() + k * V, static_cast<size_t>(V));
      worst = std::max(worst, rel_diff(row, {alone_logits[k].data() + step * V, static_cast<size_t>(V)}));
      next[k] = argmax(row.data(), V);
    }
  }
  std::printf("  %s %s %s: batched vs alone, max rel %.2e\n", model_name.c_str(), variant.c_str(), isa.c_str(), worst);
  if (variant == "F32") EXPECT_LE(worst, 1e-5);
  else EXPECT_EQ(worst, 0.0);
}

INSTANTIATE_TEST_SUITE_P(Golden, DecodeBatch,
                         ::testing::Combine(::testing::Values("tiny512", "tiny384"),
                                            ::testing::Values("F32", "Q8_0", "Q4_K_M"),
                                            ::testing::Values("scalar", "avx2", "avx512")),
                         [](const ::testing::TestParamInfo<Param>& p) {
                           return std::get<0>(p.param) + "_" + std::get<1>(p.param) + "_" + std::get<2>(p.param);
                         });

TEST(DecodeBatchErrors, BadCallsChangeNoState) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/text-F32.gguf");
  const TextModel model = TextModel::open(golden("tiny512", "gguf/text-F32.gguf"));
  kernels::ThreadPool pool(1);
  TextStateOptions o;
  o.n_ctx = 4;
  TextState a = model.new_state(o), b = model.new_state(o);
  TextActivations act = model.new_activations(2);
  std::vector<float> logits(2 * 600);
  const std::vector<int32_t> two = {1, 2};
  std::vector<TextState*> same = {&a, &a}, both = {&a, &b}, one = {&a};
  EXPECT_THROW(model.decode_batch(two, same, act, logits.data(), pool), Error);
  EXPECT_THROW(model.decode_batch(two, one, act, logits.data(), pool), Error);
  EXPECT_THROW(model.decode_batch(std::vector<int32_t>{1, 600}, both, act, logits.data(), pool), Error);
  TextActivations small = model.new_activations(1);
  EXPECT_THROW(model.decode_batch(two, both, small, logits.data(), pool), Error);
  EXPECT_EQ(a.n_past(), 0);
  EXPECT_EQ(b.n_past(), 0);
  for (int i = 0; i < 4; ++i) model.decode_batch(two, both, act, logits.data(), pool);
  EXPECT_EQ(a.n_past(), 4);
  EXPECT_THROW(model.decode_batch(two, both, act, logits.data(), pool), Error);  // both contexts are full
  EXPECT_EQ(b.n_past(), 4);
}

}  // namespace
}  // namespace smolvlm
