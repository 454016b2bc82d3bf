// Video front end against ../shared/golden/preprocess/video.json: frame sampling (indices, timestamps,
// Python half-to-even rounding, the skip rule, truncating linspace), the MM:SS / H:MM:SS strings,
// num2words, the `<video>` replacement text and full chat prompt (sha256, and the texts where given),
// and the per-frame PIL path (bit-exact uint8 and float32) from the decoded golden frames.
#include <gtest/gtest.h>

#include "base/error.h"
#include "media/image_processor.h"
#include "media/resample.h"
#include "media/video_sampling.h"
#include "test_preprocess_util.h"

namespace smolvlm {
namespace {

using namespace smolvlm::testing;
using nlohmann::json;

std::string sha_text(const std::string& s) { return sha256_hex(std::vector<uint8_t>(s.begin(), s.end())); }

size_t count_of(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + what.size())) ++n;
  return n;
}

TEST(VideoSampling, GoldenSamplingAndPromptText) {
  SMOLVLM_REQUIRE_SHARED("golden/preprocess/video.json");
  const json sampling = preprocess_json("video.json")["sampling"];
  ASSERT_GE(sampling.size(), 15u);
  int n_texts = 0;
  for (const json& s : sampling) {
    const std::string what = cat(s["total_num_frames"].get<int64_t>(), " frames @ ", s["fps"].get<double>(), " ",
                                 s["note"].is_null() ? "" : s["note"].get<std::string>());
    VideoSamplingOptions o;
    o.fps = s["sampling_fps"];
    o.max_frames = s["max_frames"];
    o.skip_secs = s["skip_secs"];
    std::optional<double> dur;
    if (!s["duration_given"].is_null()) dur = s["duration_given"].get<double>();
    const VideoFrameSelection sel = sample_video_frames(s["total_num_frames"], s["fps"], dur, o);
    EXPECT_EQ(sel.duration, s["duration_used"].get<double>()) << what;
    EXPECT_EQ(sel.indices, s["indices"].get<std::vector<int64_t>>()) << what;
    EXPECT_EQ(sel.timestamps, s["timestamps"].get<std::vector<double>>()) << what;
    std::vector<std::string> strings;
    for (double t : sel.timestamps) strings.push_back(frame_timestamp_string(t));
    EXPECT_EQ(strings, s["timestamp_strings"].get<std::vector<std::string>>()) << what;
    EXPECT_EQ(duration_string(sel.duration), s["duration_string"].get<std::string>()) << what;
    const int padded = s["padded_num_frames"];
    EXPECT_EQ(number_words(padded), s["frame_count_words"].get<std::string>()) << what;
    for (int seq : {64, 81}) {
      const json& p = s[cat("prompt_seq", seq)];
      const std::string text = video_prompt_text(sel.timestamps, sel.duration, padded, seq);
      const std::string chat =
          "<|im_start|>User: " + text + "Describe this video in detail<end_of_utterance>\nAssistant:";
      EXPECT_EQ(sha_text(text), p["video_text_sha256"].get<std::string>()) << what << " seq " << seq;
      EXPECT_EQ(sha_text(chat), p["chat_text_sha256"].get<std::string>()) << what << " seq " << seq;
      EXPECT_EQ(count_of(text, "<image>"), p["num_image_tokens"].get<size_t>()) << what;
      if (p.contains("video_text")) {
        ++n_texts;
        EXPECT_EQ(text, p["video_text"].get<std::string>()) << what;
        EXPECT_EQ(chat, p["chat_text"].get<std::string>()) << what;
      }
    }
  }
  EXPECT_GT(n_texts, 0);
}

TEST(VideoSampling, NumberWords) {
  SMOLVLM_REQUIRE_SHARED("golden/preprocess/video.json");
  const json words = preprocess_json("video.json")["num2words"];
  ASSERT_EQ(words.size(), 64u);
  for (const auto& [n, w] : words.items()) EXPECT_EQ(number_words(std::stoi(n)), w.get<std::string>()) << n;
  EXPECT_EQ(number_words(0), "zero");
  EXPECT_EQ(number_words(100), "one hundred");
  EXPECT_EQ(number_words(128), "one hundred and twenty-eight");
  EXPECT_EQ(number_words(1001), "one thousand and one");
  EXPECT_EQ(number_words(1234), "one thousand, two hundred and thirty-four");
  EXPECT_EQ(number_words(21000), "twenty-one thousand");
  EXPECT_THROW(number_words(1000000), Error);
  EXPECT_THROW(number_words(-1), Error);
}

