// VideoReader: probe with libavformat, decode sequentially with libavcodec, RGB24 via libswscale.
// A build configured with SMOLVLM_VIDEO=OFF has no FFmpeg: VideoReader::open then fails, naming why.
#include "media/video_decode.h"

#include "base/error.h"

#if SMOLVLM_HAVE_VIDEO
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/log.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>

#include "media/image_decode_impl.h"

namespace smolvlm {

namespace {

std::string av_error(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, buf, sizeof buf);
  return buf;
}

struct FormatCloser {
  void operator()(AVFormatContext* f) const { avformat_close_input(&f); }
};
struct CodecFreer {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameFreer {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketFreer {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsFreer {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
using FormatPtr = std::unique_ptr<AVFormatContext, FormatCloser>;
using CodecPtr = std::unique_ptr<AVCodecContext, CodecFreer>;
using FramePtr = std::unique_ptr<AVFrame, FrameFreer>;
using PacketPtr = std::unique_ptr<AVPacket, PacketFreer>;

FramePtr new_frame() {
  FramePtr f(av_frame_alloc());
  if (!f) fail("out of memory (av_frame_alloc)");
  return f;
}

PacketPtr new_packet() {
  PacketPtr p(av_packet_alloc());
  if (!p) fail("out of memory (av_packet_alloc)");
  return p;
}

// FFmpeg's own log lines would duplicate our error messages; errors reach the caller as exceptions.
void quiet_ffmpeg() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_level(AV_LOG_QUIET); });
}

bool valid_rate(AVRational r) { return r.num > 0 && r.den > 0; }

struct Input {
  FormatPtr fmt;
  int stream = -1;
  const AVCodec* decoder = nullptr;
  AVStream* st() const { return fmt->streams[stream]; }
};

// Opens the container and picks the video stream (FFmpeg's "best" one, never cover art).
Input open_input(const std::string& path) {
  quiet_ffmpeg();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail(path, ": no such file");
  if (std::filesystem::is_directory(path, ec)) fail(path, ": is a directory, not a video");
  Input in;
  AVFormatContext* raw = nullptr;
  int err = avformat_open_input(&raw, path.c_str(), nullptr, nullptr);
  if (err < 0) fail(path, ": not a video (FFmpeg cannot read it: ", av_error(err), ")");
  in.fmt.reset(raw);
  const std::string container = in.fmt->iformat->name;
  if (container == "image2" || (container.size() > 5 && container.ends_with("_pipe"))) {
    fail(path, ": a still image (", container, "), not a video");
  }
  err = avformat_find_stream_info(in.fmt.get(), nullptr);
  if (err < 0) fail(path, ": not a video (cannot read stream information: ", av_error(err), ")");
  in.stream = av_find_best_stream(in.fmt.get(), AVMEDIA_TYPE_VIDEO, -1, -1, &in.decoder, 0);
  if (in.stream == AVERROR_DECODER_NOT_FOUND) {
    for (unsigned i = 0; i < in.fmt->nb_streams; ++i) {
      if (in.fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
        fail(path, ": no decoder for its video codec ", avcodec_get_name(in.fmt->streams[i]->codecpar->codec_id));
      }
    }
  }
  if (in.stream < 0) fail(path, ": no video stream (", container, " with ", in.fmt->nb_streams, " other stream(s))");
  if (in.st()->disposition & AV_DISPOSITION_ATTACHED_PIC) {
    fail(path, ": no video stream (only an attached picture, e.g. cover art)");
  }
  return in;
}

CodecPtr open_decoder(const std::string& path, const Input& in) {
  CodecPtr c(avcodec_alloc_context3(in.decoder));
  if (!c) fail("out of memory (avcodec_alloc_context3)");
  int err = avcodec_parameters_to_context(c.get(), in.st()->codecpar);
  if (err >= 0) {
    c->thread_count = 0;  // FFmpeg picks; the frames are the same with any threading
    c->pkt_timebase = in.st()->time_base;
    err = avcodec_open2(c.get(), in.decoder, nullptr);
  }
  if (err < 0) fail(path, ": cannot open the ", in.decoder->name, " decoder: ", av_error(err));
  return c;
}

// One decoded frame to RGB24 with PyAV's to_ndarray("rgb24") settings: SWS_BILINEAR, no explicit
// colorspace (swscale's default BT.601 matrix; full range only for yuvj* formats).
class RgbConverter {
 public:
  RgbConverter() : rgb_(new_frame()) {}
  RgbImage convert(const std::string& path, const AVFrame* f, const DecodeLimits& limits) {
    detail::check_image_size(path, "video frame", f->width, f->height, limits);
    sws_.reset(sws_getCachedContext(sws_.release(), f->width, f->height, static_cast<AVPixelFormat>(f->format),
                                    f->width, f->height, AV_PIX_FMT_RGB24, SWS_BILINEAR, nullptr, nullptr, nullptr));
    if (!sws_) fail(path, ": cannot convert video frames of pixel format ", pix_fmt_name(f->format), " to RGB");
    // Convert into a padded frame buffer (swscale's SIMD may write a little past a row), then copy.
    av_frame_unref(rgb_.get());
    rgb_->format = AV_PIX_FMT_RGB24;
    rgb_->width = f->width;
    rgb_->height = f->height;
    if (av_frame_get_buffer(rgb_.get(), 0) < 0) fail(path, ": out of memory for a video frame");
    sws_scale(sws_.get(), f->data, f->linesize, 0, f->height, rgb_->data, rgb_->linesize);
    RgbImage out(f->width, f->height);
    for (int y = 0; y < f->height; ++y) {
      std::memcpy(out.row(y), rgb_->data[0] + static_cast<ptrdiff_t>(y) * rgb_->linesize[0],
                  static_cast<size_t>(f->width) * 3);
    }
    return out;
  }

