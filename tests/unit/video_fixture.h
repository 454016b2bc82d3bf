// Test videos written with FFmpeg's libavformat / libavcodec (no ffmpeg CLI, no downloads): frame i
// has its left half painted test_frame_color(i) and its right half kTestVideoRight, so a decoder
// test can tell which frame it got and that rows and columns are in place.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "media/video_decode.h"

// Skips a test that needs video in a build configured with SMOLVLM_VIDEO=OFF (no FFmpeg).
#define SMOLVLM_REQUIRE_VIDEO()                                                                   \
  do {                                                                                           \
    if (!::smolvlm::video_decoding_available()) GTEST_SKIP() << "built without video (no FFmpeg)"; \
  } while (0)

namespace smolvlm::testing {

struct TestVideoSpec {
  std::string container = "mp4";  // libavformat muxer: "mp4", "matroska", "avi", ...
  std::string codec = "mpeg4";     // libavcodec encoder: "mpeg4", "mjpeg", "png", ...
  int width = 64, height = 48;
  int fps = 10;
  int frames = 25;
  int max_b_frames = 0;  // > 0: B-frames, so decode order differs from presentation order
};

inline constexpr std::array<uint8_t, 3> kTestVideoRight = {200, 200, 200};
std::array<uint8_t, 3> test_frame_color(int index);

// Writes the video; throws std::runtime_error when FFmpeg refuses.
void write_test_video(const std::string& path, const TestVideoSpec& spec);
// A short mono 16-bit PCM WAV file: a container with an audio stream and no video.
void write_test_audio(const std::string& path);

}  // namespace smolvlm::testing
