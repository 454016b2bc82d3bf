// Bad input to the text decoder: files that are not llama text models, inconsistent vocabularies,
// unsupported tensor types, wrong shapes, missing keys; token ids out of range and context overflow
// (which must leave the state unchanged). Every error names what is wrong.
#include "kernels/matmul.h"
#include "support/testing.h"
#include "test_text_model_util.h"

namespace smolvlm {
namespace {

using testing::text::GgufEdit;
using testing::text::rewrite_gguf;

const char* kTiny512 = "golden/tiny512/gguf/text-F32.gguf";

// Loads the tiny512 F32 file rewritten by `e`.
void load_edited(const GgufEdit& e) {
  const GgufFile f = GgufFile::open(testing::shared_path(kTiny512).string());
  const auto bytes = rewrite_gguf(f, e);
  const TextModel m(GgufFile::parse(bytes, "edited.gguf"));
}

TEST(TextModelErrors, RejectsTheMmprojFile) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/mmproj-F32.gguf");
  TEXT_EXPECT_THROW_MSG(TextModel::open(testing::shared_path("golden/tiny512/gguf/mmproj-F32.gguf").string()),
                        "not a llama text model (general.architecture is 'clip')");
}

TEST(TextModelErrors, RejectsVocabularyAndEmbeddingMismatch) {
  SMOLVLM_REQUIRE_SHARED(kTiny512);
  TEXT_EXPECT_THROW_MSG(
      load_edited({.edit_kv = [](GgufWriter& w) { w.set("llama.vocab_size", GgufValue::u32(601)); }}),
      "llama.vocab_size is 601 but token_embd.weight has 600 rows");
  TEXT_EXPECT_THROW_MSG(load_edited({.edit_kv =
                                         [](GgufWriter& w) {
                                           auto tokens = w.find("tokenizer.ggml.tokens")->as_str_array();
                                           tokens.pop_back();
                                           w.set("tokenizer.ggml.tokens", GgufValue::str_array(tokens));
                                         }}),
                        "the tokenizer has 599 tokens but token_embd.weight has 600 rows");
}

TEST(TextModelErrors, RejectsUnsupportedTensorTypeByName) {
  SMOLVLM_REQUIRE_SHARED(kTiny512);
  // the first ggml type the matmul kernels do not support whose block fits a 256-wide row
  GgmlType bad = GgmlType::F32;
  for (uint32_t id = 0; id < 64 && bad == GgmlType::F32; ++id) {
    const GgmlTypeInfo* info = ggml_type_info(id);
    if (info != nullptr && !kernels::matmul_supports(info->type) && 256 % info->block_size == 0) bad = info->type;
  }
  ASSERT_NE(bad, GgmlType::F32);
  const std::string name = ggml_type_name(bad);
  TEXT_EXPECT_THROW_MSG(load_edited({.retype = [&](const GgufTensorInfo& t) {
                          return t.name == "blk.1.ffn_up.weight" ? bad : t.type;
                        }}),
                        "tensor 'blk.1.ffn_up.weight' has type " + name + ", which the matmul kernels do not support");
  // norms must be F32
  TEXT_EXPECT_THROW_MSG(load_edited({.retype = [](const GgufTensorInfo& t) {
                          return t.name == "blk.0.attn_norm.weight" ? GgmlType::F16 : t.type;
                        }}),
                        "tensor 'blk.0.attn_norm.weight' has type F16; norm weights must be F32");
}

TEST(TextModelErrors, RejectsMissingTensorsKeysAndWrongShapes) {
  SMOLVLM_REQUIRE_SHARED(kTiny512);
  TEXT_EXPECT_THROW_MSG(
      load_edited({.keep = [](const std::string& n) { return n != "blk.1.attn_k.weight"; }}),
      "missing tensor 'blk.1.attn_k.weight'");
  TEXT_EXPECT_THROW_MSG(
      load_edited({.edit_kv = [](GgufWriter& w) { w.remove("llama.attention.layer_norm_rms_epsilon"); }}),
      "missing key 'llama.attention.layer_norm_rms_epsilon'");
  TEXT_EXPECT_THROW_MSG(
      load_edited({.edit_kv = [](GgufWriter& w) { w.set("llama.feed_forward_length", GgufValue::u32(1024)); }}),
      "tensor 'blk.0.ffn_gate.weight' has shape [256, 512], expected [256, 1024]");
  TEXT_EXPECT_THROW_MSG(
      load_edited({.edit_kv = [](GgufWriter& w) { w.set("llama.attention.head_count_kv", GgufValue::u32(3)); }}),
      "4 attention heads cannot be grouped over 3 key/value heads");
  TEXT_EXPECT_THROW_MSG(
      load_edited({.edit_kv = [](GgufWriter& w) { w.set("llama.block_count", GgufValue::str("two")); }}),
      "key 'llama.block_count'");
}

class TextModelRuntimeErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(testing::shared_path(kTiny512))) GTEST_SKIP() << kTiny512 << " is not available";
    model_ = std::make_unique<TextModel>(TextModel::open(testing::shared_path(kTiny512).string()));
  }
  std::unique_ptr<TextModel> model_;
  kernels::ThreadPool pool_{2};
};

