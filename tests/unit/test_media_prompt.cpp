// build_prompt: chat template + image / video expansion + tokenization + where each frame's
// embeddings go. The golden chat prompts of ../shared/golden/tokenizer (built there from the
// template and the processor's expansion) must come out id for id with the real tokenizer.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "media/image_prompt.h"
#include "media/video_sampling.h"
#include "runtime/media_encoder.h"
#include "support/testing.h"
#include "unit/test_tokenizer_util.h"
#include "tokenizer/chat_template.h"

namespace smolvlm {
namespace {

const std::string kTok = testing::kRealTokenizerDir;
constexpr int64_t kE = 3;  // embedding width of the fake media (only positions matter here)

std::vector<int32_t> golden_ids(const std::string& id) {
  std::ifstream f(testing::shared_path("golden/tokenizer/llamacpp_cases.json"));
  const nlohmann::json j = nlohmann::json::parse(f);
  for (const auto& c : j.is_array() ? j : j["cases"]) {
    if (c["id"] == id) return c["ids"].get<std::vector<int32_t>>();
  }
  ADD_FAILURE() << "no case " << id;
  return {};
}

// An encoded image or video whose embeddings row r of frame f hold f * 1000 + r.
std::shared_ptr<const EncodedMedia> fake(EncodedMedia::Kind kind, int64_t frames, int64_t seq, std::string text) {
  auto m = std::make_shared<EncodedMedia>();
  m->kind = kind;
  m->n_frames = frames;
  m->tokens_per_frame = seq;
  m->n_embd = kE;
  m->key = 42;
  m->prompt_text = std::move(text);
  for (int64_t f = 0; f < frames; ++f)
    for (int64_t r = 0; r < seq; ++r) m->embeddings.insert(m->embeddings.end(), kE, float(f * 1000 + r));
  return m;
}

std::shared_ptr<const EncodedMedia> fake_image(int rows, int cols, int seq) {
  return fake(EncodedMedia::Kind::kImage, rows * cols + 1, seq,
              image_prompt_text(rows, cols, seq));
}

// Every frame's span covers a run of exactly seq <image> ids and points at that frame's rows.
void check_spans(const Prompt& p, const std::vector<std::shared_ptr<const EncodedMedia>>& media) {
  size_t k = 0;
  for (const auto& m : media) {
    for (int64_t f = 0; f < m->n_frames; ++f, ++k) {
      ASSERT_LT(k, p.media.size());
      const PromptMedia& s = p.media[k];
      EXPECT_EQ(s.n, m->tokens_per_frame);
      for (int64_t i = 0; i < s.n; ++i) EXPECT_EQ(p.ids[static_cast<size_t>(s.first + i)], 49190);
      EXPECT_EQ(s.rows, m->embeddings.data() + f * m->tokens_per_frame * kE);
      EXPECT_EQ(s.rows[0], float(f * 1000));
    }
  }
  EXPECT_EQ(k, p.media.size());
}

class MediaPrompt : public ::testing::Test {
 protected:
  void SetUp() override {
    SMOLVLM_REQUIRE_SHARED(kTok + "/tokenizer.json");
    SMOLVLM_REQUIRE_SHARED("golden/tokenizer/llamacpp_cases.json");
  }
  void expect_case(const std::string& id, const std::vector<ChatMessage>& chat, bool generation_prompt,
                   const std::vector<std::shared_ptr<const EncodedMedia>>& media) {
    const Tokenizer& tok = testing::real_tokenizer();
    const Prompt p = build_prompt(tok, render_chat(chat, generation_prompt), media);
    EXPECT_EQ(p.ids, golden_ids(id)) << id;
    check_spans(p, media);
  }
};

TEST_F(MediaPrompt, UnsplitImage) {
  expect_case("pub_151_chat", {{"user", {ChatItem::image(), ChatItem::make_text("Can you describe this image?")}}},
              true, {fake_image(0, 0, 64)});
}

TEST_F(MediaPrompt, SplitImage3x4And4x4) {
  expect_case("pub_152_chat", {{"user", {ChatItem::image(), ChatItem::make_text("Can you describe this image?")}}},
              true, {fake_image(3, 4, 64)});
  expect_case("pub_153_chat", {{"user", {ChatItem::image(), ChatItem::make_text("What is written on the sign?")}}},
              true, {fake_image(4, 4, 81)});
}

TEST_F(MediaPrompt, TwoImagesMultiTurn) {
  const std::vector<ChatMessage> chat = {
      {"user", {ChatItem::make_text("What do these images show?"), ChatItem::image(), ChatItem::image()}},
      ChatMessage::text("assistant",
                        "The first image shows the statue of Liberty in New York. The second image shows a big "
                        "city, which looks like Chicago."),
      ChatMessage::text("user", "And who is that?")};
  expect_case("pub_154_chat", chat, true, {fake_image(1, 4, 64), fake_image(0, 0, 64)});
}

TEST_F(MediaPrompt, VideoOfTheTransformersTest) {
  std::ifstream f(testing::shared_path("golden/preprocess/video.json"));
  const nlohmann::json v = nlohmann::json::parse(f)["sampling"][0];
  const auto stamps = v["timestamps"].get<std::vector<double>>();
  const std::string text = video_prompt_text(stamps, v["duration_used"].get<double>(), 9, 64);
  expect_case("pub_156_chat", {{"user", {ChatItem::video(), ChatItem::make_text("Describe this video in detail")}}},
              true, {fake(EncodedMedia::Kind::kVideo, 9, 64, text)});
}

TEST_F(MediaPrompt, MismatchesAreClearErrors) {
  const Tokenizer& tok = testing::real_tokenizer();
  const auto img = fake_image(0, 0, 64);
  const std::vector<std::shared_ptr<const EncodedMedia>> one = {img};
  // More items than placeholders, and the other way round.
  EXPECT_THROW(build_prompt(tok, render_chat({ChatMessage::text("user", "Hi")}), one), Error);
  EXPECT_THROW(build_prompt(tok, render_chat({{"user", {ChatItem::image(), ChatItem::image()}}}), one), Error);
  // A video placeholder for an image.
  EXPECT_THROW(build_prompt(tok, render_chat({{"user", {ChatItem::video()}}}), one), Error);
  // The user typed "<image>" themselves: one placeholder too many.
  try {
    build_prompt(tok, render_chat({{"user", {ChatItem::image(), ChatItem::make_text("what is <image>?")}}}), one);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("more <image>/<video> placeholders than the 1 images"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace smolvlm
