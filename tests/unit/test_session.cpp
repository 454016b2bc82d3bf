// Session: greedy generation equals llama.cpp's golden continuation, prefix reuse gives the same
// tokens as a fresh session while prefilling only the new part, cancellation, limits, stop strings,
// seeded sampling, and clear errors for prompts that cannot run.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "io/gguf.h"
#include "runtime/session.h"
#include "support/testing.h"

namespace smolvlm {
namespace {

using testing::shared_path;

const char* const kModel = "golden/tiny512/gguf/text-F32.gguf";

std::shared_ptr<const LoadedModel> tiny_model() {
  static std::shared_ptr<const LoadedModel> m = LoadedModel::load(shared_path(kModel).string());
  return m;
}

nlohmann::json tiny_index() {
  std::ifstream f(shared_path("golden/tiny512/index.json"));
  return nlohmann::json::parse(f);
}

GenerateOptions greedy(int64_t n) {
  GenerateOptions o;
  o.sampling.temperature = 0;
  o.num_predict = n;
  return o;
}

std::vector<int32_t> cat_ids(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

const Session::TextSink kDiscard = [](std::string_view) { return true; };

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override { SMOLVLM_REQUIRE_SHARED(kModel); }
  kernels::ThreadPool pool{2};
};

TEST_F(SessionTest, GreedyEqualsGoldenContinuationUpToEndOfGeneration) {
  const nlohmann::json idx = tiny_index();
  int checked = 0;
  for (const auto& g : idx["greedy"]["F32"]) {
    const auto prompt = idx["prompts"][g["prompt"].get<int>()]["ids"].get<std::vector<int32_t>>();
    const auto golden = g["ids"].get<std::vector<int32_t>>();
    Session s(tiny_model(), {}, pool);
    const GenerateResult r = s.generate(prompt, greedy(static_cast<int64_t>(golden.size())), kDiscard);
    // The session stops at the first end-of-generation token (the golden protocol does not).
    size_t expect_n = golden.size();
    for (size_t i = 0; i < golden.size(); ++i) {
      if (tiny_model()->tokenizer().is_eog(golden[i])) {
        expect_n = i + 1;
        break;
      }
    }
    const std::vector<int32_t> want(golden.begin(), golden.begin() + static_cast<long>(expect_n));
    EXPECT_EQ(r.tokens, want) << "prompt " << g["prompt"];
    EXPECT_EQ(r.reason, expect_n < golden.size() ? DoneReason::kStop : DoneReason::kLength);
    EXPECT_EQ(r.prompt_tokens, static_cast<int64_t>(prompt.size()));
    EXPECT_EQ(r.prompt_reused, 0);
    ++checked;
  }
  EXPECT_GE(checked, 2);
}

TEST_F(SessionTest, ReusesCommonPrefixAndMatchesFreshSession) {
  const nlohmann::json idx = tiny_index();
  const auto turn1 = idx["prompts"][1]["ids"].get<std::vector<int32_t>>();
  Session chat(tiny_model(), {}, pool);
  const GenerateResult r1 = chat.generate(turn1, greedy(6), kDiscard);
  ASSERT_EQ(r1.tokens.size(), 6u);
  // The next turn re-sends the history: the prompt, the reply, and new tokens.
  const std::vector<int32_t> turn2 = cat_ids(cat_ids(turn1, r1.tokens), {599, 201, 559, 28, 414, 75});
  const GenerateResult r2 = chat.generate(turn2, greedy(8), kDiscard);
  // The cache held the prompt and the first 5 reply tokens (the 6th was sampled, never fed).
  EXPECT_EQ(r2.prompt_reused, static_cast<int64_t>(turn1.size() + 5));
  Session fresh(tiny_model(), {}, pool);
  const GenerateResult f2 = fresh.generate(turn2, greedy(8), kDiscard);
  EXPECT_EQ(f2.prompt_reused, 0);
  EXPECT_EQ(r2.tokens, f2.tokens);

  // A shorter, diverging prompt truncates the cache and still matches a fresh run.
  const std::vector<int32_t> turn3(turn1.begin(), turn1.begin() + 4);
  const GenerateResult r3 = chat.generate(turn3, greedy(5), kDiscard);
  EXPECT_EQ(r3.prompt_reused, 3);  // the last prompt token is always evaluated again
  Session fresh3(tiny_model(), {}, pool);
  EXPECT_EQ(r3.tokens, fresh3.generate(turn3, greedy(5), kDiscard).tokens);

  // The same prompt twice: everything but the last token is reused.
  const GenerateResult again = chat.generate(turn3, greedy(5), kDiscard);
  EXPECT_EQ(again.prompt_reused, 3);
  EXPECT_EQ(again.tokens, r3.tokens);
}

TEST_F(SessionTest, NumPredictLimitsAndTextIsTheDecodedReply) {
  const auto prompt = tiny_index()["prompts"][0]["ids"].get<std::vector<int32_t>>();
  Session s(tiny_model(), {}, pool);
  std::string streamed;
  GenerateOptions o = greedy(7);
  o.skip_special = false;
  const GenerateResult r = s.generate(prompt, o, [&](std::string_view t) {
    streamed += t;
    return true;
  });
  if (r.reason == DoneReason::kLength) {
    EXPECT_EQ(r.eval_tokens, 7);
    EXPECT_EQ(r.text, tiny_model()->tokenizer().decode(r.tokens));
  }
  EXPECT_EQ(streamed, r.text);
  const GenerateResult zero = s.generate(prompt, greedy(0), kDiscard);
  EXPECT_EQ(zero.eval_tokens, 0);
  EXPECT_EQ(zero.reason, DoneReason::kLength);
}

TEST_F(SessionTest, StopStringEndsTheReplyAndIsNotEmitted) {
  const auto prompt = tiny_index()["prompts"][0]["ids"].get<std::vector<int32_t>>();
  Session s(tiny_model(), {}, pool);
  GenerateOptions o = greedy(24);
  o.skip_special = false;
  const GenerateResult full = s.generate(prompt, o, kDiscard);
  ASSERT_GE(full.text.size(), 6u);
  // Stop on a piece of the reply that starts after its first 2 bytes.
  const std::string stop = full.text.substr(2, 3);
  const size_t at = full.text.find(stop);
  o.stop = {stop};
  std::string streamed;
  const GenerateResult cut = s.generate(prompt, o, [&](std::string_view t) {
    streamed += t;
    return true;
  });
  EXPECT_EQ(cut.reason, DoneReason::kStop);
  EXPECT_EQ(streamed, full.text.substr(0, at));
  EXPECT_EQ(cut.text, streamed);
  EXPECT_LT(cut.eval_tokens, full.eval_tokens + 1);
}

TEST_F(SessionTest, CancellationBySinkOrFlagLeavesAUsableSession) {
  const auto prompt = tiny_index()["prompts"][1]["ids"].get<std::vector<int32_t>>();
  Session s(tiny_model(), {}, pool);
  GenerateOptions o = greedy(20);
  o.skip_special = false;
  int pieces = 0;
  const GenerateResult r = s.generate(prompt, o, [&](std::string_view) { return ++pieces < 2; });
  EXPECT_EQ(r.reason, DoneReason::kCancelled);
  EXPECT_EQ(pieces, 2);

  std::atomic<bool> cancel{true};
  const GenerateResult c = s.generate(prompt, o, kDiscard, &cancel);
  EXPECT_EQ(c.reason, DoneReason::kCancelled);
  EXPECT_EQ(c.eval_tokens, 0);

  Session fresh(tiny_model(), {}, pool);
  EXPECT_EQ(s.generate(prompt, greedy(10), kDiscard).tokens, fresh.generate(prompt, greedy(10), kDiscard).tokens);
}

TEST_F(SessionTest, SameSeedSameTokens) {
  const auto prompt = tiny_index()["prompts"][1]["ids"].get<std::vector<int32_t>>();
  GenerateOptions o;
  o.sampling.temperature = 1.5f;
  o.sampling.top_k = 0;
  o.sampling.top_p = 1.0f;
  o.sampling.seed = 1234;
  o.num_predict = 16;
  Session a(tiny_model(), {}, pool), b(tiny_model(), {}, pool);
  const GenerateResult ra = a.generate(prompt, o, kDiscard);
  EXPECT_EQ(ra.tokens, b.generate(prompt, o, kDiscard).tokens);
  o.sampling.seed = 4321;
  EXPECT_NE(ra.tokens, b.generate(prompt, o, kDiscard).tokens);
}

TEST_F(SessionTest, PromptThatCannotRunIsAClearErrorAndChangesNothing) {
  SessionOptions small;
  small.n_ctx = 8;
  Session s(tiny_model(), small, pool);
  const std::vector<int32_t> ok = {1, 559, 28};
  const GenerateResult first = s.generate(ok, greedy(2), kDiscard);
  const std::vector<int32_t> cached = s.cached_tokens();
  const std::vector<int32_t> long_prompt(8, 67);
  try {
    s.generate(long_prompt, greedy(2), kDiscard);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("8 tokens"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("context holds 8"), std::string::npos) << e.what();
  }
  EXPECT_THROW(s.generate(std::vector<int32_t>{1, 600}, greedy(2), kDiscard), Error);
  EXPECT_THROW(s.generate(std::vector<int32_t>{}, greedy(2), kDiscard), Error);
  EXPECT_EQ(s.cached_tokens(), cached);
  // A reply that reaches the end of the context stops with kLength.
  const GenerateResult full = s.generate(ok, greedy(100), kDiscard);
  if (full.reason != DoneReason::kStop) {
    EXPECT_EQ(full.reason, DoneReason::kLength);
    EXPECT_EQ(static_cast<int64_t>(s.cached_tokens().size()), 8);
  }
  (void)first;
}

TEST_F(SessionTest, MediaRowsReplaceTokenEmbeddingsAndTakePartInPrefixReuse) {
  const auto ids = tiny_index()["prompts"][1]["ids"].get<std::vector<int32_t>>();
  ASSERT_GT(ids.size(), 8u);
  // Rows 3..6 get the embeddings of other tokens: the same as prompting with those tokens.
  const GgufFile f = GgufFile::open(shared_path(kModel).string());
  const GgufTensorInfo& embd = f.tensor("token_embd.weight");
  ASSERT_EQ(embd.type, GgmlType::F32);
  const int64_t E = embd.ne[0];
  const auto* table = reinterpret_cast<const float*>(f.tensor_data(embd).data());
  const std::vector<int32_t> other = {100, 200, 300, 400};
  std::vector<float> rows;
  for (const int32_t id : other) rows.insert(rows.end(), table + id * E, table + (id + 1) * E);
  Prompt p;
  p.ids = ids;
  p.media.push_back({3, 4, rows.data(), {}, /*key=*/77});
  std::vector<int32_t> substituted = ids;
  std::copy(other.begin(), other.end(), substituted.begin() + 3);

  Session s(tiny_model(), {}, pool), plain(tiny_model(), {}, pool);
  const GenerateResult with_media = s.generate(p, greedy(10), kDiscard);
  EXPECT_EQ(with_media.tokens, plain.generate(substituted, greedy(10), kDiscard).tokens);
  EXPECT_EQ(s.cached_tokens()[3], ids[3]);  // the cache records the placeholder id

  // Same media key: everything but the last position is reused; another key: only the text before it.
  EXPECT_EQ(s.generate(p, greedy(2), kDiscard).prompt_reused, static_cast<int64_t>(ids.size()) - 1);
  p.media[0].key = 78;
  const GenerateResult changed = s.generate(p, greedy(10), kDiscard);
  EXPECT_EQ(changed.prompt_reused, 3);
  EXPECT_EQ(changed.tokens, with_media.tokens);  // same rows, so the same reply

  p.media.push_back({2, 2, rows.data(), {}, 1});  // overlaps and is out of order
  EXPECT_THROW(s.generate(p, greedy(2), kDiscard), Error);
}

}  // namespace
}  // namespace smolvlm