TEST_F(TextModelRuntimeErrors, TokenIdOutOfRangeLeavesTheStateUnchanged) {
  TextState s = model_->new_state({.n_ctx = 16});
  std::vector<float> logits(600);
  const std::vector<int32_t> ids = {1, 2, 600};
  TEXT_EXPECT_THROW_MSG(model_->forward(TextInput::tokens(ids), s, LogitRows::kLast, logits.data(), pool_),
                        "token id 600 (input position 2) is out of range: the vocabulary has 600 tokens");
  EXPECT_EQ(s.n_past(), 0);
  const std::vector<int32_t> negative = {-1};
  TEXT_EXPECT_THROW_MSG(model_->forward(TextInput::tokens(negative), s, LogitRows::kLast, logits.data(), pool_),
                        "token id -1");
  EXPECT_EQ(s.n_past(), 0);
}

TEST_F(TextModelRuntimeErrors, ContextOverflowLeavesTheStateUnchanged) {
  TextState s = model_->new_state({.n_ctx = 4});
  std::vector<float> logits(600);
  const std::vector<int32_t> five = {1, 2, 3, 4, 5};
  TEXT_EXPECT_THROW_MSG(model_->forward(TextInput::tokens(five), s, LogitRows::kLast, logits.data(), pool_),
                        "context overflow: 5 more positions after 0 exceed the context size of 4 positions");
  EXPECT_EQ(s.n_past(), 0);
  model_->forward(TextInput::tokens({five.data(), 4}), s, LogitRows::kLast, logits.data(), pool_);
  EXPECT_EQ(s.n_past(), 4);
  TEXT_EXPECT_THROW_MSG(model_->forward(TextInput::tokens({five.data(), 1}), s, LogitRows::kLast, logits.data(), pool_),
                        "context overflow: 1 more positions after 4");
  EXPECT_EQ(s.n_past(), 4);
}

TEST_F(TextModelRuntimeErrors, RejectsBadOptionsAndEmptyInput) {
  TEXT_EXPECT_THROW_MSG(model_->new_state({.kv_type = GgmlType::Q8_0}), "KV cache type Q8_0 is not supported");
  TEXT_EXPECT_THROW_MSG(model_->new_state({.n_batch = 0}), "batch size 0 must be positive");
  TEXT_EXPECT_THROW_MSG(model_->new_state({.n_ctx = -1}), "context size -1 must be positive");
  TextState s = model_->new_state({.n_ctx = 8});
  TEXT_EXPECT_THROW_MSG(model_->forward(TextInput{}, s, LogitRows::kLast, nullptr, pool_), "empty input");
}

}  // namespace
}  // namespace smolvlm
