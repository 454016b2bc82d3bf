// Parity with Hugging Face transformers itself: tests/data/hf was written by scripts/hf_reference.py
// (transformers 5.17.0, torch 2.11 on CPU, float32, eager attention, the slow Pillow image processor
// SmolVLMImageProcessorPil) from the golden tiny checkpoints (../shared/golden/<model>/hf). The
// float64 reference in ../shared/golden/<model>/ref re-implements transformers' semantics; these
// files are transformers' own numbers, so they also check that re-implementation's premises.
//
//  * preprocessing: every golden image under both processor configs, split and not: our uint8 tiles
//    are bit-identical (sha256) to the processor's (its float pixel values map back to uint8 exactly:
//    meta.json float_vs_u8_max_abs ~6e-8);
//  * prompts: our token ids equal the processor's for one image, two images interleaved with text,
//    and no splitting (chat template + image expansion + tokenizer);
//  * vision: our F32 encoder's post-LN output and connector output for the first and the global tile
//    within 2e-5 x max|x| (the issue asks 1e-4 of the float64 reference; measured <= 1.2e-6), and
//    per-tile sums for all 13 tiles (tile order);
//  * decoder: the logits after the whole image prompt and after each of 24 greedy steps within 2e-5 x
//    max|logit| (F32 weights, F32 KV cache; measured <= 1.9e-6), the same 24 greedy tokens; the
//    golden text prompts too.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/file_util.h"
#include "media/image_processor.h"
#include "model/text/text_generate.h"
#include "runtime/media_encoder.h"
#include "support/testing.h"
#include "test_preprocess_util.h"
#include "test_text_model_util.h"
#include "tokenizer/chat_template.h"

