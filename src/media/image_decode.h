// Image files to RGB pixels the way transformers' load_image sees them: Pillow's
// ImageOps.exif_transpose, then Image.convert("RGB") (smolvlm2-spec §7 step 0).
//
// Formats are detected from the bytes, never from the file name: JPEG, PNG, WebP (the first frame
// of an animated file), GIF (the first frame), BMP. Conversions follow Pillow (9.4, the version of
// ../shared/golden/preprocess; unchanged in current releases where noted):
// - JPEG: libjpeg-turbo with Pillow's settings (islow IDCT, fancy upsampling); grayscale is
//   replicated; CMYK/YCCK is read with Adobe's inverted polarity and turned into RGB with Pillow's
//   cmyk2rgb (r = k' - k'·c/255, rounded as MULDIV255, with k' = 255 - k). Data that ends before
//   the last row is an error (as in Pillow); more than 1000 progressive scans is refused (CPU bomb).
// - PNG: 8-bit gray/RGB as is; 1/2/4-bit gray scaled to 0..255; palette looked up in PLTE (entries
//   past the palette read as the gray ramp (i, i, i), as Pillow's palette does); tRNS ignored;
//   alpha dropped, never composited; 16-bit RGB(A) and gray+alpha keep the high byte; 16-bit gray
//   saturates at 255 (Pillow opens it as mode I / I;16 and clips to 0..255 when converting).
//   APNG: the default image (IDAT).
// - WebP: libwebp's animation decoder in RGBA (what Pillow uses), alpha dropped; for an animated
//   file the first frame on its canvas (uncovered canvas stays black).
// - GIF: the first frame on the logical screen (grown to hold the frame, as Pillow does); the
//   palette is looked up for every pixel, the transparent index included (convert("RGB") ignores
//   transparency); pixels outside the frame hold the transparent index if there is one, else 0.
// - BMP: 1/4/8-bit palette, RLE8/RLE4, 16-bit 5-5-5 / 5-6-5, 24-bit, 32-bit (alpha dropped),
//   bit-field masks; bottom-up and top-down.
// EXIF orientation (tag 0x0112, values 2..8) from the JPEG APP1 Exif block, the PNG eXIf chunk or
// ImageMagick "Raw profile type exif" text, or the WebP EXIF chunk; without one, an XMP
// tiff:Orientation (PNG iTXt, JPEG APP1, WebP XMP chunk) as current Pillow does. Malformed EXIF
// is ignored (Pillow would raise).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "media/image.h"

namespace smolvlm {

struct DecodeLimits {
  // Largest width × height accepted (checked from the header, before any pixel buffer is allocated:
  // decompression bombs). Pillow's own warning threshold is ~89 M pixels, its error 2× that.
  int64_t max_pixels = 100'000'000;
};

enum class ImageFormat { kUnknown, kJpeg, kPng, kWebp, kGif, kBmp };

// The format the leading bytes announce (kUnknown for anything else, including empty input).
ImageFormat detect_image_format(std::span<const uint8_t> bytes);
const char* image_format_name(ImageFormat f);  // "JPEG", "PNG", ... ("unknown")
// The one message for bytes that are neither an image we decode nor a video FFmpeg reads, whoever
// meets them (run, the server, batch): "<name>: not an image or a video smolvlm can read (<what
// the first bytes look like>); it reads …". `head`: the first bytes (a few dozen suffice).
std::string not_media_message(const std::string& name, std::span<const uint8_t> head);

// Decodes an image file held in memory. name_for_errors (usually the path) starts every message.
// Throws smolvlm::Error for: not an image / an unsupported format (the message says what the bytes
// look like), corrupt or truncated data, zero width or height, and more than limits.max_pixels.
RgbImage decode_image(std::span<const uint8_t> bytes, const std::string& name_for_errors,
                      const DecodeLimits& limits = {});

// Reads the file and decodes it (decode_image); errors name the path.
RgbImage load_image(const std::string& path, const DecodeLimits& limits = {});

}  // namespace smolvlm