TEST(VideoSampling, Rules) {
  // round(2.5) == 2, round(3.5) == 4 (half to even), at least one frame.
  EXPECT_EQ(sample_video_frames(75, 30.0, std::nullopt).indices.size(), 2u);
  EXPECT_EQ(sample_video_frames(105, 30.0, std::nullopt).indices.size(), 4u);
  EXPECT_EQ(sample_video_frames(15, 30.0, std::nullopt).indices, (std::vector<int64_t>{0}));
  // Capped at max_frames; 1 s skipped at both ends only when duration - 2 > max_frames * fps.
  const auto sel = sample_video_frames(2010, 30.0, std::nullopt);
  EXPECT_EQ(sel.indices.size(), 64u);
  EXPECT_EQ(sel.indices.front(), 30);
  EXPECT_EQ(sample_video_frames(1980, 30.0, std::nullopt).indices.front(), 0);
  // Duplicates from truncation are removed (more frames asked than exist).
  VideoSamplingOptions o;
  o.fps = 10;
  const auto dense = sample_video_frames(5, 1.0, std::nullopt, o);
  EXPECT_EQ(dense.indices, (std::vector<int64_t>{0, 1, 2, 3, 4}));
  o.max_frames = 8;
  EXPECT_EQ(sample_video_frames(1000, 1.0, std::nullopt, o).indices.size(), 8u);
  EXPECT_THROW(sample_video_frames(0, 30.0, std::nullopt), Error);
  EXPECT_THROW(sample_video_frames(10, 0.0, std::nullopt), Error);
  EXPECT_THROW(sample_video_frames(10, 30.0, -1.0), Error);
  o.max_frames = 0;
  EXPECT_THROW(sample_video_frames(10, 30.0, std::nullopt, o), Error);
}

TEST(VideoSampling, TimeStrings) {
  EXPECT_EQ(frame_timestamp_string(0.0), "00:00");
  EXPECT_EQ(frame_timestamp_string(59.999), "00:59");
  EXPECT_EQ(frame_timestamp_string(7199.98), "119:59");
  EXPECT_EQ(duration_string(9.2), "0:00:09");
  EXPECT_EQ(duration_string(3723.9), "1:02:03");
  EXPECT_EQ(duration_string(86400 + 61), "1 day, 0:01:01");
  EXPECT_EQ(duration_string(2 * 86400), "2 days, 0:00:00");
}

// The three synthetic frames through the PIL video path at 512 and 384 (needs load_image).
TEST(VideoSampling, BitExactFrames) {
  SMOLVLM_REQUIRE_SHARED("golden/preprocess/video.json");
  const json frames = preprocess_json("video.json")["frames"];
  ASSERT_EQ(frames.size(), 6u);
  for (const json& f : frames) {
    const std::string id = f["case_id"];
    const RgbImage in = load_golden_image(f["image"]);
    ASSERT_EQ(sha256_of(in), f["input_array_sha256"].get<std::string>()) << id;
    const int edge = f["video_longest_edge"], tile = f["max_image_size"];
    const ImageSize a = step_a_size(in.height, in.width, edge);
    EXPECT_EQ(a, (ImageSize{f["step_a_hw"][0].get<int>(), f["step_a_hw"][1].get<int>()})) << id;
    EXPECT_EQ(sha256_of(resize_lanczos(in, a.width, a.height)), f["step_a_sha256"].get<std::string>()) << id;
    const RgbImage out = preprocess_video_frame(in, edge, tile, 0);
    EXPECT_EQ(sha256_of(out), f["frame_u8_hwc_sha256"].get<std::string>()) << id;
    std::vector<float> chw(static_cast<size_t>(tile) * tile * 3);
    normalize_frame(out, chw.data());
    EXPECT_EQ(sha256_of(chw.data(), chw.size()), f["frame_f32_chw_sha256"].get<std::string>()) << id;
    for (const json& s : f["samples"]) {
      const size_t at = (s["c"].get<size_t>() * tile + s["y"].get<size_t>()) * tile + s["x"].get<size_t>();
      EXPECT_EQ(f32_bits(chw[at]), parse_hex_bits(s["f32_bits"])) << id << " " << s.dump();
    }
  }
}

}  // namespace
}  // namespace smolvlm