 private:
  static const char* pix_fmt_name(int fmt) {
    const char* n = av_get_pix_fmt_name(static_cast<AVPixelFormat>(fmt));
    return n != nullptr ? n : "unknown";
  }
  std::unique_ptr<SwsContext, SwsFreer> sws_;
  FramePtr rgb_;
};

}  // namespace

VideoReader VideoReader::open(const std::string& path, const DecodeLimits& limits) {
  Input in = open_input(path);
  AVStream* st = in.st();
  VideoReader r;
  r.path_ = path;
  r.limits_ = limits;
  r.codec_ = avcodec_get_name(st->codecpar->codec_id);
  r.container_ = in.fmt->iformat->name;
  r.width_ = st->codecpar->width;
  r.height_ = st->codecpar->height;
  detail::check_image_size(path, "video frame", r.width_, r.height_, limits);

  double fps = valid_rate(st->avg_frame_rate) ? av_q2d(st->avg_frame_rate)
               : valid_rate(st->r_frame_rate) ? av_q2d(st->r_frame_rate)
                                               : 0.0;
  int64_t count = st->nb_frames > 0 ? st->nb_frames : 0;
  if (count == 0) {  // not stored by the container: count the stream's packets
    PacketPtr pkt = new_packet();
    while (av_read_frame(in.fmt.get(), pkt.get()) >= 0) {
      if (pkt->stream_index == in.stream) ++count;
      av_packet_unref(pkt.get());
    }
  }
  double container_s = 0.0;
  if (in.fmt->duration != AV_NOPTS_VALUE && in.fmt->duration > 0) {
    container_s = static_cast<double>(in.fmt->duration) / AV_TIME_BASE;
  } else if (st->duration != AV_NOPTS_VALUE && st->duration > 0) {
    container_s = static_cast<double>(st->duration) * av_q2d(st->time_base);
  }
  if (count == 0 && fps > 0.0) count = static_cast<int64_t>(fps * container_s);
  if (fps <= 0.0 && count > 0 && container_s > 0.0) fps = static_cast<double>(count) / container_s;
  if (count <= 0) fail(path, ": the video stream has no frames");
  if (!(fps > 0.0) || !std::isfinite(fps)) fail(path, ": cannot determine the video's frame rate");
  r.frame_count_ = count;
  r.fps_ = fps;
  return r;
}

std::vector<RgbImage> VideoReader::read_frames(std::span<const int64_t> indices) const {
  if (indices.empty()) return {};
  std::vector<int64_t> wanted(indices.begin(), indices.end());
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  if (wanted.front() < 0) fail(path_, ": negative video frame index ", wanted.front());

  Input in = open_input(path_);
  CodecPtr dec = open_decoder(path_, in);
  PacketPtr pkt = new_packet();
  FramePtr frame = new_frame(), last = new_frame();
  RgbConverter rgb;
  std::vector<RgbImage> got(wanted.size());
  size_t next = 0;        // first entry of `wanted` not decoded yet
  int64_t decoded = 0;    // frames output by the decoder so far
  int last_error = 0;

  // Takes every frame the decoder has ready; returns false once all wanted frames are in.
  auto drain = [&]() {
    while (next < wanted.size()) {
      const int err = avcodec_receive_frame(dec.get(), frame.get());
      if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return true;
      if (err < 0) {
        last_error = err;
        return true;
      }
      if (wanted[next] == decoded) got[next++] = rgb.convert(path_, frame.get(), limits_);
      ++decoded;
      av_frame_unref(last.get());
      av_frame_move_ref(last.get(), frame.get());
    }
    return false;
  };

  bool more = true;
  while (more) {
    const int rd = av_read_frame(in.fmt.get(), pkt.get());
    if (rd < 0) {  // end of file (or a read error): flush the decoder
      avcodec_send_packet(dec.get(), nullptr);
      drain();
      break;
    }
    if (pkt->stream_index == in.stream) {
      int err = avcodec_send_packet(dec.get(), pkt.get());
      if (err == AVERROR(EAGAIN)) {  // output pending: take it, then resend
        more = drain();
        if (more) err = avcodec_send_packet(dec.get(), pkt.get());
      }
      if (err < 0 && err != AVERROR(EAGAIN)) last_error = err;  // a damaged packet: skip it
      if (more) more = drain();
    }
    av_packet_unref(pkt.get());
  }

  if (decoded == 0) {
    fail(path_, ": no decodable video frames (", in.decoder->name,
         last_error != 0 ? cat(" decoder: ", av_error(last_error)) : std::string(" decoder produced none"), ")");
  }
  if (next < wanted.size()) {  // indices past the real end: the last frame that decoded
    const RgbImage tail = rgb.convert(path_, last.get(), limits_);
    for (; next < wanted.size(); ++next) got[next] = tail;
  }
  std::vector<RgbImage> out;
  out.reserve(indices.size());
  for (const int64_t i : indices) {
    out.push_back(got[static_cast<size_t>(std::lower_bound(wanted.begin(), wanted.end(), i) - wanted.begin())]);
  }
  return out;
}

bool video_decoding_available() { return true; }

}  // namespace smolvlm

#else  // SMOLVLM_HAVE_VIDEO

namespace smolvlm {

VideoReader VideoReader::open(const std::string& path, const DecodeLimits&) {
  fail(path, ": this smolvlm was built without video decoding (SMOLVLM_VIDEO=OFF, no FFmpeg); "
             "use a build configured with -DSMOLVLM_VIDEO=ON for video input");
}

std::vector<RgbImage> VideoReader::read_frames(std::span<const int64_t>) const {
  fail(path_, ": this smolvlm was built without video decoding");
}

bool video_decoding_available() { return false; }

}  // namespace smolvlm

#endif  // SMOLVLM_HAVE_VIDEO
