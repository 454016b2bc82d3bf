// WebP through libwebp's animation decoder, exactly as Pillow reads every WebP file
// (_webp.WebPAnimDecoder with default options: RGBA output, fancy upsampling): the first frame is
// decoded onto a zero-filled canvas, then alpha is dropped.
#include <webp/decode.h>
#include <webp/demux.h>

#include <cstring>
#include <memory>
#include <string_view>

#include "base/error.h"
#include "media/image_decode_impl.h"

namespace smolvlm::detail {

namespace {

const char* status_text(VP8StatusCode s) {
  switch (s) {
    case VP8_STATUS_OK: return "ok";
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "bitstream error";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
    case VP8_STATUS_SUSPENDED: return "suspended";
    case VP8_STATUS_USER_ABORT: return "aborted";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "not enough data (truncated?)";
  }
  return "unknown status";
}

struct AnimDecoderDeleter {
  void operator()(WebPAnimDecoder* d) const { WebPAnimDecoderDelete(d); }
};

// EXIF / XMP chunk of a (VP8X) file, empty when absent.
std::span<const uint8_t> chunk(const WebPDemuxer* demux, const char id[4]) {
  WebPChunkIterator it;
  if (!WebPDemuxGetChunk(demux, id, 1, &it)) return {};
  std::span<const uint8_t> out(it.chunk.bytes, it.chunk.size);  // points into the caller's bytes
  WebPDemuxReleaseChunkIterator(&it);
  return out;
}

}  // namespace

DecodedImage decode_webp(std::span<const uint8_t> bytes, const std::string& name, const DecodeLimits& limits) {
  // The header first: the animation decoder allocates two canvases as soon as it is created.
  WebPBitstreamFeatures features;
  const VP8StatusCode st = WebPGetFeatures(bytes.data(), bytes.size(), &features);
  if (st != VP8_STATUS_OK) fail(name, ": corrupt or truncated WebP (", status_text(st), ")");
  check_image_size(name, "WebP", features.width, features.height, limits);

  WebPData data{bytes.data(), bytes.size()};
  std::unique_ptr<WebPAnimDecoder, AnimDecoderDeleter> dec(WebPAnimDecoderNew(&data, nullptr));
  if (!dec) {
    const size_t riff = 8 + (bytes[4] | (size_t{bytes[5]} << 8) | (size_t{bytes[6]} << 16) | (size_t{bytes[7]} << 24));
    if (riff > bytes.size()) fail(name, ": truncated WebP (", bytes.size(), " of ", riff, " bytes)");
    fail(name, ": corrupt WebP (the RIFF container does not parse)");
  }
  WebPAnimInfo info;
  if (!WebPAnimDecoderGetInfo(dec.get(), &info)) fail(name, ": corrupt WebP (no canvas information)");
  check_image_size(name, "WebP", info.canvas_width, info.canvas_height, limits);
  if (info.frame_count < 1) fail(name, ": WebP file has no frames");

  uint8_t* rgba = nullptr;
  int timestamp = 0;
  if (!WebPAnimDecoderGetNext(dec.get(), &rgba, &timestamp) || rgba == nullptr) {
    fail(name, ": corrupt or truncated WebP (the first frame does not decode)");
  }
  DecodedImage d;
  d.image = RgbImage(static_cast<int>(info.canvas_width), static_cast<int>(info.canvas_height));
  const size_t n = static_cast<size_t>(info.canvas_width) * info.canvas_height;
  uint8_t* out = d.image.pixels.data();
  for (size_t i = 0; i < n; ++i) std::memcpy(out + 3 * i, rgba + 4 * i, 3);

  const WebPDemuxer* demux = WebPAnimDecoderGetDemuxer(dec.get());
  const std::span<const uint8_t> exif = chunk(demux, "EXIF"), xmp = chunk(demux, "XMP ");
  d.orientation = pick_orientation(
      exif_orientation(exif), xmp_orientation({reinterpret_cast<const char*>(xmp.data()), xmp.size()}));
  return d;
}

}  // namespace smolvlm::detail
