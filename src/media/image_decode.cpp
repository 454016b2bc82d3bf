// Format detection, size limits, EXIF orientation and the decode_image / load_image entry points.
// The per-format decoders live in decode_<format>.cpp.
#include "media/image_decode.h"

#include <cstdio>
#include <cstring>
#include <string_view>

#include "base/error.h"
#include "base/file_util.h"
#include "media/image_decode_impl.h"

namespace smolvlm {

namespace {

using namespace std::string_view_literals;  // "..."sv keeps embedded NULs

bool starts_with(std::span<const uint8_t> b, size_t off, std::string_view magic) {
  return b.size() >= off + magic.size() && std::memcmp(b.data() + off, magic.data(), magic.size()) == 0;
}

// A short description of what unsupported bytes look like.
std::string describe_other(std::span<const uint8_t> b) {
  struct Known {
    size_t offset;
    std::string_view magic;
    const char* what;
  };
  static const Known known[] = {
      {0, "II*\0"sv, "a TIFF image"},
      {0, "MM\0*"sv, "a TIFF image"},
      {4, "ftypavif"sv, "an AVIF image"},
      {4, "ftyphei"sv, "a HEIF/HEIC image"},
      {4, "ftypmif1"sv, "a HEIF image"},
      {4, "ftyp"sv, "an MP4/QuickTime file FFmpeg cannot read"},
      {0, "\x1a\x45\xdf\xa3"sv, "a Matroska/WebM file FFmpeg cannot read"},
      {0, "RIFF"sv, "a RIFF file that is not WebP (AVI/WAV?)"},
      {0, "\0\0\1\0"sv, "an ICO icon"},
      {0, "8BPS"sv, "a Photoshop PSD"},
      {0, "\xff\x0a"sv, "a JPEG XL image"},
      {4, "JXL "sv, "a JPEG XL image"},
      {0, "%PDF"sv, "a PDF document"},
      {0, "<svg"sv, "an SVG drawing"},
      {0, "<?xml"sv, "an XML/SVG document"},
      {0, "GIF8"sv, "a GIF with an unknown version"},
      {0, "\xff\xd8"sv, "a damaged JPEG (no marker after SOI)"},
  };
  for (const Known& k : known) {
    if (starts_with(b, k.offset, k.magic)) return k.what;
  }
  std::string hex, text;
  for (size_t i = 0; i < b.size() && i < 8; ++i) {
    char buf[4];
    std::snprintf(buf, sizeof buf, "%02x ", b[i]);
    hex += buf;
    text += (b[i] >= 0x20 && b[i] < 0x7f) ? static_cast<char>(b[i]) : '.';
  }
  hex.pop_back();
  return cat("it starts with ", hex, " \"", text, "\"");
}

}  // namespace

std::string not_media_message(const std::string& name, std::span<const uint8_t> head) {
  return cat(name, ": not an image or a video smolvlm can read (", describe_other(head),
             "); it reads JPEG, PNG, WebP, GIF and BMP images, recognised by their content whatever the file's "
             "name, and the videos FFmpeg reads");
}

ImageFormat detect_image_format(std::span<const uint8_t> b) {
  if (starts_with(b, 0, "\xff\xd8\xff")) return ImageFormat::kJpeg;
  if (starts_with(b, 0, "\x89PNG\r\n\x1a\n")) return ImageFormat::kPng;
  if (starts_with(b, 0, "RIFF") && starts_with(b, 8, "WEBP")) return ImageFormat::kWebp;
  if (starts_with(b, 0, "GIF87a") || starts_with(b, 0, "GIF89a")) return ImageFormat::kGif;
  if (starts_with(b, 0, "BM")) return ImageFormat::kBmp;
  return ImageFormat::kUnknown;
}

const char* image_format_name(ImageFormat f) {
  switch (f) {
    case ImageFormat::kJpeg: return "JPEG";
    case ImageFormat::kPng: return "PNG";
    case ImageFormat::kWebp: return "WebP";
    case ImageFormat::kGif: return "GIF";
    case ImageFormat::kBmp: return "BMP";
    case ImageFormat::kUnknown: break;
  }
  return "unknown";
}

RgbImage decode_image(std::span<const uint8_t> bytes, const std::string& name, const DecodeLimits& limits) {
  if (bytes.empty()) fail(name, ": empty file, not an image");
  if (limits.max_pixels < 1) fail(name, ": DecodeLimits::max_pixels must be positive");
  detail::DecodedImage d;
  switch (detect_image_format(bytes)) {
    case ImageFormat::kJpeg: d = detail::decode_jpeg(bytes, name, limits); break;
    case ImageFormat::kPng: d = detail::decode_png(bytes, name, limits); break;
    case ImageFormat::kWebp: d = detail::decode_webp(bytes, name, limits); break;
    case ImageFormat::kGif: d = detail::decode_gif(bytes, name, limits); break;
    case ImageFormat::kBmp: d = detail::decode_bmp(bytes, name, limits); break;
    case ImageFormat::kUnknown: fail(not_media_message(name, bytes));
  }
  return detail::apply_orientation(std::move(d.image), d.orientation);
}

RgbImage load_image(const std::string& path, const DecodeLimits& limits) {
  const std::string data = read_file(path);
  return decode_image({reinterpret_cast<const uint8_t*>(data.data()), data.size()}, path, limits);
}

namespace detail {

void check_image_size(const std::string& name, const char* format, int64_t width, int64_t height,
                      const DecodeLimits& limits) {
  if (width <= 0 || height <= 0) fail(name, ": ", format, " image has zero width or height (", width, "x", height, ")");
  // Both sides fit in int (RgbImage) and the product cannot overflow: limits are <= 2^31 per side.
  if (width > INT32_MAX / 4 || height > INT32_MAX / 4 || width * height > limits.max_pixels) {
    fail(name, ": ", format, " image is ", width, "x", height, " = ", width * height, " pixels, over the limit of ",
         limits.max_pixels, " (decompression-bomb guard: downscale the image)");
  }
}

int pick_orientation(int from_exif, int from_xmp) {
  const int o = from_exif != 0 ? from_exif : from_xmp;
  return (o >= 2 && o <= 8) ? o : 1;
}

RgbImage apply_orientation(RgbImage in, int orientation) {
  if (orientation < 2 || orientation > 8) return in;
  const int w = in.width, h = in.height;
  const bool swap = orientation >= 5;  // 5..8 exchange the axes
  RgbImage out(swap ? h : w, swap ? w : h);
  // Source pixel for output (x, y), matching Pillow's Image.transpose methods:
  // 2 FLIP_LEFT_RIGHT, 3 ROTATE_180, 4 FLIP_TOP_BOTTOM, 5 TRANSPOSE, 6 ROTATE_270 (90° clockwise),
  // 7 TRANSVERSE, 8 ROTATE_90 (90° counter-clockwise).
  for (int y = 0; y < out.height; ++y) {
    uint8_t* dst = out.row(y);
    for (int x = 0; x < out.width; ++x) {
      int sx = x, sy = y;
      switch (orientation) {
        case 2: sx = w - 1 - x; break;
        case 3: sx = w - 1 - x; sy = h - 1 - y; break;
        case 4: sy = h - 1 - y; break;
        case 5: sx = y; sy = x; break;
        case 6: sx = y; sy = h - 1 - x; break;
        case 7: sx = w - 1 - y; sy = h - 1 - x; break;
        case 8: sx = w - 1 - y; sy = x; break;
      }
      std::memcpy(dst + static_cast<size_t>(x) * 3, in.row(sy) + static_cast<size_t>(sx) * 3, 3);
    }
  }
  return out;
}

}  // namespace detail

}  // namespace smolvlm
