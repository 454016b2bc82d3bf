// Video files to RGB frames with FFmpeg's libavformat / libavcodec / libswscale, mirroring what
// transformers' PyAV backend (its default load_video backend) reports and decodes:
// - frame_count: the stream's nb_frames from the container (PyAV's stream.frames); when the
//   container does not store it (Matroska/WebM, raw streams, ...), the number of packets of the
//   video stream, counted by demuxing the file (what decord's len() returns); if that is 0 as well,
//   avg_frame_rate × container duration, truncated (decord's fallback).
// - fps: the stream's avg_frame_rate (PyAV's average_rate, decord's get_avg_fps), else r_frame_rate,
//   else frame_count / container duration.
// - duration_s: frame_count / fps, the VideoMetadata.duration transformers hands to the sampler.
// - frame i is the i-th frame the decoder outputs from the start of the stream (PyAV's enumerate
//   over container.decode(video=0)), converted to RGB24 by swscale with PyAV's settings
//   (SWS_BILINEAR, swscale's default BT.601 matrix, range from the pixel format). Rotation
//   metadata is ignored, as PyAV does.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "media/image.h"
#include "media/image_decode.h"

namespace smolvlm {

// False in a build configured with SMOLVLM_VIDEO=OFF (no FFmpeg): VideoReader::open always throws.
bool video_decoding_available();

class VideoReader {
 public:
  // Probes the file. Throws smolvlm::Error naming the path when it cannot be read, is not a video
  // (text, a still image, audio only, ...), has no decodable video stream, its frame rate or
  // frame count cannot be determined, or its frames exceed limits.max_pixels.
  static VideoReader open(const std::string& path, const DecodeLimits& limits = {});

  int64_t frame_count() const { return frame_count_; }
  double fps() const { return fps_; }
  double duration_s() const { return static_cast<double>(frame_count_) / fps_; }
  int width() const { return width_; }    // from the stream header
  int height() const { return height_; }
  const std::string& codec() const { return codec_; }          // e.g. "h264"
  const std::string& container() const { return container_; }  // e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  const std::string& path() const { return path_; }

  // Decodes the frames with the given indices (any order, repeats allowed), one image per entry
  // in the same order. Decoding runs once from the start and stops after the largest index; only
  // the wanted frames are converted. An index at or past the last frame that actually decodes
  // (headers can overstate the count of a damaged file) yields that last frame. Throws for a
  // negative index and when no frame decodes at all.
  std::vector<RgbImage> read_frames(std::span<const int64_t> indices) const;

 private:
  std::string path_, codec_, container_;
  DecodeLimits limits_;
  int64_t frame_count_ = 0;
  double fps_ = 0.0;
  int width_ = 0, height_ = 0;
};

}  // namespace smolvlm
