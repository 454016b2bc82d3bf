// PNG through libpng, converted to RGB the way Pillow's PngImagePlugin modes convert("RGB"):
// gray (1/2/4/8-bit scaled to 8) replicated, gray 16-bit clipped to 255 (mode I), 16-bit colour
// and gray+alpha keep the high byte, palette indices looked up (tRNS ignored), alpha dropped.
//
// libpng reports errors by longjmp to png_jmpbuf; as for JPEG, each setjmp sits in a small
// function with no C++ objects (read_header / read_pixels / read_end) and C++ work happens between.
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "media/image_decode_impl.h"

namespace smolvlm::detail {

namespace {

struct PngState {
  png_structp png;
  png_infop info;
  const uint8_t* data;
  size_t size;
  size_t pos;
  char message[512];
  char warning[200];  // the last IHDR warning: the detail behind libpng's "Invalid IHDR data"
  bool eof;           // the data ended early
  // From the header (phase 1), after the transformations below.
  png_uint_32 width, height;
  int bit_depth, color_type, interlace, channels;
  size_t rowbytes;
};

void on_error(png_structp png, png_const_charp msg) {
  auto* st = static_cast<PngState*>(png_get_error_ptr(png));
  if (st->warning[0] != 0) {
    std::snprintf(st->message, sizeof st->message, "%s: %s", msg, st->warning);
  } else {
    std::snprintf(st->message, sizeof st->message, "%s", msg);
  }
  png_longjmp(png, 1);
}

void on_warning(png_structp png, png_const_charp msg) {
  auto* st = static_cast<PngState*>(png_get_error_ptr(png));
  if (std::strstr(msg, "IHDR") != nullptr) std::snprintf(st->warning, sizeof st->warning, "%s", msg);
}

void on_read(png_structp png, png_bytep out, size_t n) {
  auto* st = static_cast<PngState*>(png_get_io_ptr(png));
  if (n > st->size - st->pos) {
    st->eof = true;
    png_error(png, "the file ends early");
  }
  std::memcpy(out, st->data + st->pos, n);
  st->pos += n;
}

// Phase 1: signature, IHDR and the chunks before IDAT; sets up the transformations.
bool read_header(PngState& st) {
  if (setjmp(png_jmpbuf(st.png))) return false;
  png_set_read_fn(st.png, &st, on_read);
  png_set_user_limits(st.png, 0x7fffffff, 0x7fffffff);  // our own pixel limit decides (after the header)
  png_read_info(st.png, st.info);
  st.width = png_get_image_width(st.png, st.info);
  st.height = png_get_image_height(st.png, st.info);
  st.bit_depth = png_get_bit_depth(st.png, st.info);
  st.color_type = png_get_color_type(st.png, st.info);
  st.interlace = png_get_interlace_type(st.png, st.info);
  if (st.color_type == PNG_COLOR_TYPE_PALETTE) {
    png_set_packing(st.png);  // 1/2/4-bit indices -> one byte each, values unchanged
  } else if (st.color_type == PNG_COLOR_TYPE_GRAY && st.bit_depth < 8) {
    png_set_expand_gray_1_2_4_to_8(st.png);  // v · 255 / (2^bits − 1), as Pillow's L;1/L;2/L;4
  }
  if (st.interlace != PNG_INTERLACE_NONE) png_set_interlace_handling(st.png);
  png_read_update_info(st.png, st.info);
  st.channels = png_get_channels(st.png, st.info);
  st.bit_depth = png_get_bit_depth(st.png, st.info);
  st.rowbytes = png_get_rowbytes(st.png, st.info);
  return true;
}

// One decoded row (channels × 8 or 16 bits, big-endian) to RGB.
void convert_row(const PngState& st, const png_color* pal, int n_pal, const uint8_t* src, uint8_t* dst) {
  const int w = static_cast<int>(st.width);
  const int step = st.channels * (st.bit_depth == 16 ? 2 : 1);  // bytes per pixel
  if (st.color_type == PNG_COLOR_TYPE_PALETTE) {
    for (int x = 0; x < w; ++x) {
      const int i = src[x];
      if (i < n_pal) {
        dst[3 * x] = pal[i].red, dst[3 * x + 1] = pal[i].green, dst[3 * x + 2] = pal[i].blue;
      } else {
        dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = static_cast<uint8_t>(i);  // Pillow's ramp
      }
    }
  } else if (st.channels <= 2) {  // gray, gray + alpha
    const bool gray16 = st.bit_depth == 16 && st.channels == 1;
    for (int x = 0; x < w; ++x, src += step) {
      uint8_t v = src[0];  // 8-bit value, or the high byte of 16-bit gray + alpha
      if (gray16) v = src[0] != 0 ? 255 : src[1];  // mode I -> RGB clips at 255
      dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = v;
    }
  } else {  // RGB, RGBA: 8-bit, or the high byte of each 16-bit sample
    const int sample = st.bit_depth == 16 ? 2 : 1;
    for (int x = 0; x < w; ++x, src += step) {
      dst[3 * x] = src[0], dst[3 * x + 1] = src[sample], dst[3 * x + 2] = src[2 * sample];
    }
  }
}

// Phase 2: the pixels. Interlaced images need the whole raw image (raw: height × rowbytes);
// others go row by row through raw (one row).
bool read_pixels(PngState& st, uint8_t* out, uint8_t* raw, png_bytep* rows) {
  if (setjmp(png_jmpbuf(st.png))) return false;
  png_colorp pal = nullptr;
  int n_pal = 0;
  if (st.color_type == PNG_COLOR_TYPE_PALETTE) png_get_PLTE(st.png, st.info, &pal, &n_pal);
  const size_t stride = static_cast<size_t>(st.width) * 3;
  if (st.interlace != PNG_INTERLACE_NONE) {
    png_read_image(st.png, rows);
    for (png_uint_32 y = 0; y < st.height; ++y) convert_row(st, pal, n_pal, rows[y], out + y * stride);
  } else {
    for (png_uint_32 y = 0; y < st.height; ++y) {
      png_read_row(st.png, raw, nullptr);
      convert_row(st, pal, n_pal, raw, out + y * stride);
    }
  }
  return true;
}

// Phase 3: chunks after IDAT (eXIf / text may follow the pixels). Pillow stops quietly at damage
// here, so a failure only ends the metadata scan.
bool read_end(PngState& st) {
  if (setjmp(png_jmpbuf(st.png))) return false;
  png_read_end(st.png, st.info);
  return true;
}

struct PngGuard {
  PngState& st;
  ~PngGuard() { png_destroy_read_struct(&st.png, &st.info, nullptr); }
};

int png_orientation(const PngState& st) {
  int from_exif = 0, from_xmp = 0;
  png_uint_32 exif_len = 0;
  png_bytep exif = nullptr;
  if (png_get_eXIf_1(st.png, st.info, &exif_len, &exif) != 0 && exif != nullptr) {
    from_exif = exif_orientation({exif, exif_len});  // Pillow prepends "Exif\0\0"; the parser takes both
  }
  png_textp text = nullptr;
  int n_text = 0;
  png_get_text(st.png, st.info, &text, &n_text);
  for (int i = 0; i < n_text; ++i) {
    const std::string_view key(text[i].key);
    const size_t len = text[i].compression >= PNG_ITXT_COMPRESSION_NONE ? text[i].itxt_length : text[i].text_length;
    const std::string_view value(text[i].text != nullptr ? text[i].text : "", text[i].text != nullptr ? len : 0);
    if (exif == nullptr && key == "Raw profile type exif") {
      const std::string raw = raw_profile_bytes(value);
      if (from_exif == 0) from_exif = exif_orientation({reinterpret_cast<const uint8_t*>(raw.data()), raw.size()});
    } else if (key == "XML:com.adobe.xmp" && from_xmp == 0) {
      from_xmp = xmp_orientation(value);
    }
  }
  return pick_orientation(from_exif, from_xmp);
}

}  // namespace

DecodedImage decode_png(std::span<const uint8_t> bytes, const std::string& name, const DecodeLimits& limits) {
  PngState st;
  std::memset(&st, 0, sizeof st);
  st.data = bytes.data();
  st.size = bytes.size();
  st.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &st, on_error, on_warning);
  if (st.png == nullptr) fail(name, ": cannot initialise libpng");
  st.info = png_create_info_struct(st.png);
  PngGuard guard{st};
  if (st.info == nullptr) fail(name, ": cannot initialise libpng");

