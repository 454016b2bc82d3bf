// Internal to the image decoders (src/media/decode_*.cpp, exif.cpp, image_decode.cpp): one entry
// point per format and the helpers they share. Not part of the media layer's API.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "media/image.h"
#include "media/image_decode.h"

namespace smolvlm::detail {

// A decoded picture before EXIF orientation is applied.
struct DecodedImage {
  RgbImage image;
  int orientation = 1;  // EXIF orientation 1..8 (1: as stored)
};

DecodedImage decode_jpeg(std::span<const uint8_t> bytes, const std::string& name, const DecodeLimits& limits);
DecodedImage decode_png(std::span<const uint8_t> bytes, const std::string& name, const DecodeLimits& limits);
DecodedImage decode_webp(std::span<const uint8_t> bytes, const std::string& name, const DecodeLimits& limits);
DecodedImage decode_gif(std::span<const uint8_t> bytes, const std::string& name, const DecodeLimits& limits);
DecodedImage decode_bmp(std::span<const uint8_t> bytes, const std::string& name, const DecodeLimits& limits);

// Throws unless 0 < width, 0 < height and width × height <= limits.max_pixels. Decoders call it
// with the header's size before allocating pixels.
void check_image_size(const std::string& name, const char* format, int64_t width, int64_t height,
                      const DecodeLimits& limits);

// Orientation (tag 0x0112) from an EXIF block: a TIFF structure, optionally behind "Exif\0\0".
// Returns 0 when there is no usable tag (missing, malformed, not an integer). Pillow keeps the first
// value of an integer-typed entry; values outside 1..8 mean "leave as is".
int exif_orientation(std::span<const uint8_t> exif);
// The first `tiff:Orientation="N"` or `tiff:Orientation>N` in XMP text (Pillow's regex), else 0.
int xmp_orientation(std::string_view xmp);
// ImageMagick's "Raw profile type exif" PNG text ("\nexif\n   <len>\n<hex lines>") as bytes; empty
// if it is not valid hex after the third newline.
std::string raw_profile_bytes(std::string_view text);
// EXIF first; XMP only when the EXIF block has no orientation. Values outside 2..8 give 1.
int pick_orientation(int from_exif, int from_xmp);

// Rotates / mirrors like ImageOps.exif_transpose for orientation 2..8 (1: unchanged).
RgbImage apply_orientation(RgbImage image, int orientation);

// Pillow's palette semantics: index i < n_entries maps to the palette, later entries to (i, i, i).
struct Palette {
  uint8_t rgb[256][3];
  void set_ramp() {
    for (int i = 0; i < 256; ++i) rgb[i][0] = rgb[i][1] = rgb[i][2] = static_cast<uint8_t>(i);
  }
};

}  // namespace smolvlm::detail
