// The whole image path on the golden tiny models: decode -> transformers-exact preprocessing ->
// vision tower -> prompt expansion -> decoder. Checks the prompt layout against llama.cpp's (same
// 3 x 4 + global grid for the 300 x 200 golden image), the embedding cache, and that the decoder fed
// our encoder's embeddings of a golden tile continues exactly as when fed the float64 reference
// embeddings of that tile (spec item "same tiles": both greedy runs must agree).
#include <gtest/gtest.h>

#include "base/error.h"
#include "media/image_prompt.h"
#include "runtime/media_encoder.h"
#include "support/testing.h"
#include "unit/video_fixture.h"
#include "tokenizer/chat_template.h"

namespace smolvlm {
namespace {

using testing::shared_path;

struct Golden {
  const char* name;
  int seq;
};
const Golden kModels[] = {{"tiny512", 64}, {"tiny384", 81}};

std::string gpath(const Golden& g, const std::string& rel) {
  return shared_path(std::string("golden/") + g.name + "/" + rel).string();
}

std::shared_ptr<const LoadedModel> load(const Golden& g) {
  return LoadedModel::load(gpath(g, "gguf/text-F32.gguf"), gpath(g, "gguf/mmproj-F32.gguf"));
}

std::vector<ChatMessage> describe(const std::string& text) { return {{"user", {ChatItem::image(), ChatItem::make_text(text)}}}; }

class MediaPipeline : public ::testing::TestWithParam<Golden> {
 protected:
  void SetUp() override { SMOLVLM_REQUIRE_SHARED(std::string("golden/") + GetParam().name + "/gguf/mmproj-F32.gguf"); }
  kernels::ThreadPool pool{2};
};

TEST_P(MediaPipeline, PromptLayoutMatchesLlamaCppAndTheCacheServesRepeats) {
  const Golden g = GetParam();
  const auto model = load(g);
  MediaEncoder media(model);
  const std::string image = gpath(g, "inputs/image.png");
  const auto img = media.file(image, {}, pool);
  EXPECT_EQ(img->rows, 3);
  EXPECT_EQ(img->cols, 4);
  EXPECT_EQ(img->n_frames, 13);
  EXPECT_EQ(img->tokens_per_frame, g.seq);
  EXPECT_EQ(media.file(image, {}, pool), img);  // same content: the cached encoding
  EXPECT_EQ(media.cache_hits(), 1u);

  const std::vector<std::shared_ptr<const EncodedMedia>> items = {img};
  const Prompt p = build_prompt(model->tokenizer(), render_chat(describe("Describe this image.")), items);
  // llama.cpp's sequence: the token ids, -1 where an image embedding goes.
  const std::vector<int32_t> want =
      testing::load_npy(gpath(g, "llamacpp/mtmd/text-F32+mmproj-F32/sequence.npy")).i32();
  std::vector<int32_t> got = p.ids;
  const int32_t image_id = *model->tokenizer().find_token("<image>");
  for (int32_t& id : got) id = id == image_id ? -1 : id;
  EXPECT_EQ(got, want);
  ASSERT_EQ(p.media.size(), 13u);

  // A smaller resolution on request: fewer tiles, a different cache entry.
  MediaOptions small;
  small.max_tiles = 4;
  const auto low = media.file(image, small, pool);
  EXPECT_LE(low->rows * low->cols, 4);
  EXPECT_NE(low, img);
}

TEST_P(MediaPipeline, DecoderFedOurTileEmbeddingsContinuesLikeWithTheReference) {
  const Golden g = GetParam();
  SMOLVLM_REQUIRE_SHARED(std::string("golden/") + g.name + "/ref/vision_tile1_emb.npy");
  const auto model = load(g);
  // Golden tile 1 as the encoder input: ((float)u8 / 255 - 0.5) / 0.5, channels first.
  const testing::Npy u8 = testing::load_npy(gpath(g, "inputs/tile_1_u8.npy"));
  std::vector<float> tile(u8.data.size());
  for (size_t i = 0; i < tile.size(); ++i) tile[i] = (static_cast<float>(u8.data[i]) / 255.0f - 0.5f) / 0.5f;
  const std::vector<float> ours = model->vision()->encode(tile, 1, pool);
  const std::vector<float> ref = testing::load_npy(gpath(g, "ref/vision_tile1_emb.npy")).f32();
  ASSERT_EQ(ours.size(), ref.size());

  auto item = [&](const std::vector<float>& emb, uint64_t key) {
    auto m = std::make_shared<EncodedMedia>();
    m->n_frames = 1;
    m->tokens_per_frame = g.seq;
    m->n_embd = model->text().config().n_embd;
    m->embeddings = emb;
    m->key = key;
    m->prompt_text = single_image_prompt_text(g.seq);
    return std::shared_ptr<const EncodedMedia>(m);
  };
  GenerateOptions greedy;
  greedy.sampling.temperature = 0;
  greedy.num_predict = 24;
  const std::string text = render_chat(describe("Describe the picture in 12 words."));
  std::vector<std::vector<int32_t>> replies;
  for (const auto& emb : {ours, ref}) {
    const std::vector<std::shared_ptr<const EncodedMedia>> items = {item(emb, replies.size())};
    Session s(model, {}, pool);
    replies.push_back(
        s.generate(build_prompt(model->tokenizer(), text, items), greedy, [](std::string_view) { return true; }).tokens);
  }
  EXPECT_FALSE(replies[0].empty());
  EXPECT_EQ(replies[0], replies[1]);
}

TEST_P(MediaPipeline, VideoFramesAreSampledEncodedAndSpliced) {
  SMOLVLM_REQUIRE_VIDEO();
  const Golden g = GetParam();
  const auto model = load(g);
  MediaEncoder media(model);
  testing::TempDir dir;
  const std::string clip = (dir / "clip.mp4").string();
  testing::TestVideoSpec spec;
  spec.frames = 30;  // 3 s at 10 fps: sampled at 1 fps -> 3 frames (indices 0, 14, 29)
  testing::write_test_video(clip, spec);
  const auto video = media.file(clip, {}, pool);
  EXPECT_EQ(video->kind, EncodedMedia::Kind::kVideo);
  EXPECT_EQ(video->n_frames, 3);
  EXPECT_NE(video->prompt_text.find("series of three frames from a 0:00:03"), std::string::npos) << video->prompt_text;
  EXPECT_NE(video->prompt_text.find("Frame from 00:02:"), std::string::npos);
  const std::vector<std::shared_ptr<const EncodedMedia>> items = {video};
  const std::string text = render_chat({{"user", {ChatItem::video(), ChatItem::make_text("What happens?")}}});
  const Prompt p = build_prompt(model->tokenizer(), text, items);
  ASSERT_EQ(p.media.size(), 3u);
  GenerateOptions greedy;
  greedy.sampling.temperature = 0;
  greedy.num_predict = 4;
  Session s(model, {}, pool);
  EXPECT_EQ(s.generate(p, greedy, [](std::string_view) { return true; }).prompt_tokens,
            static_cast<int64_t>(p.ids.size()));
  // Fewer frames on request.
  MediaOptions two;
  two.video_max_frames = 2;
  EXPECT_EQ(media.file(clip, two, pool)->n_frames, 2);
}

TEST_P(MediaPipeline, BadMediaAreClearErrors) {
  const Golden g = GetParam();
  const auto model = load(g);
  MediaEncoder media(model);
  testing::TempDir dir;
  const std::string junk = (dir / "junk.png").string();
  testing::write_file(junk, "\x89PNG\r\n\x1a\nnot really", 18);
  try {
    media.file(junk, {}, pool);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("junk.png"), std::string::npos) << e.what();
  }
  const auto text_only = LoadedModel::load(gpath(g, "gguf/text-F32.gguf"));
  try {
    MediaEncoder no_vision(text_only);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("vision projector"), std::string::npos) << e.what();
  }
  // A text GGUF given as the projector.
  EXPECT_THROW(LoadedModel::load(gpath(g, "gguf/text-F32.gguf"), gpath(g, "gguf/text-F32.gguf")), Error);
}

INSTANTIATE_TEST_SUITE_P(Golden, MediaPipeline, ::testing::ValuesIn(kModels),
                         [](const ::testing::TestParamInfo<Golden>& i) { return std::string(i.param.name); });

}  // namespace
}  // namespace smolvlm
