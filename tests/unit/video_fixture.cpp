#include "video_fixture.h"

#include <stdexcept>

#if SMOLVLM_HAVE_VIDEO
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libswscale/swscale.h>
}

#include <cmath>
#include <cstring>
#include <stdexcept>

namespace smolvlm::testing {

namespace {

void check(int err, const char* what) {
  if (err < 0) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {};
    av_strerror(err, buf, sizeof buf);
    throw std::runtime_error(std::string("test video: ") + what + ": " + buf);
  }
}

// Muxer + one encoder; sends frames, writes packets, flushes and closes.
struct Writer {
  AVFormatContext* oc = nullptr;
  AVCodecContext* c = nullptr;
  AVStream* st = nullptr;
  AVPacket* pkt = av_packet_alloc();

  Writer(const std::string& path, const std::string& container, const AVCodec* codec) {
    if (codec == nullptr) throw std::runtime_error("test video: encoder not available");
    check(avformat_alloc_output_context2(&oc, nullptr, container.c_str(), path.c_str()), "muxer");
    st = avformat_new_stream(oc, nullptr);
    c = avcodec_alloc_context3(codec);
    if (oc->oformat->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  }
  void start(const std::string& path) {
    check(avcodec_parameters_from_context(st->codecpar, c), "codec parameters");
    st->time_base = c->time_base;
    check(avio_open(&oc->pb, path.c_str(), AVIO_FLAG_WRITE), "open output");
    check(avformat_write_header(oc, nullptr), "write header");
  }
  void send(AVFrame* f) {
    check(avcodec_send_frame(c, f), "encode");
    for (;;) {
      const int err = avcodec_receive_packet(c, pkt);
      if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return;
      check(err, "encode");
      if (pkt->duration == 0 && c->codec_type == AVMEDIA_TYPE_VIDEO) pkt->duration = 1;  // one tick: mp4 keeps the last frame
      av_packet_rescale_ts(pkt, c->time_base, st->time_base);
      pkt->stream_index = st->index;
      check(av_interleaved_write_frame(oc, pkt), "write packet");
    }
  }
  void finish() {
    send(nullptr);
    check(av_write_trailer(oc), "write trailer");
  }
  ~Writer() {
    av_packet_free(&pkt);
    avcodec_free_context(&c);
    if (oc != nullptr && oc->pb != nullptr) avio_closep(&oc->pb);
    avformat_free_context(oc);
  }
};

}  // namespace

void write_test_video(const std::string& path, const TestVideoSpec& s) {
  const AVCodec* codec = avcodec_find_encoder_by_name(s.codec.c_str());
  Writer w(path, s.container, codec);
  AVPixelFormat fmt = codec->pix_fmts != nullptr ? codec->pix_fmts[0] : AV_PIX_FMT_YUV420P;
  for (const AVPixelFormat* p = codec->pix_fmts; p != nullptr && *p != AV_PIX_FMT_NONE; ++p) {
    if (*p == AV_PIX_FMT_RGB24) fmt = AV_PIX_FMT_RGB24;  // lossless codecs: keep RGB exactly
  }
  w.c->width = s.width, w.c->height = s.height, w.c->pix_fmt = fmt;
  w.c->time_base = {1, s.fps}, w.c->framerate = {s.fps, 1};
  w.c->gop_size = 12, w.c->max_b_frames = s.max_b_frames;
  w.c->flags |= AV_CODEC_FLAG_QSCALE;
  w.c->global_quality = FF_QP2LAMBDA * 2;
  check(avcodec_open2(w.c, codec, nullptr), "open encoder");
  w.start(path);

  AVFrame* rgb = av_frame_alloc();
  AVFrame* frame = av_frame_alloc();
  rgb->format = AV_PIX_FMT_RGB24, rgb->width = s.width, rgb->height = s.height;
  frame->format = fmt, frame->width = s.width, frame->height = s.height;
  check(av_frame_get_buffer(rgb, 0), "frame buffer");
  check(av_frame_get_buffer(frame, 0), "frame buffer");
  SwsContext* sws = sws_getContext(s.width, s.height, AV_PIX_FMT_RGB24, s.width, s.height, fmt,
                                   SWS_BILINEAR | SWS_ACCURATE_RND, nullptr, nullptr, nullptr);
  for (int i = 0; i < s.frames; ++i) {
    check(av_frame_make_writable(frame), "frame writable");
    const auto left = test_frame_color(i);
    for (int y = 0; y < s.height; ++y) {
      uint8_t* row = rgb->data[0] + y * rgb->linesize[0];
      for (int x = 0; x < s.width; ++x) std::memcpy(row + 3 * x, x < s.width / 2 ? left.data() : kTestVideoRight.data(), 3);
    }
    sws_scale(sws, rgb->data, rgb->linesize, 0, s.height, frame->data, frame->linesize);
    frame->pts = i;
    frame->quality = w.c->global_quality;
    w.send(frame);
  }
  w.finish();
  sws_freeContext(sws);
  av_frame_free(&rgb);
  av_frame_free(&frame);
}

void write_test_audio(const std::string& path) {
  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_PCM_S16LE);
  Writer w(path, "wav", codec);
  const AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
  check(av_channel_layout_copy(&w.c->ch_layout, &mono), "channel layout");
  w.c->sample_rate = 8000, w.c->sample_fmt = AV_SAMPLE_FMT_S16, w.c->time_base = {1, 8000};
  check(avcodec_open2(w.c, codec, nullptr), "open encoder");
  w.start(path);
  AVFrame* f = av_frame_alloc();
  f->format = AV_SAMPLE_FMT_S16, f->nb_samples = 4000, f->sample_rate = 8000;
  check(av_channel_layout_copy(&f->ch_layout, &mono), "channel layout");
  check(av_frame_get_buffer(f, 0), "audio buffer");
  auto* samples = reinterpret_cast<int16_t*>(f->data[0]);
  for (int i = 0; i < f->nb_samples; ++i) samples[i] = static_cast<int16_t>(8000 * std::sin(i * 0.3));
  f->pts = 0;
  w.send(f);
  w.finish();
  av_frame_free(&f);
}

}  // namespace smolvlm::testing

#else  // SMOLVLM_HAVE_VIDEO: a build without FFmpeg writes no test videos (the tests skip first)

namespace smolvlm::testing {
void write_test_video(const std::string& path, const TestVideoSpec&) {
  throw std::runtime_error(path + ": this build has no FFmpeg (SMOLVLM_VIDEO=OFF)");
}
void write_test_audio(const std::string& path) { write_test_video(path, {}); }
}  // namespace smolvlm::testing

#endif  // SMOLVLM_HAVE_VIDEO

namespace smolvlm::testing {
std::array<uint8_t, 3> test_frame_color(int i) {
  return {static_cast<uint8_t>((10 * i) % 256), static_cast<uint8_t>(255 - (10 * i) % 256),
          static_cast<uint8_t>((50 * i) % 256)};
}
}  // namespace smolvlm::testing
