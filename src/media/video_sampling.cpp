#include "media/video_sampling.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "base/error.h"
#include "media/image_processor.h"
#include "media/image_prompt.h"
#include "media/resample.h"

namespace smolvlm {
namespace {

// Python's float floor division and modulo (Objects/floatobject.c float_divmod) for w > 0.
void py_divmod(double v, double w, double& floordiv, double& mod) {
  mod = std::fmod(v, w);
  double div = (v - mod) / w;
  if (mod != 0.0 && mod < 0) {
    mod += w;
    div -= 1.0;
  }
  if (div != 0.0) {
    floordiv = std::floor(div);
    if (div - floordiv > 0.5) floordiv += 1.0;
  } else {
    floordiv = 0.0;
  }
}

// numpy.linspace(start, stop, num) as doubles: i * step + start (two roundings, no fused
// multiply-add: `volatile` keeps the product rounded), last element = stop.
std::vector<double> linspace(double start, double stop, int64_t num) {
  std::vector<double> y(static_cast<size_t>(num));
  const double delta = stop - start;
  const int64_t div = num - 1;
  for (int64_t i = 0; i < num; ++i) {
    volatile double prod;
    if (div <= 0) {
      prod = static_cast<double>(i) * delta;
    } else if (delta / static_cast<double>(div) == 0.0) {
      prod = static_cast<double>(i) / static_cast<double>(div) * delta;
    } else {
      prod = static_cast<double>(i) * (delta / static_cast<double>(div));
    }
    y[static_cast<size_t>(i)] = prod + start;
  }
  if (num > 1) y.back() = stop;
  return y;
}

constexpr const char* kOnes[] = {"zero",     "one",     "two",     "three",     "four",     "five",    "six",
                                 "seven",    "eight",   "nine",    "ten",       "eleven",   "twelve",  "thirteen",
                                 "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
constexpr const char* kTens[] = {"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"};

std::string words_below_100(int n) {
  if (n < 20) return kOnes[n];
  std::string s = kTens[n / 10];
  if (n % 10) s = cat(s, "-", kOnes[n % 10]);
  return s;
}

}  // namespace

VideoFrameSelection sample_video_frames(int64_t total_frames, double video_fps, std::optional<double> duration,
                                        const VideoSamplingOptions& o) {
  if (total_frames < 1) fail("video sampling: the video has no frames (", total_frames, ")");
  if (!(video_fps > 0) || !std::isfinite(video_fps)) fail("video sampling: invalid frame rate ", video_fps);
  if (!(o.fps > 0) || !std::isfinite(o.fps)) fail("video sampling: invalid sampling fps ", o.fps);
  if (o.max_frames < 1) fail("video sampling: max frames must be positive (", o.max_frames, ")");
  if (!(o.skip_secs >= 0) || !std::isfinite(o.skip_secs)) fail("video sampling: invalid skip seconds ", o.skip_secs);
  const double d = duration ? *duration : static_cast<double>(total_frames) / video_fps;
  if (!(d >= 0) || !std::isfinite(d)) fail("video sampling: invalid duration ", d);

  VideoFrameSelection r;
  r.duration = d;
  // int(round(fps * duration)): Python rounds half to even, as nearbyint does in the default mode.
  const double estimated = std::nearbyint(o.fps * d);
  const int64_t desired =
      std::max<int64_t>(1, estimated >= o.max_frames ? o.max_frames : static_cast<int64_t>(estimated));

  int64_t start = 0, end = total_frames - 1;
  if (o.skip_secs > 0 && (d - 2 * o.skip_secs) > (o.max_frames * o.fps)) {
    start = static_cast<int64_t>(o.skip_secs * video_fps);
    end = static_cast<int64_t>(static_cast<double>(total_frames) - o.skip_secs * video_fps);
  }
  start = std::max<int64_t>(0, start);
  end = std::min(end, total_frames - 1);
  if (start >= end) start = 0, end = total_frames - 1;

  for (double v : linspace(static_cast<double>(start), static_cast<double>(end), desired)) {
    const auto idx = static_cast<int64_t>(v);                                    // dtype=int truncates
    if (r.indices.empty() || r.indices.back() != idx) r.indices.push_back(idx);  // ascending: unique
  }
  for (int64_t i : r.indices) r.timestamps.push_back(static_cast<double>(i) / video_fps);
  return r;
}

std::string frame_timestamp_string(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) fail("video prompt: invalid timestamp ", seconds);
  double minutes = 0, rest = 0;
  py_divmod(seconds, 60.0, minutes, rest);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld", static_cast<long long>(minutes), static_cast<long long>(rest));
  return buf;
}

std::string duration_string(double seconds) {
  if (!(seconds >= 0) || !(seconds < 1e15)) fail("video prompt: invalid duration ", seconds);
  const auto total = static_cast<long long>(seconds);
  const long long days = total / 86400, s = total % 86400;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  if (days == 0) return buf;
  return cat(days, days == 1 ? " day, " : " days, ", buf);
}

std::string number_words(int n) {
  if (n < 0 || n > 999999) fail("number_words: ", n, " is outside 0..999999");
  if (n >= 1000) {  // num2words' merge: "and" before a rest below 100, else a comma
    const int rest = n % 1000;
    const std::string high = cat(number_words(n / 1000), " thousand");
    if (rest == 0) return high;
    return cat(high, rest < 100 ? " and " : ", ", number_words(rest));
  }
  if (n < 100) return words_below_100(n);
  std::string s = cat(kOnes[n / 100], " hundred");
  if (n % 100) s = cat(s, " and ", words_below_100(n % 100));
  return s;
}

std::string video_prompt_text(const std::vector<double>& timestamps, double duration, int padded_frames, int seq) {
  std::string s = cat("You are provided the following series of ", number_words(padded_frames), " frames from a ",
                      duration_string(duration), " [H:MM:SS] video.\n");
  const std::string block = single_image_prompt_text(seq);
  for (double t : timestamps) s += cat("\nFrame from ", frame_timestamp_string(t), ":", block);
  s += "\n\n";
  return s;
}

RgbImage preprocess_video_frame(const RgbImage& frame, int video_longest_edge, int tile, int threads) {
  if (video_longest_edge < 1 || video_longest_edge > 4096 || tile < 1 || tile > 4096)
    fail("video frame: longest edge ", video_longest_edge, " and tile ", tile, " must be in 1..4096");
  if (frame.empty()) fail("video frame: empty frame");
  const ImageSize a = step_a_size(frame.height, frame.width, video_longest_edge);
  return resize_lanczos(resize_lanczos(frame, a.width, a.height, threads), tile, tile, threads);
}

}  // namespace smolvlm