namespace smolvlm {
namespace {

using nlohmann::json;
using testing::load_npy;
using testing::shared_path;
using testing::test_data;
using testing::text::rel_diff;

constexpr double kTol = 2e-5;  // measured: at most 1.9e-6 (vision 1.2e-6, logits 1.9e-6)

bool have_hf_data() { return std::filesystem::exists(test_data("hf/preprocess.json")); }
#define REQUIRE_HF_DATA() \
  if (!have_hf_data()) GTEST_SKIP() << "tests/data/hf is absent (scripts/hf_reference.py writes it)"

json read_json(const std::filesystem::path& p) { return json::parse(smolvlm::read_file(p.string())); }

struct Model {
  const char* name;
  int longest_edge, tile, seq;
};
const Model kModels[] = {{"tiny512", 2048, 512, 64}, {"tiny384", 1536, 384, 81}};

std::string hf(const Model& m, const std::string& file) { return test_data(std::string("hf/") + m.name + "/" + file).string(); }
std::string golden(const Model& m, const std::string& rel) {
  return shared_path(std::string("golden/") + m.name + "/" + rel).string();
}

TEST(HfParity, PreprocessedTilesAreTheProcessorsBitForBit) {
  REQUIRE_HF_DATA();
  SMOLVLM_REQUIRE_SHARED("golden/preprocess/images/synth_300x200.png");
  const json configs = read_json(test_data("hf/preprocess.json"))["configs"];
  ASSERT_EQ(configs.size(), 4u);
  int checked = 0;
  for (const Model& m : kModels) {
    for (const bool split : {true, false}) {
      const json& images = configs.at(std::string(m.name) + (split ? "_split" : "_nosplit"));
      ASSERT_GE(images.size(), 20u);
      ImageProcessorConfig cfg;
      cfg.longest_edge = m.longest_edge;
      cfg.tile = m.tile;
      cfg.split = split;
      for (const auto& [name, want] : images.items()) {
        SCOPED_TRACE(std::string(m.name) + (split ? " split " : " nosplit ") + name);
        ASSERT_FALSE(want.contains("error")) << want.dump();
        const ProcessedImage got = preprocess_image(testing::load_golden_image("images/" + name), cfg, 2);
        ASSERT_EQ(static_cast<int>(got.frames.size()), want["tiles"].get<int>());
        ASSERT_EQ(got.frames.size(), want["sha256"].size());
        EXPECT_EQ(got.tile, want["size"].get<int>());
        for (size_t f = 0; f < got.frames.size(); ++f) {
          EXPECT_EQ(testing::sha256_of(got.frames[f]), want["sha256"][f].get<std::string>()) << "tile " << f;
        }
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 80);
}

class HfModel : public ::testing::TestWithParam<Model> {
 protected:
  void SetUp() override {
    REQUIRE_HF_DATA();
    SMOLVLM_REQUIRE_SHARED(std::string("golden/") + GetParam().name + "/gguf/mmproj-F32.gguf");
    model_ = LoadedModel::load(golden(GetParam(), "gguf/text-F32.gguf"), golden(GetParam(), "gguf/mmproj-F32.gguf"));
    meta_ = read_json(hf(GetParam(), "meta.json"));
  }
  std::string image() const { return golden(GetParam(), "inputs/image.png"); }
  std::vector<int32_t> ids_of(const std::string& text, const std::vector<std::shared_ptr<const EncodedMedia>>& items) {
    return build_prompt(model_->tokenizer(), text, items).ids;
  }

  kernels::ThreadPool pool_{2};
  std::shared_ptr<const LoadedModel> model_;
  json meta_;
};

const std::vector<ChatMessage> kDescribe = {{"user", {ChatItem::image(), ChatItem::make_text("Describe this image.")}}};

TEST_P(HfModel, PromptIdsAreTheProcessors) {
  MediaEncoder media(model_);
  const auto img = media.file(image(), {}, pool_);
  const std::string text = render_chat(kDescribe);
  EXPECT_EQ(text, meta_["prompt"].get<std::string>());
  EXPECT_EQ(ids_of(text, {img}), load_npy(hf(GetParam(), "input_ids.npy")).i32());

  // Two images interleaved with text in one turn.
  const std::vector<ChatMessage> two = {
      {"user",
       {ChatItem::make_text("Compare"), ChatItem::image(), ChatItem::make_text("with"), ChatItem::image(),
        ChatItem::make_text("please.")}}};
  const std::string text2 = render_chat(two);
  EXPECT_EQ(text2, meta_["multi_prompt"].get<std::string>());
  const auto second = media.file(shared_path("golden/preprocess/images/" + meta_["multi_second_image"].get<std::string>()).string(), {}, pool_);
  EXPECT_EQ(ids_of(text2, {img, second}), load_npy(hf(GetParam(), "multi_input_ids.npy")).i32());

  // No splitting: one global frame.
  MediaOptions whole;
  whole.split = false;
  EXPECT_EQ(ids_of(text, {media.file(image(), whole, pool_)}), load_npy(hf(GetParam(), "nosplit_input_ids.npy")).i32());
}

TEST_P(HfModel, VisionTowerAndConnectorMatchTransformers) {
  const VisionModel& vision = *model_->vision();
  ImageProcessorConfig cfg;
  cfg.longest_edge = GetParam().longest_edge;
  cfg.tile = GetParam().tile;
  const ProcessedImage pre = preprocess_image(load_image(image()), cfg, 2);
  const int64_t F = static_cast<int64_t>(pre.frames.size());
  ASSERT_EQ(F, meta_["tiles"]["count"].get<int64_t>());
  const std::vector<float> tiles = pre.pixel_values(2);

  const int64_t P = vision.config().n_patches(), C = vision.config().n_embd;
  const int64_t T = vision.config().tokens_per_tile(), E = model_->text().config().n_embd;
  std::vector<float> post_ln(static_cast<size_t>(F * P * C)), emb(static_cast<size_t>(F * T * E));
  VisionEncodeOptions o;
  o.post_ln = post_ln.data();
  vision.encode(tiles.data(), F, emb.data(), pool_, o);

  auto tile = [](const std::vector<float>& v, int64_t per, int64_t t) {
    return std::span<const float>(v.data() + t * per, static_cast<size_t>(per));
  };
  const std::vector<float> ref_ln = load_npy(hf(GetParam(), "post_ln.npy")).f32();
  const std::vector<float> ref_emb = load_npy(hf(GetParam(), "image_embeds.npy")).f32();
  const int64_t first_last[2] = {0, F - 1};
  for (int k = 0; k < 2; ++k) {
    SCOPED_TRACE("tile " + std::to_string(first_last[k]));
    EXPECT_LE(rel_diff(tile(post_ln, P * C, first_last[k]), tile(ref_ln, P * C, k)), kTol);
    EXPECT_LE(rel_diff(tile(emb, T * E, first_last[k]), tile(ref_emb, T * E, k)), kTol);
  }
  // Every tile, in order: sum and sum of |x| within 1e-4 relative of sum |x|.
  for (const auto& [name, ours, per] : {std::tuple{"post_ln_stats", &post_ln, P * C}, {"image_embeds_stats", &emb, T * E}}) {
    const json& stats = meta_[name];
    ASSERT_EQ(static_cast<int64_t>(stats.size()), F);
    for (int64_t t = 0; t < F; ++t) {
      double sum = 0, abs_sum = 0;
      for (float x : tile(*ours, per, t)) sum += x, abs_sum += std::abs(x);
      const double ref_abs = stats[t][1];
      EXPECT_NEAR(sum, stats[t][0].get<double>(), kTol * ref_abs) << name << " tile " << t;
      EXPECT_NEAR(abs_sum, ref_abs, kTol * ref_abs) << name << " tile " << t;
    }
  }
}

TEST_P(HfModel, ImagePromptLogitsAndGreedyStepsMatchTransformers) {
  MediaEncoder media(model_);
  const auto img = media.file(image(), {}, pool_);
  const std::vector<std::shared_ptr<const EncodedMedia>> items = {img};
  const Prompt prompt = build_prompt(model_->tokenizer(), render_chat(kDescribe), items);
  std::vector<EmbeddingSpan> spans;
  for (const PromptMedia& m : prompt.media) spans.push_back({m.first, m.n, m.rows});

  const TextModel& text = model_->text();
  const auto ref_greedy = load_npy(hf(GetParam(), "greedy.npy")).i32();
  const auto ref_gen = load_npy(hf(GetParam(), "gen_logits.npy")).f32();
  const int64_t V = text.config().n_vocab, G = static_cast<int64_t>(ref_greedy.size());
  TextStateOptions o;
  o.kv_type = GgmlType::F32;
  o.n_ctx = static_cast<int64_t>(prompt.ids.size()) + G;
  TextState state = text.new_state(o);
  std::vector<float> last(static_cast<size_t>(V));
  text.forward(TextInput::tokens(prompt.ids, spans), state, LogitRows::kLast, last.data(), pool_);
  EXPECT_LE(rel_diff(last, load_npy(hf(GetParam(), "logits_last.npy")).f32()), kTol);

  std::vector<float> gen;
  EXPECT_EQ(greedy_continuation(text, state, last, G, pool_, &gen), ref_greedy);
  // transformers' row s: the logits greedy step s chose from = ours after feeding token s - 1.
  for (int64_t s = 1; s < G; ++s) {
    EXPECT_LE(rel_diff({gen.data() + (s - 1) * V, static_cast<size_t>(V)},
                       {ref_gen.data() + s * V, static_cast<size_t>(V)}),
              kTol)
        << "step " << s;
  }
}

TEST_P(HfModel, TextPromptLogitsAndGreedyMatchTransformers) {
  for (int k = 0; k < 4; ++k) {
    SCOPED_TRACE("prompt " + std::to_string(k));
    const auto ids = load_npy(golden(GetParam(), "inputs/prompt_" + std::to_string(k) + ".npy")).i32();
    const auto want = load_npy(hf(GetParam(), "text_" + std::to_string(k) + "_greedy.npy")).i32();
    const auto r = testing::text::run_golden_protocol(model_->text(), ids, static_cast<int64_t>(want.size()),
                                                      GgmlType::F32);
    const int64_t V = model_->text().config().n_vocab;
    EXPECT_LE(rel_diff({r.logits.data() + (ids.size() - 1) * V, static_cast<size_t>(V)},
                       load_npy(hf(GetParam(), "text_" + std::to_string(k) + "_logits.npy")).f32()),
              kTol);
    EXPECT_EQ(r.greedy, want);
  }
}

// The same comparison at the real SmolVLM2-256M shapes, opt-in (the checkpoint is 513 MB):
// SMOLVLM_HF_REAL=DIR holding text.gguf + mmproj.gguf (`smolvlm convert --outtype f32` of
// `golden/tools/make_tiny_model.py real256m 1 …`) and hf/ (`scripts/hf_reference.py --checkpoint … --image
// golden/preprocess/images/synth_300x200.png --name hf` on that checkpoint; real2b works the same way).
// Measured 2026-11-26 against transformers 5.17 in float32: real256m (CPU reference) connector 5.6e-6,
// logits 2.6e-5 over 24 steps; real2b (GPU reference without TF32) connector 4.6e-5, logits 3.3e-4 after the
// prompt and 4.7e-4 at most over 24 steps, the same tokens. At ~1100 positions both sides compute RoPE angles
// pos x inv_freq in float32 (~1e-4 rad of rounding each, differently), and 2.2B has 32 query heads over 24
// wide layers, hence the looser logit bound.
TEST(HfParityRealShapes, ImagePromptMatchesTransformers) {
  const char* dir_env = std::getenv("SMOLVLM_HF_REAL");
  if (dir_env == nullptr || *dir_env == '\0') GTEST_SKIP() << "SMOLVLM_HF_REAL is not set";
  SMOLVLM_REQUIRE_SHARED("golden/preprocess/images/synth_300x200.png");
  const std::filesystem::path dir(dir_env);
  const auto model = LoadedModel::load((dir / "text.gguf").string(), (dir / "mmproj.gguf").string());
  kernels::ThreadPool pool(2);
  MediaEncoder media(model);
  const auto img = media.file(shared_path("golden/preprocess/images/synth_300x200.png").string(), {}, pool);
  const std::vector<std::shared_ptr<const EncodedMedia>> items = {img};
  const Prompt prompt = build_prompt(model->tokenizer(), render_chat(kDescribe), items);
  EXPECT_EQ(prompt.ids, load_npy(dir / "hf/input_ids.npy").i32());

  // Connector output of the first and the global tile.
  const auto ref_emb = load_npy(dir / "hf/image_embeds.npy").f32();
  const int64_t per = img->tokens_per_frame * img->n_embd;
  for (int k = 0; k < 2; ++k) {
    const int64_t t = k == 0 ? 0 : img->n_frames - 1;
    const double d = rel_diff({img->embeddings.data() + t * per, static_cast<size_t>(per)},
                              {ref_emb.data() + k * per, static_cast<size_t>(per)});
    std::printf("  tile %lld: connector output vs transformers %.2e\n", static_cast<long long>(t), d);
    EXPECT_LE(d, 1e-4);
  }
  std::vector<EmbeddingSpan> spans;
  for (const PromptMedia& m : prompt.media) spans.push_back({m.first, m.n, m.rows});
  const TextModel& text = model->text();
  const auto ref_greedy = load_npy(dir / "hf/greedy.npy").i32();
  const auto ref_gen = load_npy(dir / "hf/gen_logits.npy").f32();
  const int64_t V = text.config().n_vocab, G = static_cast<int64_t>(ref_greedy.size());
  TextStateOptions o;
  o.kv_type = GgmlType::F32;
  o.n_ctx = static_cast<int64_t>(prompt.ids.size()) + G;
  TextState state = text.new_state(o);
  std::vector<float> last(static_cast<size_t>(V));
  text.forward(TextInput::tokens(prompt.ids, spans), state, LogitRows::kLast, last.data(), pool);
  const double d_last = rel_diff(last, load_npy(dir / "hf/logits_last.npy").f32());
  std::vector<float> gen;
  const std::vector<int32_t> ours = greedy_continuation(text, state, last, G, pool, &gen);
  double worst = d_last;
  for (int64_t s = 1; s < G && ours[static_cast<size_t>(s - 1)] == ref_greedy[static_cast<size_t>(s - 1)]; ++s)
    worst = std::max(worst, rel_diff({gen.data() + (s - 1) * V, static_cast<size_t>(V)},
                                     {ref_gen.data() + s * V, static_cast<size_t>(V)}));
  std::printf("  logits after the prompt %.2e, worst over the greedy steps %.2e\n", d_last, worst);
  EXPECT_LE(worst, 1e-3);
  EXPECT_EQ(ours, ref_greedy);
}

INSTANTIATE_TEST_SUITE_P(Golden, HfModel, ::testing::ValuesIn(kModels),
                         [](const ::testing::TestParamInfo<Model>& i) { return std::string(i.param.name); });

}  // namespace
}  // namespace smolvlm
