// Tokenizer files -> GGUF tokenizer keys, and config.json reading (defaults, SmolVLM v1 configs).
#include <gtest/gtest.h>

#include "base/error.h"
#include "convert/hf_config.h"
#include "convert/hf_vocab.h"
#include "test_convert_util.h"

namespace smolvlm {
namespace {

using namespace smolvlm::testing;
using nlohmann::json;

constexpr int32_t kNormal = 1, kControl = 3, kUserDefined = 4, kUnused = 5;

uint32_t special(const HfVocab& v, const std::string& typ) {
  for (const auto& [t, id] : v.special_ids) {
    if (t == typ) return id;
  }
  ADD_FAILURE() << "no special id " << typ;
  return UINT32_MAX;
}

bool has_special(const HfVocab& v, const std::string& typ) {
  for (const auto& e : v.special_ids) {
    if (e.first == typ) return true;
  }
  return false;
}

// The real SmolVLM tokenizer (49,152 base tokens, 128 added, merges as [a, b] pairs).
TEST(ConvertVocab, RealSmolVlmTokenizer) {
  SMOLVLM_REQUIRE_SHARED("tokenizer/smolvlm-256m-instruct/tokenizer.json");
  const std::string dir = shared_path("tokenizer/smolvlm-256m-instruct").string();
  const HfModelConfig cfg = load_hf_config(dir);
  const HfVocab v = load_hf_vocab(dir, cfg.text.vocab_size, cfg.config_json);
  ASSERT_EQ(v.tokens.size(), 49280u);
  EXPECT_EQ(v.tokens[1], "<|im_start|>");
  EXPECT_EQ(v.tokens[49190], "<image>");
  EXPECT_EQ(v.tokens[49279], "<end_of_utterance>");
  EXPECT_EQ(v.token_types[49190], kControl);
  EXPECT_EQ(v.token_types[0], kControl);  // <|endoftext|> is in the base vocab and an added special token
  EXPECT_EQ(v.token_types[100], kNormal);
  size_t n_control = 0, n_other = 0;
  for (int32_t t : v.token_types) {
    n_control += t == kControl;
    n_other += t != kControl && t != kNormal;
  }
  EXPECT_EQ(n_control, 145u);
  EXPECT_EQ(n_other, 0u);
  EXPECT_EQ(special(v, "bos"), 1u);
  EXPECT_EQ(special(v, "eos"), 49279u);
  EXPECT_EQ(special(v, "unk"), 0u);
  EXPECT_EQ(special(v, "pad"), 2u);
  ASSERT_TRUE(v.add_space_prefix.has_value());
  EXPECT_FALSE(*v.add_space_prefix);
  EXPECT_TRUE(v.add_special.empty());
  ASSERT_TRUE(v.chat_template.has_value());
  EXPECT_EQ(v.chat_template->rfind("<|im_start|>{% for message in messages %}", 0), 0u);
  // The [a, b] merges equal merges.txt (the "a b" lines after "#version").
  std::ifstream txt(fs::path(dir) / "merges.txt");
  std::string line;
  std::getline(txt, line);
  ASSERT_EQ(line.rfind("#version", 0), 0u);
  size_t i = 0;
  while (std::getline(txt, line)) {
    if (line.empty()) continue;
    ASSERT_LT(i, v.merges.size());
    ASSERT_EQ(v.merges[i], line) << "merge " << i;
    ++i;
  }
  EXPECT_EQ(i, v.merges.size());
  EXPECT_EQ(v.merges.size(), 48900u);
  EXPECT_EQ(v.merges[0], "\xC4\xA0 t");  // "Ġ t"
}

// Synthetic tokenizer folder: checks fillers, token types, merge formats, special-id sources,
// add_* flags and the chat template fallbacks.
class ConvertVocabSynthetic : public ::testing::Test {
 protected:
  void SetUp() override {
    tj_ = {{"model",
            {{"type", "BPE"},
             {"vocab", {{"a", 0}, {"b", 1}, {"ab", 2}, {"a b", 3}, {"<s>", 4}}},
             {"merges", json::array({json::array({"a", "b"}), json::array({"a", " b"})})}}},
           {"added_tokens",
            json::array({{{"id", 4}, {"content", "<s>"}, {"special", true}},
                         {{"id", 5}, {"content", "</s>"}, {"special", true}},
                         {{"id", 6}, {"content", "\xE2\x96\x81hello"}, {"special", false}},
                         {{"id", 7}, {"content", "<|tool|>"}, {"special", false}}})}};
    tc_ = {{"bos_token", "<s>"}, {"eos_token", {{"content", "</s>"}}}};
  }
  HfVocab load(int64_t n_vocab = 10, const json& config = json::object()) {
    write_json(tmp_ / "tokenizer.json", tj_);
    if (!tc_.is_null()) write_json(tmp_ / "tokenizer_config.json", tc_);
    return load_hf_vocab(tmp_.path().string(), n_vocab, config);
  }
  TempDir tmp_;
  json tj_, tc_;
};

TEST_F(ConvertVocabSynthetic, TokensTypesAndFillers) {
  const HfVocab v = load();
  ASSERT_EQ(v.tokens.size(), 10u);
  EXPECT_EQ(v.tokens[3], "a b");
  EXPECT_EQ(v.token_types[3], kNormal);
  EXPECT_EQ(v.token_types[4], kControl);
  EXPECT_EQ(v.token_types[5], kControl);
  EXPECT_EQ(v.tokens[6], " hello");  // user-defined: U+2581 -> space
  EXPECT_EQ(v.token_types[6], kUserDefined);
  EXPECT_EQ(v.token_types[7], kControl);  // not special, but looks special (<|...|>)
  for (int i = 8; i < 10; ++i) {
    EXPECT_EQ(v.tokens[size_t(i)], "[PAD" + std::to_string(i) + "]");
    EXPECT_EQ(v.token_types[size_t(i)], kUnused);
  }
  EXPECT_EQ(v.merges, (std::vector<std::string>{"a b", "a \xC4\xA0" "b"}));
  EXPECT_EQ(special(v, "bos"), 4u);
  EXPECT_EQ(special(v, "eos"), 5u);
  EXPECT_FALSE(has_special(v, "pad"));
  EXPECT_FALSE(v.add_space_prefix.has_value());
  EXPECT_FALSE(v.chat_template.has_value());
}

TEST_F(ConvertVocabSynthetic, StringMergesAndMergesTxtFallback) {
  tj_["model"]["merges"] = json::array({"a b", "ab b"});
  EXPECT_EQ(load().merges, (std::vector<std::string>{"a b", "ab b"}));
  tj_["model"].erase("merges");
  write_text(tmp_ / "merges.txt", "#version: 0.2\na b\n\nab  b\nbroken\n");
  EXPECT_EQ(load().merges, (std::vector<std::string>{"a b", "ab b"}));
  tj_["model"]["merges"] = json::array({json::array({"a"})});
  EXPECT_THROW(load(), Error);
}

TEST_F(ConvertVocabSynthetic, SpecialIdsFallBackToConfigJson) {
  tc_ = json::object();
  const json cfg = {{"bos_token_id", 4}, {"pad_token_id", 99}, {"text_config", {{"eos_token_id", 5}, {"unk_token_id", 0}}}};
  const HfVocab v = load(10, cfg);
  EXPECT_EQ(special(v, "bos"), 4u);
  EXPECT_EQ(special(v, "eos"), 5u);
  EXPECT_EQ(special(v, "unk"), 0u);
  EXPECT_FALSE(has_special(v, "pad"));  // 99 is outside the vocabulary: skipped
  // tokenizer_config.json wins over config.json.
  tc_ = {{"bos_token", "</s>"}};
  EXPECT_EQ(special(load(10, cfg), "bos"), 5u);
}

TEST_F(ConvertVocabSynthetic, AddFlagsOnlyWhenPresent) {
  tc_["add_bos_token"] = true;
  tc_["add_eos_token"] = false;
  tc_["add_prefix_space"] = true;
  HfVocab v = load();
  EXPECT_EQ(v.add_special, (std::vector<std::pair<std::string, bool>>{{"bos", true}, {"eos", false}}));
  EXPECT_EQ(v.add_space_prefix, std::optional<bool>(true));
  // A TemplateProcessing post-processor "<s> $A </s>" adds both.
  tc_.erase("add_bos_token");
  tc_.erase("add_eos_token");
  tj_["post_processor"] = {{"type", "TemplateProcessing"},
                           {"single", json::array({{{"SpecialToken", {{"id", "<s>"}}}},
                                                   {{"Sequence", {{"id", "A"}}}},
                                                   {{"SpecialToken", {{"id", "</s>"}}}}})}};
  v = load();
  EXPECT_EQ(v.add_special, (std::vector<std::pair<std::string, bool>>{{"bos", true}, {"eos", true}}));
}

TEST_F(ConvertVocabSynthetic, ChatTemplateSources) {
  write_json(tmp_ / "chat_template.json", {{"chat_template", "from json"}});
  EXPECT_EQ(load().chat_template, std::optional<std::string>("from json"));
  write_text(tmp_ / "chat_template.jinja", "from jinja");
  EXPECT_EQ(load().chat_template, std::optional<std::string>("from jinja"));
  tc_["chat_template"] = "from tokenizer_config";
  EXPECT_EQ(load().chat_template, std::optional<std::string>("from tokenizer_config"));
}

TEST_F(ConvertVocabSynthetic, BadTokenizerFilesAreNamed) {
  tj_["model"]["vocab"]["zz"] = 12;
  try {
    load();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("token 'zz' has id 12, outside the model's vocabulary of 10"),
              std::string::npos)
        << e.what();
  }
  tj_["model"]["vocab"].erase("zz");
  tj_["model"]["byte_fallback"] = true;
  EXPECT_THROW(load(), Error);
  write_text(tmp_ / "tokenizer.json", "[1, 2");
  try {
    load_hf_vocab(tmp_.path().string(), 10, json::object());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.json: invalid JSON"), std::string::npos) << e.what();
  }
}

// config.json reading: SmolVLM v1 (idefics3) real config, defaults, model name.
TEST(ConvertConfig, RealIdefics3Config) {
  SMOLVLM_REQUIRE_SHARED("tokenizer/smolvlm-256m-instruct/config.json");
  const HfModelConfig c = load_hf_config(shared_path("tokenizer/smolvlm-256m-instruct").string());
  EXPECT_EQ(c.model_type, "idefics3");
  EXPECT_EQ(c.text.hidden_size, 576);
  EXPECT_EQ(c.text.intermediate_size, 1536);
  EXPECT_EQ(c.text.num_hidden_layers, 30);
  EXPECT_EQ(c.text.num_attention_heads, 9);
  EXPECT_EQ(c.text.num_key_value_heads, 3);
  EXPECT_EQ(c.text.head_dim, std::optional<int64_t>(64));
  EXPECT_EQ(c.text.vocab_size, 49280);
  EXPECT_EQ(c.text.max_position_embeddings, 8192);
  EXPECT_EQ(c.text.rope_theta, 100000.0);
  EXPECT_FALSE(c.text.tie_word_embeddings);
  EXPECT_EQ(c.vision.hidden_size, 768);
  EXPECT_EQ(c.vision.num_hidden_layers, 12);
  EXPECT_EQ(c.vision.num_attention_heads, 12);
  EXPECT_EQ(c.vision.intermediate_size, 3072);
  EXPECT_EQ(c.vision.image_size, 512);
  EXPECT_EQ(c.vision.patch_size, 16);
  EXPECT_EQ(c.vision.layer_norm_eps, 1e-6);
  EXPECT_EQ(c.scale_factor, 4);
  EXPECT_EQ(c.preprocessor.longest_edge, std::optional<int64_t>(2048));
}

TEST(ConvertConfig, DefaultsForMissingFields) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/hf");
  TempDir tmp;
  const fs::path hf = copy_golden_hf(tmp.path(), "tiny512");
  auto cfg = read_json(hf / "config.json");
  cfg["text_config"].erase("num_attention_heads");
  cfg["text_config"].erase("num_key_value_heads");
  cfg["text_config"].erase("head_dim");
  cfg["text_config"].erase("vocab_size");  // the root's vocab_size is used
  cfg["text_config"].erase("rope_theta");
  cfg.erase("scale_factor");
  for (const char* k : {"layer_norm_eps", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads"}) {
    cfg["vision_config"].erase(k);
  }
  write_json(hf / "config.json", cfg);
  fs::remove(hf / "preprocessor_config.json");
  const HfModelConfig c = load_hf_config(hf.string());
  EXPECT_EQ(c.name, "tiny512");
  EXPECT_EQ(c.text.num_attention_heads, 32);  // llama.cpp's SmolVLM default
  EXPECT_EQ(c.text.num_key_value_heads, 32);
  EXPECT_FALSE(c.text.head_dim.has_value());
  EXPECT_EQ(c.text.rope_dim(), 8);
  EXPECT_EQ(c.text.vocab_size, 600);
  EXPECT_EQ(c.text.rope_theta, 10000.0);
  EXPECT_EQ(c.scale_factor, 2);
  EXPECT_EQ(c.vision.layer_norm_eps, 1e-6);  // transformers' default, not llama.cpp's 1e-5
  EXPECT_EQ(c.vision.hidden_size, 1152);
  EXPECT_EQ(c.vision.intermediate_size, 3072);
  EXPECT_EQ(c.vision.num_hidden_layers, 12);
  EXPECT_EQ(c.vision.num_attention_heads, 16);
  EXPECT_FALSE(c.preprocessor.longest_edge.has_value());
  EXPECT_EQ(c.preprocessor.image_mean, (std::vector<float>{0.5f, 0.5f, 0.5f}));
}

TEST(ConvertConfig, ModelName) {
  EXPECT_EQ(hf_model_name("/x/tiny512/hf"), "tiny512");
  EXPECT_EQ(hf_model_name("/x/tiny512/hf/"), "tiny512");
  EXPECT_EQ(hf_model_name("/models/SmolVLM2-500M-Video-Instruct"), "SmolVLM2-500M-Video-Instruct");
  // a Hugging Face cache snapshot is named after its repository, not its commit
  EXPECT_EQ(hf_model_name("/h/hub/models--HuggingFaceTB--SmolVLM2-256M-Video-Instruct/snapshots/3f1a9e0c"),
            "SmolVLM2-256M-Video-Instruct");
  EXPECT_EQ(hf_model_name("/h/hub/models--HuggingFaceTB--SmolVLM2-256M-Video-Instruct/snapshots/3f1a9e0c/"),
            "SmolVLM2-256M-Video-Instruct");
}

}  // namespace
}  // namespace smolvlm