  if (!read_header(st)) fail(name, st.eof ? ": truncated PNG (" : ": corrupt PNG (", st.message, ")");
  check_image_size(name, "PNG", st.width, st.height, limits);
  const bool palette = st.color_type == PNG_COLOR_TYPE_PALETTE;
  if (!(st.bit_depth == 8 || (st.bit_depth == 16 && !palette)) || st.channels < 1 || st.channels > 4 ||
      st.rowbytes < static_cast<size_t>(st.width) * st.channels * (st.bit_depth / 8)) {
    fail(name, ": unsupported PNG layout (bit depth ", st.bit_depth, ", ", st.channels, " channels)");
  }

  DecodedImage d;
  d.image = RgbImage(static_cast<int>(st.width), static_cast<int>(st.height));
  const bool interlaced = st.interlace != PNG_INTERLACE_NONE;
  std::vector<uint8_t> raw(st.rowbytes * (interlaced ? st.height : 1));
  std::vector<png_bytep> rows(interlaced ? st.height : 0);
  for (size_t y = 0; y < rows.size(); ++y) rows[y] = raw.data() + y * st.rowbytes;
  if (!read_pixels(st, d.image.pixels.data(), raw.data(), rows.data())) {
    fail(name, st.eof ? ": truncated PNG (" : ": corrupt PNG (", st.message, ")");
  }
  read_end(st);
  d.orientation = png_orientation(st);
  return d;
}

}  // namespace smolvlm::detail
