// An image question and a video question with everything on the test GPU (lavapipe in CI): the
// projector, the decoder layers and the embedding lookup there, the image embeddings left on the
// device and spliced into the prefill there. Against the same questions on the CPU: the
// embeddings within 1e-4 (F32 files; ~1e-6 measured), the same greedy reply (F32 weights: the GPU
// is ~1e-6 from the CPU's logits, far from the near ties of these replies). The media cache serves
// a repeated image from the device, and a follow-up question neither encodes it again nor prefills
// it again. Fewer tiles than the golden image has (max_tiles 2, two video frames): lavapipe runs
// the encoder at ~1 s per tile.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>

#include "backend/vulkan/vulkan_backend.h"
#include "runtime/media_encoder.h"
#include "support/gpu.h"
#include "support/testing.h"
#include "test_text_model_util.h"
#include "tokenizer/chat_template.h"
#include "unit/video_fixture.h"

namespace smolvlm {
namespace {

using testing::text::rel_diff;

std::string gpath(const std::string& model, const std::string& rel) {
  return testing::shared_path("golden/" + model + "/" + rel).string();
}

GenerateOptions greedy(int64_t n) {
  GenerateOptions o;
  o.sampling.temperature = 0;
  o.num_predict = n;
  return o;
}

const auto kDiscard = [](std::string_view) { return true; };

// The embeddings of `m` as host floats (read back from the device when they stayed there).
std::vector<float> host_rows(const EncodedMedia& m, kernels::ThreadPool& pool) {
  if (!m.embeddings.empty()) return m.embeddings;
  std::vector<float> out(static_cast<size_t>(m.on_device.rows.rows * m.on_device.rows.cols));
  auto ops = m.on_device.device->begin(pool);
  ops->read(m.on_device.rows, out.data());
  ops->finish();
  return out;
}

class MediaGpu : public ::testing::TestWithParam<std::string> {};

TEST_P(MediaGpu, ImageAndVideoQuestionsRunOnTheDeviceLikeOnTheCpu) {
  const std::string g = GetParam();
  SMOLVLM_REQUIRE_SHARED("golden/" + g + "/gguf/mmproj-F32.gguf");
  SMOLVLM_REQUIRE_GPU(gpu);
  kernels::ThreadPool pool(2);
  LoadOptions on_gpu{.num_gpu = kNumGpuAll, .device = std::to_string(vk::context_of(*gpu)->info().index)};
  LoadOptions on_cpu;
  on_cpu.num_gpu = 0;
  const auto cpu = LoadedModel::load(gpath(g, "gguf/text-F32.gguf"), gpath(g, "gguf/mmproj-F32.gguf"), on_cpu);
  const auto dev = LoadedModel::load(gpath(g, "gguf/text-F32.gguf"), gpath(g, "gguf/mmproj-F32.gguf"), on_gpu);
  ASSERT_EQ(&dev->vision()->device(), gpu.get());
  EXPECT_TRUE(dev->offload().projector);
  EXPECT_EQ(dev->offload().gpu_bytes, dev->offload().total_bytes) << dev->offload().summary;
  EXPECT_NE(dev->offload().summary.find("projector"), std::string::npos) << dev->offload().summary;
  MediaEncoder cpu_media(cpu), dev_media(dev);

  // an image: 2 tiles + the global view
  MediaOptions o;
  o.max_tiles = 2;
  const std::string image = gpath(g, "inputs/image.png");
  const auto want = cpu_media.file(image, o, pool);
  const auto got = dev_media.file(image, o, pool);
  EXPECT_TRUE(got->embeddings.empty()) << "the embeddings should stay on the device";
  EXPECT_EQ(got->on_device.device, gpu.get());
  EXPECT_EQ(got->n_frames, want->n_frames);
  EXPECT_LE(rel_diff(host_rows(*got, pool), want->embeddings), 1e-4);
  const std::string text = render_chat({{"user", {ChatItem::image(), ChatItem::make_text("Describe this image.")}}});
  const Prompt pc = build_prompt(cpu->tokenizer(), text, std::vector{want});
  const Prompt pg = build_prompt(dev->tokenizer(), text, std::vector{got});
  Session sc(cpu, {}, pool), sg(dev, {}, pool);
  const GenerateResult rc = sc.generate(pc, greedy(12), kDiscard), rg = sg.generate(pg, greedy(12), kDiscard);
  EXPECT_EQ(rg.tokens, rc.tokens) << g << " image";

  // the cache: the same image again is the same encoding; a follow-up reuses the whole prefix
  EXPECT_EQ(dev_media.file(image, o, pool), got);
  EXPECT_EQ(dev_media.cache_hits(), 1u);
  Prompt follow = pg;
  for (int32_t id : rg.tokens) follow.ids.push_back(id);
  const Prompt more = build_prompt(dev->tokenizer(), "And the colours?", {});
  append_prompt(follow, more);
  const GenerateResult r2 = sg.generate(follow, greedy(4), kDiscard);
  EXPECT_GE(r2.prompt_reused, static_cast<int64_t>(pg.ids.size())) << "the image was prefilled again";

  // a video: two frames (not in a build without FFmpeg, such as the GPU-check bundle: the image half only)
  if (!video_decoding_available()) {
    std::cout << "[   NOTE   ] built without video decoding: the video half is not run\n";
    return;
  }
  testing::TempDir dir;
  const std::string clip = (dir / "clip.mp4").string();
  testing::TestVideoSpec spec;
  spec.frames = 30;
  testing::write_test_video(clip, spec);
  MediaOptions v;
  v.video_max_frames = 2;
  const auto vc = cpu_media.file(clip, v, pool), vg = dev_media.file(clip, v, pool);
  EXPECT_EQ(vg->on_device.device, gpu.get());
  EXPECT_LE(rel_diff(host_rows(*vg, pool), vc->embeddings), 1e-4);
  const std::string vtext = render_chat({{"user", {ChatItem::video(), ChatItem::make_text("What happens?")}}});
  Session vsc(cpu, {}, pool), vsg(dev, {}, pool);
  EXPECT_EQ(vsg.generate(build_prompt(dev->tokenizer(), vtext, std::vector{vg}), greedy(8), kDiscard).tokens,
            vsc.generate(build_prompt(cpu->tokenizer(), vtext, std::vector{vc}), greedy(8), kDiscard).tokens)
      << g << " video";
}

INSTANTIATE_TEST_SUITE_P(Golden, MediaGpu, ::testing::Values("tiny512", "tiny384"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace smolvlm
