// Video decoding (media/video_decode.h) on clips written by the test itself (video_fixture.h):
// metadata (frame count with and without a container frame count, fps, duration), frame order
// (B-frames), exact pixels through a lossless codec, and clear errors.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/file_util.h"
#include "media/image_decode.h"
#include "media/video_decode.h"
#include "support/testing.h"
#include "video_fixture.h"

namespace smolvlm {
namespace {

using testing::TempDir;
using testing::TestVideoSpec;
using testing::test_frame_color;
using testing::write_test_video;

// Mean colour of a region of one half, away from the edges and the middle boundary.
std::array<int, 3> half_mean(const RgbImage& im, bool left) {
  const int x0 = left ? im.width / 8 : im.width / 2 + im.width / 8, x1 = x0 + im.width / 4;
  long sum[3] = {0, 0, 0}, n = 0;
  for (int y = im.height / 4; y < im.height * 3 / 4; ++y) {
    for (int x = x0; x < x1; ++x, ++n) {
      for (int k = 0; k < 3; ++k) sum[k] += im.row(y)[3 * x + k];
    }
  }
  return {static_cast<int>(sum[0] / n), static_cast<int>(sum[1] / n), static_cast<int>(sum[2] / n)};
}

// The painted frame whose colour is nearest to the image's left half, and the distance to it.
std::pair<int, int> nearest_frame(const RgbImage& im, int frames) {
  const auto got = half_mean(im, true);
  int best = -1, best_d = 1 << 30;
  for (int i = 0; i < frames; ++i) {
    const auto c = test_frame_color(i);
    int d = 0;
    for (int k = 0; k < 3; ++k) d = std::max(d, std::abs(got[k] - c[k]));
    if (d < best_d) best = i, best_d = d;
  }
  return {best, best_d};
}

std::string open_error(const std::string& path) {
  try {
    VideoReader::open(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(VideoDecode, Mpeg4InMp4WithBFrames) {
  SMOLVLM_REQUIRE_VIDEO();
  TempDir dir;
  const std::string path = (dir / "clip.mp4").string();
  TestVideoSpec spec;
  spec.max_b_frames = 2;
  ASSERT_NO_THROW(write_test_video(path, spec));
  const VideoReader v = VideoReader::open(path);
  EXPECT_EQ(v.frame_count(), 25);
  EXPECT_DOUBLE_EQ(v.fps(), 10.0);
  EXPECT_DOUBLE_EQ(v.duration_s(), 2.5);
  EXPECT_EQ(v.width(), 64);
  EXPECT_EQ(v.height(), 48);
  EXPECT_EQ(v.codec(), "mpeg4");

  const std::vector<int64_t> want = {0, 12, 24};
  const std::vector<RgbImage> frames = v.read_frames(want);
  ASSERT_EQ(frames.size(), 3u);
  for (size_t i = 0; i < frames.size(); ++i) {
    ASSERT_EQ(frames[i].width, 64);
    ASSERT_EQ(frames[i].height, 48);
    const auto [index, dist] = nearest_frame(frames[i], spec.frames);
    EXPECT_EQ(index, want[i]);
    EXPECT_LE(dist, 6) << "frame " << want[i];
    const auto right = half_mean(frames[i], false);
    for (int k = 0; k < 3; ++k) EXPECT_NEAR(right[k], testing::kTestVideoRight[k], 6);
  }
  // Any order, repeats allowed; an index past the end gives the last frame.
  const std::vector<int64_t> mixed = {24, 3, 3, 40};
  const std::vector<RgbImage> again = v.read_frames(mixed);
  ASSERT_EQ(again.size(), 4u);
  EXPECT_EQ(again[0].pixels, frames[2].pixels);
  EXPECT_EQ(nearest_frame(again[1], spec.frames).first, 3);
  EXPECT_EQ(again[2].pixels, again[1].pixels);
  EXPECT_EQ(again[3].pixels, frames[2].pixels);
  EXPECT_TRUE(v.read_frames({}).empty());
  const std::vector<int64_t> negative = {-1};
  EXPECT_THROW(v.read_frames(negative), Error);
}

// Matroska stores no frame count: it is counted from the packets. PNG frames are lossless RGB,
// so every decoded frame must be exactly the painted one.
TEST(VideoDecode, PngInMatroskaIsExactAndCounted) {
  SMOLVLM_REQUIRE_VIDEO();
  TempDir dir;
  const std::string path = (dir / "clip.mkv").string();
  TestVideoSpec spec;
  spec.container = "matroska", spec.codec = "png", spec.width = 40, spec.height = 30, spec.fps = 25, spec.frames = 13;
  ASSERT_NO_THROW(write_test_video(path, spec));
  const VideoReader v = VideoReader::open(path);
  EXPECT_EQ(v.frame_count(), 13);
  EXPECT_DOUBLE_EQ(v.fps(), 25.0);
  EXPECT_DOUBLE_EQ(v.duration_s(), 13 / 25.0);
  std::vector<int64_t> all(13);
  for (int i = 0; i < 13; ++i) all[i] = i;
  const std::vector<RgbImage> frames = v.read_frames(all);
  ASSERT_EQ(frames.size(), 13u);
  for (int i = 0; i < 13; ++i) {
    RgbImage want(40, 30);
    for (int y = 0; y < 30; ++y) {
      for (int x = 0; x < 40; ++x) {
        std::memcpy(want.row(y) + 3 * x, (x < 20 ? test_frame_color(i) : testing::kTestVideoRight).data(), 3);
      }
    }
    EXPECT_EQ(frames[i].pixels, want.pixels) << "frame " << i;
  }
}

TEST(VideoDecode, MjpegInAvi) {
  SMOLVLM_REQUIRE_VIDEO();
  TempDir dir;
  const std::string path = (dir / "clip.avi").string();
  TestVideoSpec spec;
  spec.container = "avi", spec.codec = "mjpeg", spec.fps = 5, spec.frames = 9;
  ASSERT_NO_THROW(write_test_video(path, spec));
  const VideoReader v = VideoReader::open(path);
  EXPECT_EQ(v.frame_count(), 9);
  EXPECT_DOUBLE_EQ(v.fps(), 5.0);
  const std::vector<int64_t> want = {8, 4};
  const std::vector<RgbImage> frames = v.read_frames(want);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(nearest_frame(frames[0], 9).first, 8);
  EXPECT_LE(nearest_frame(frames[0], 9).second, 6);
  EXPECT_EQ(nearest_frame(frames[1], 9).first, 4);
  EXPECT_LE(nearest_frame(frames[1], 9).second, 6);
}

TEST(VideoDecode, ErrorsNameThePathAndTheProblem) {
  SMOLVLM_REQUIRE_VIDEO();
  TempDir dir;
  const std::string missing = (dir / "missing.mp4").string();
  EXPECT_NE(open_error(missing).find(missing + ": no such file"), std::string::npos);

  const std::string text = (dir / "notes.mp4").string();
  const std::string words = "this is not a video, just some text in a file with a video name\n";
  testing::write_file(text, words.data(), words.size());
  EXPECT_NE(open_error(text).find("not a video"), std::string::npos) << open_error(text);

  const std::string still = (dir / "still.mp4").string();
  {  // PNG signature + IHDR: FFmpeg probes it as png_pipe (checksums do not matter for that)
    static const uint8_t kPng[] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                   0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xde};
    testing::write_file(still, kPng, sizeof kPng);
  }
  EXPECT_NE(open_error(still).find("still image"), std::string::npos) << open_error(still);

  const std::string wav = (dir / "sound.wav").string();
  ASSERT_NO_THROW(testing::write_test_audio(wav));
  EXPECT_NE(open_error(wav).find("no video stream"), std::string::npos) << open_error(wav);

  // Every PNG frame's signature damaged: the container parses, no frame decodes.
  const std::string broken = (dir / "broken.mkv").string();
  TestVideoSpec spec;
  spec.container = "matroska", spec.codec = "png", spec.width = 16, spec.height = 16, spec.frames = 4;
  ASSERT_NO_THROW(write_test_video(broken, spec));
  std::string bytes = read_file(broken);
  for (size_t p = bytes.find("\x89PNG"); p != std::string::npos; p = bytes.find("\x89PNG", p + 1)) bytes[p + 1] = 'X';
  testing::write_file(broken, bytes.data(), bytes.size());
  const VideoReader v = VideoReader::open(broken);
  const std::vector<int64_t> first = {0};
  try {
    v.read_frames(first);
    ADD_FAILURE() << "decoded a damaged video";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no decodable video frames"), std::string::npos) << e.what();
  }
}

TEST(VideoDecode, FrameSizeLimit) {
  SMOLVLM_REQUIRE_VIDEO();
  TempDir dir;
  const std::string path = (dir / "clip.mkv").string();
  TestVideoSpec spec;
  spec.container = "matroska", spec.codec = "png", spec.frames = 2;
  ASSERT_NO_THROW(write_test_video(path, spec));
  try {
    VideoReader::open(path, DecodeLimits{1000});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("64x48"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace smolvlm
