// Text decoder behaviour that the golden files do not pin down: the hyper-parameters read from
// GGUF keys (and llama.cpp's defaults), chunked prefill vs one batch vs token-by-token decode,
// last-row logits, the input-embeddings path, a tied lm_head, and the state/cache bookkeeping.
#include <cstring>

#include "kernels/ops.h"
#include "support/testing.h"
#include "test_text_model_util.h"

namespace smolvlm {
namespace {

using testing::load_npy;
using testing::text::golden;
using testing::text::GgufEdit;
using testing::text::rel_diff;
using testing::text::rewrite_gguf;

const char* kTiny512 = "golden/tiny512/gguf/text-F32.gguf";
const char* kTiny384 = "golden/tiny384/gguf/text-F32.gguf";

std::vector<int32_t> prompt3(const std::string& model) {
  return load_npy(golden(model, "inputs/prompt_3.npy")).i32();  // 60 ids
}

std::vector<float> run(const TextModel& m, const std::vector<int32_t>& ids, LogitRows rows, int64_t n_batch = 512,
                       GgmlType kv = GgmlType::F32) {
  kernels::ThreadPool pool(2);
  TextStateOptions o;
  o.n_batch = n_batch;
  o.kv_type = kv;
  TextState s = m.new_state(o);
  std::vector<float> logits((rows == LogitRows::kAll ? ids.size() : 1) * m.config().n_vocab);
  m.forward(TextInput::tokens(ids), s, rows, logits.data(), pool);
  EXPECT_EQ(s.n_past(), static_cast<int64_t>(ids.size()));
  return logits;
}

TEST(TextModel, ReadsHyperParametersOfTheGoldenModels) {
  SMOLVLM_REQUIRE_SHARED(kTiny512);
  const TextModel m = TextModel::open(testing::shared_path(kTiny512).string());
  const TextConfig& c = m.config();
  EXPECT_EQ(c.n_embd, 256);
  EXPECT_EQ(c.n_layer, 2);
  EXPECT_EQ(c.n_ff, 512);
  EXPECT_EQ(c.n_head, 4);
  EXPECT_EQ(c.n_head_kv, 2);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.n_rot, 64);
  EXPECT_EQ(c.n_vocab, 600);
  EXPECT_EQ(c.n_ctx_train, 8192);
  EXPECT_FLOAT_EQ(c.rms_eps, 1e-5f);
  EXPECT_FLOAT_EQ(c.rope_freq_base, 100000.0f);
  EXPECT_FALSE(m.weights().tied_lm_head);
  // 14 matrices of 256 x 256 / 128 x 256 / 512 x 256 f32 + lm_head 600 x 256
  const size_t per_layer = (256 * 256 * 2 + 128 * 256 * 2 + 512 * 256 * 3) * 4;
  EXPECT_EQ(m.weights().matmul_bytes(), 2 * per_layer + 600 * 256 * 4);
  // default context: min(trained, 4096)
  EXPECT_EQ(m.new_state().n_ctx(), 4096);
}

TEST(TextModel, OptionalKeysTakeLlamaCppDefaults) {
  SMOLVLM_REQUIRE_SHARED(kTiny384);  // heads 4 / kv heads 4, head dim 64 = 256 / 4
  const GgufFile f = GgufFile::open(testing::shared_path(kTiny384).string());
  const auto bytes = rewrite_gguf(f, {.edit_kv = [](GgufWriter& w) {
    for (const char* k : {"llama.attention.head_count_kv", "llama.attention.key_length", "llama.attention.value_length",
                          "llama.rope.dimension_count"})
      w.remove(k);
  }});
  const TextModel stripped(GgufFile::parse(bytes, "stripped.gguf"));
  EXPECT_EQ(stripped.config().n_head_kv, 4);
  EXPECT_EQ(stripped.config().head_dim, 64);
  EXPECT_EQ(stripped.config().n_rot, 64);
  const TextModel full = TextModel::open(testing::shared_path(kTiny384).string());
  const auto ids = prompt3("tiny384");
  EXPECT_EQ(run(stripped, ids, LogitRows::kAll), run(full, ids, LogitRows::kAll));

  // rope.freq_base defaults to 10000: a different model, so different logits
  const auto no_base = rewrite_gguf(f, {.edit_kv = [](GgufWriter& w) { w.remove("llama.rope.freq_base"); }});
  const TextModel m2(GgufFile::parse(no_base, "no_base.gguf"));
  EXPECT_FLOAT_EQ(m2.config().rope_freq_base, 10000.0f);
  EXPECT_GT(rel_diff(run(m2, ids, LogitRows::kLast), run(full, ids, LogitRows::kLast)), 1e-4);
}

TEST(TextModel, ChunkedPrefillMatchesOneBatchAndLastRow) {
  SMOLVLM_REQUIRE_SHARED(kTiny512);
  const TextModel m = TextModel::open(testing::shared_path(kTiny512).string());
  const int64_t V = m.config().n_vocab;
  const auto ids = prompt3("tiny512");
  const auto one_batch = run(m, ids, LogitRows::kAll);
  for (int64_t batch : {1, 7, 32}) {
    SCOPED_TRACE("batch " + std::to_string(batch));
    EXPECT_LE(rel_diff(run(m, ids, LogitRows::kAll, batch), one_batch), 2e-6);
    // only the last row: the last layer skips the other rows, the numbers are the same
    const auto last = run(m, ids, LogitRows::kLast, batch);
    EXPECT_LE(rel_diff(last, {one_batch.data() + (ids.size() - 1) * V, size_t(V)}), 2e-6);
  }
}

TEST(TextModel, EmbeddingsInputEqualsTokenInput) {
  SMOLVLM_REQUIRE_SHARED(kTiny512);
  const TextModel m = TextModel::open(testing::shared_path(kTiny512).string());
  const int64_t E = m.config().n_embd, V = m.config().n_vocab;
  const auto ids = prompt3("tiny512");
  std::vector<float> rows(ids.size() * E);
  const GgufTensorInfo& embd = *m.file().find_tensor("token_embd.weight");
  kernels::embed_rows({embd.type, V, E, m.file().tensor_data(embd).data()}, ids.data(), int64_t(ids.size()), rows.data());

  kernels::ThreadPool pool(2);
  TextState s = m.new_state({.n_ctx = 128, .n_batch = 16});
  std::vector<float> got(ids.size() * V);
  // the first 20 positions as tokens, the rest as embedding rows (how image features are spliced in)
  m.forward(TextInput::tokens({ids.data(), 20}), s, LogitRows::kAll, got.data(), pool);
  m.forward(TextInput::embedding_rows(rows.data() + 20 * E, int64_t(ids.size()) - 20), s, LogitRows::kAll,
            got.data() + 20 * V, pool);
  TextState s2 = m.new_state({.n_ctx = 128, .n_batch = 16});
  std::vector<float> want(ids.size() * V);
  m.forward(TextInput::tokens({ids.data(), 20}), s2, LogitRows::kAll, want.data(), pool);
  m.forward(TextInput::tokens({ids.data() + 20, ids.size() - 20}), s2, LogitRows::kAll, want.data() + 20 * V, pool);
  EXPECT_EQ(got, want);
}

TEST(TextModel, TiedLmHeadReusesTokenEmbeddings) {
  SMOLVLM_REQUIRE_SHARED(kTiny512);
  const GgufFile f = GgufFile::open(testing::shared_path(kTiny512).string());
  // untied file whose output.weight holds token_embd's values, and the same without output.weight
  const auto copied = rewrite_gguf(f, {.data_from = [&](const GgufTensorInfo& t) {
    return t.name == "output.weight" ? f.find_tensor("token_embd.weight") : &t;
  }});
  const auto tied = rewrite_gguf(f, {.keep = [](const std::string& name) { return name != "output.weight"; }});
  const TextModel a(GgufFile::parse(copied, "copied.gguf"));
  const TextModel b(GgufFile::parse(tied, "tied.gguf"));
  EXPECT_FALSE(a.weights().tied_lm_head);
  EXPECT_TRUE(b.weights().tied_lm_head);
  const auto ids = prompt3("tiny512");
  EXPECT_EQ(run(a, ids, LogitRows::kAll), run(b, ids, LogitRows::kAll));
}

TEST(TextModel, ClearRestartsTheSequence) {
  SMOLVLM_REQUIRE_SHARED(kTiny512);
  const TextModel m = TextModel::open(testing::shared_path(kTiny512).string());
  const auto ids = prompt3("tiny512");
  kernels::ThreadPool pool(2);
  TextState s = m.new_state({.n_ctx = 64});
  std::vector<float> first(m.config().n_vocab), again(m.config().n_vocab);
  m.forward(TextInput::tokens(ids), s, LogitRows::kLast, first.data(), pool);
  EXPECT_EQ(s.n_past(), 60);
  s.clear();
  EXPECT_EQ(s.n_past(), 0);
  m.forward(TextInput::tokens(ids), s, LogitRows::kLast, again.data(), pool);
  EXPECT_EQ(first, again);
  // kNone fills the cache only
  s.clear();
  m.forward(TextInput::tokens({ids.data(), 59}), s, LogitRows::kNone, nullptr, pool);
  m.forward(TextInput::tokens({ids.data() + 59, 1}), s, LogitRows::kLast, again.data(), pool);
  // One token and a batch sum in different orders, as llama.cpp's do (vec_dot vs tinyBLAS); with
  // the default F16 cache the probabilities are then rounded to fp16, so a last-bit difference can
  // become a 2^-11 step of one probability (measured 1.2e-5).
  EXPECT_LE(rel_diff(again, first), 5e-5);
}

TEST(TextModel, GreedyProtocolFeedsEachTokenAtTheNextPosition) {
  SMOLVLM_REQUIRE_SHARED(kTiny512);
  const TextModel m = TextModel::open(testing::shared_path(kTiny512).string());
  const int64_t V = m.config().n_vocab;
  const auto ids = load_npy(golden("tiny512", "inputs/prompt_0.npy")).i32();
  const auto r = testing::text::run_golden_protocol(m, ids, 6, GgmlType::F32);
  ASSERT_EQ(r.greedy.size(), 6u);
  ASSERT_EQ(r.gen_logits.size(), size_t(6 * V));
  // recompute by hand: prompt + first s greedy tokens as one batch; its last row = gen row s - 1
  for (size_t s = 1; s < 6; ++s) {
    std::vector<int32_t> seq = ids;
    seq.insert(seq.end(), r.greedy.begin(), r.greedy.begin() + s);
    const auto last = run(m, seq, LogitRows::kLast);
    EXPECT_EQ(argmax(last.data(), V), r.greedy[s]);
    EXPECT_LE(rel_diff(last, {r.gen_logits.data() + (s - 1) * V, size_t(V)}), 2e-6);
  }
}

TEST(TextModel, ArgmaxLowestIndexWinsTies) {
  const float x[] = {1.0f, 3.0f, -2.0f, 3.0f, 0.5f};
  EXPECT_EQ(argmax(x, 5), 1);
  EXPECT_EQ(argmax(x, 1), 0);
}

}  // namespace
}  // namespace smolvlm
