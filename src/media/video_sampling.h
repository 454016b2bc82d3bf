// SmolVLM video front end without the decoding: frame sampling, the prompt text for `<video>` and
// the per-frame resize (smolvlm2-spec §10; transformers' video_processing_smolvlm.py and
// processing_smolvlm.py, PIL path).
//
// Sampling (SmolVLMVideoProcessor.sample_frames), T frames at native fps v, duration d:
//   desired = max(1, min(round_half_even(fps * d), max_frames))
//   start, end = 0, T - 1; if skip_secs > 0 and d - 2 * skip_secs > max_frames * fps:
//       start = int(skip_secs * v), end = int(T - skip_secs * v)
//   start = max(0, start), end = min(end, T - 1); if start >= end: start, end = 0, T - 1
//   indices = unique(int(i * (end - start) / (desired - 1) + start))  (numpy.linspace, last = end)
// Frame timestamps are index / v seconds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "media/image.h"

namespace smolvlm {

struct VideoSamplingOptions {
  double fps = 1.0;     // frames sampled per second of video
  int max_frames = 64;  // at most this many frames
  double skip_secs = 1.0;
};

struct VideoFrameSelection {
  std::vector<int64_t> indices;    // ascending, unique
  std::vector<double> timestamps;  // index / native fps, seconds
  double duration = 0.0;           // the duration used (given, else total / native fps)
};

// Throws smolvlm::Error for total_frames < 1, a non-positive or non-finite fps or duration, or bad options.
VideoFrameSelection sample_video_frames(int64_t total_frames, double video_fps, std::optional<double> duration,
                                        const VideoSamplingOptions& options = {});

// "MM:SS" with minutes not wrapped at 60 (Python f"{int(t // 60):02d}:{int(t % 60):02d}").
std::string frame_timestamp_string(double seconds);
// Python str(timedelta(seconds=int(duration))): "H:MM:SS", "1 day, H:MM:SS", ...
std::string duration_string(double seconds);
// English cardinal as the num2words package writes it, 0..999999 ("twenty-one", "one hundred and
// five", "one thousand and one", "one thousand, two hundred").
std::string number_words(int n);

// The text that replaces one `<video>` placeholder: the intro (padded_frames in words, duration),
// then per frame "\nFrame from MM:SS:" + the unsplit image block (media/image_prompt.h), then "\n\n".
// padded_frames is the batch's frame count (transformers uses the padded count); seq = 64 or 81.
std::string video_prompt_text(const std::vector<double>& timestamps, double duration, int padded_frames, int seq);

// One video frame through the PIL path: resize so the longest edge is video_longest_edge (the step-A
// rule), then to tile x tile (aspect ratio dropped), no splitting. Normalize with normalize_frame().
RgbImage preprocess_video_frame(const RgbImage& frame, int video_longest_edge, int tile, int threads = 1);

}  // namespace smolvlm
