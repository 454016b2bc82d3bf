// Image decoding (media/image_decode.h): the golden images decode to the exact pixels transformers'
// load_image gives (golden/preprocess cases.json, variant "rgb"); every format's conversions to RGB
// on images built here with the real encoders (libjpeg, libpng, libwebp, giflib) or by hand (BMP,
// WebP containers); EXIF orientation; and clear errors for bad input.
#include <cstddef>
#include <cstdio>
// clang-format off
#include <jpeglib.h>
// clang-format on
#include <gif_lib.h>
#include <png.h>
#include <webp/encode.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/file_util.h"
#include "media/image_decode.h"
#include "support/testing.h"

namespace smolvlm {
namespace {

using Bytes = std::vector<uint8_t>;
using testing::sha256_hex;
using testing::shared_path;

RgbImage decode(const Bytes& b, const DecodeLimits& limits = {}) { return decode_image(b, "test.img", limits); }

// The error message of decoding b ("" when it decodes).
std::string decode_error(const Bytes& b, const DecodeLimits& limits = {}) {
  try {
    decode(b, limits);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::array<int, 3> px(const RgbImage& im, int x, int y) {
  const uint8_t* p = im.row(y) + 3 * x;
  return {p[0], p[1], p[2]};
}

void put_u16le(Bytes& b, uint32_t v) { b.push_back(v & 255), b.push_back((v >> 8) & 255); }
void put_u32le(Bytes& b, uint32_t v) { put_u16le(b, v & 0xffff), put_u16le(b, v >> 16); }
void put_u32be(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back((v >> s) & 255);
}
void put_str(Bytes& b, std::string_view s) { b.insert(b.end(), s.begin(), s.end()); }

// A TIFF block with IFD0 = {0x0112: SHORT orientation}, little- or big-endian.
Bytes tiff_orientation(int orientation, bool big_endian = false) {
  Bytes t;
  auto u16 = [&](uint32_t v) { big_endian ? (t.push_back(v >> 8), t.push_back(v & 255)) : put_u16le(t, v); };
  auto u32 = [&](uint32_t v) { big_endian ? put_u32be(t, v) : put_u32le(t, v); };
  put_str(t, big_endian ? "MM" : "II");
  u16(42), u32(8);               // header, IFD0 at 8
  u16(1);                        // one entry
  u16(0x0112), u16(3), u32(1);   // Orientation, SHORT, count 1
  u16(orientation), u16(0);      // value in the entry
  u32(0);                        // no next IFD
  return t;
}

// ---- encoders -------------------------------------------------------------------------------

// JPEG from samples with 1, 3 (RGB) or 4 (CMYK, stored as given) components, 4:4:4, quality 95.
Bytes encode_jpeg(int w, int h, int comps, const Bytes& samples, const Bytes& app1 = {}) {
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* out = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &out, &size);
  c.image_width = w, c.image_height = h, c.input_components = comps;
  c.in_color_space = comps == 1 ? JCS_GRAYSCALE : comps == 3 ? JCS_RGB : JCS_CMYK;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 95, TRUE);
  for (int i = 0; i < c.num_components; ++i) c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
  jpeg_start_compress(&c, TRUE);
  if (!app1.empty()) jpeg_write_marker(&c, JPEG_APP0 + 1, app1.data(), static_cast<unsigned>(app1.size()));
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(samples.data()) + static_cast<size_t>(c.next_scanline) * w * comps;
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  Bytes b(out, out + size);
  jpeg_destroy_compress(&c);
  free(out);
  return b;
}

struct PngSpec {
  int w = 0, h = 0, color_type = PNG_COLOR_TYPE_RGB, bit_depth = 8;
  bool interlace = false;
  std::vector<png_color> palette;
  Bytes trns;                                           // palette alpha entries
  Bytes exif;                                           // eXIf chunk (a TIFF block)
  std::vector<std::pair<std::string, std::string>> text;  // iTXt chunks
};

void append_png(png_structp png, png_bytep data, size_t n) {
  Bytes* out = static_cast<Bytes*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + n);
}

// PNG from packed rows (each row ceil(w · channels · depth / 8) bytes, 16-bit big-endian).
Bytes encode_png(const PngSpec& s, const Bytes& rows) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  Bytes out;
  png_set_write_fn(png, &out, append_png, nullptr);
  png_set_IHDR(png, info, s.w, s.h, s.bit_depth, s.color_type, s.interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (!s.palette.empty()) png_set_PLTE(png, info, s.palette.data(), static_cast<int>(s.palette.size()));
  if (!s.trns.empty()) png_set_tRNS(png, info, s.trns.data(), static_cast<int>(s.trns.size()), nullptr);
  if (!s.exif.empty()) png_set_eXIf_1(png, info, static_cast<png_uint_32>(s.exif.size()), const_cast<uint8_t*>(s.exif.data()));
  std::vector<png_text> texts(s.text.size());
  for (size_t i = 0; i < s.text.size(); ++i) {
    texts[i] = {};
    texts[i].compression = PNG_ITXT_COMPRESSION_NONE;
    texts[i].key = const_cast<char*>(s.text[i].first.c_str());
    texts[i].text = const_cast<char*>(s.text[i].second.c_str());
    texts[i].itxt_length = s.text[i].second.size();
  }
  if (!texts.empty()) png_set_text(png, info, texts.data(), static_cast<int>(texts.size()));
  png_write_info(png, info);
  const int channels = png_get_channels(png, info);
  const size_t stride = (static_cast<size_t>(s.w) * channels * s.bit_depth + 7) / 8;
  std::vector<png_bytep> ptrs(s.h);
  for (int y = 0; y < s.h; ++y) ptrs[y] = const_cast<uint8_t*>(rows.data()) + y * stride;
  png_write_image(png, ptrs.data());
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return out;
}

Bytes png_rgb(const RgbImage& im, const Bytes& exif = {}) {
  PngSpec s;
  s.w = im.width, s.h = im.height, s.exif = exif;
  return encode_png(s, im.pixels);
}

uint32_t crc32(const uint8_t* p, size_t n, uint32_t crc = 0) {
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
  }
  return ~crc;
}

// Signature, IHDR with the given size, a token IDAT and IEND: enough for a decompression-bomb check.
Bytes png_header_only(uint32_t w, uint32_t h) {
  Bytes b;
  put_str(b, "\x89PNG\r\n\x1a\n");
  auto chunk = [&](std::string_view type, const Bytes& data) {
    put_u32be(b, static_cast<uint32_t>(data.size()));
    const size_t start = b.size();
    put_str(b, type);
    b.insert(b.end(), data.begin(), data.end());
    put_u32be(b, crc32(b.data() + start, b.size() - start));
  };
  Bytes ihdr;
  put_u32be(ihdr, w), put_u32be(ihdr, h);
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});
  chunk("IHDR", ihdr);
  chunk("IDAT", {0x78, 0x9c, 0x03, 0x00});  // libpng reads the header up to the first IDAT
  chunk("IEND", {});
  return b;
}

struct GifFrame {
  int left = 0, top = 0, w = 0, h = 0;
  bool interlace = false;
  std::vector<GifColorType> local;  // local colour table (empty: none)
  int transparent = -1;             // GCE transparent index
  Bytes pixels;                     // w × h indices, row-major
};

Bytes encode_gif(int screen_w, int screen_h, const std::vector<GifColorType>& global, const std::vector<GifFrame>& frames) {
  Bytes out;
  int err = 0;
  GifFileType* g = EGifOpen(&out,
                            [](GifFileType* f, const GifByteType* d, int n) {
                              static_cast<Bytes*>(f->UserData)->insert(static_cast<Bytes*>(f->UserData)->end(), d, d + n);
                              return n;
                            },
                            &err);
  EGifSetGifVersion(g, true);
  auto map = [](const std::vector<GifColorType>& c) {
    return c.empty() ? nullptr : GifMakeMapObject(static_cast<int>(c.size()), c.data());
  };
  ColorMapObject* gmap = map(global);
  EGifPutScreenDesc(g, screen_w, screen_h, 8, 0, gmap);
  for (const GifFrame& f : frames) {
    if (f.transparent >= 0) {
      const uint8_t gce[4] = {1, 0, 0, static_cast<uint8_t>(f.transparent)};
      EGifPutExtension(g, GRAPHICS_EXT_FUNC_CODE, 4, gce);
    }
    ColorMapObject* lmap = map(f.local);
    EGifPutImageDesc(g, f.left, f.top, f.w, f.h, f.interlace, lmap);
    static constexpr int kStart[4] = {0, 4, 2, 1}, kStep[4] = {8, 8, 4, 2};
    for (int p = 0; p < (f.interlace ? 4 : 1); ++p) {
      for (int y = f.interlace ? kStart[p] : 0; y < f.h; y += f.interlace ? kStep[p] : 1) {
        EGifPutLine(g, const_cast<uint8_t*>(f.pixels.data()) + y * f.w, f.w);
      }
    }
    if (lmap != nullptr) GifFreeMapObject(lmap);
  }
  EGifCloseFile(g, &err);
  if (gmap != nullptr) GifFreeMapObject(gmap);
  return out;
}

// BMP: file header + BITMAPINFOHEADER (40) or V4 (108) + palette/masks + the given pixel rows
// (already padded to 4 bytes, in file order).
Bytes make_bmp(int w, int h, int bits, uint32_t compression, const Bytes& palette_bgrx, const Bytes& data,
               const std::vector<uint32_t>& v4_masks = {}) {
  const uint32_t header = v4_masks.empty() ? 40 : 108;
  Bytes b;
  put_str(b, "BM");
  put_u32le(b, 0), put_u32le(b, 0);
  put_u32le(b, 14 + header + static_cast<uint32_t>(palette_bgrx.size()));
  put_u32le(b, header);
  put_u32le(b, static_cast<uint32_t>(w)), put_u32le(b, static_cast<uint32_t>(h));
  put_u16le(b, 1), put_u16le(b, bits), put_u32le(b, compression);
  put_u32le(b, static_cast<uint32_t>(data.size())), put_u32le(b, 2835), put_u32le(b, 2835);
  put_u32le(b, static_cast<uint32_t>(palette_bgrx.size() / 4)), put_u32le(b, 0);
  if (!v4_masks.empty()) {
    for (uint32_t m : v4_masks) put_u32le(b, m);  // R, G, B, A masks
    b.resize(14 + header, 0);                     // colour space fields: zero
  }
  b.insert(b.end(), palette_bgrx.begin(), palette_bgrx.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

// A RIFF/WebP container from chunks (fourcc, payload).
Bytes riff_webp(const std::vector<std::pair<std::string, Bytes>>& chunks) {
  Bytes body;
  put_str(body, "WEBP");
  for (const auto& [id, data] : chunks) {
    put_str(body, id);
    put_u32le(body, static_cast<uint32_t>(data.size()));
    body.insert(body.end(), data.begin(), data.end());
    if (data.size() % 2 != 0) body.push_back(0);
  }
  Bytes b;
  put_str(b, "RIFF");
  put_u32le(b, static_cast<uint32_t>(body.size()));
  b.insert(b.end(), body.begin(), body.end());
  return b;
}

void put_u24le(Bytes& b, uint32_t v) { b.push_back(v & 255), b.push_back((v >> 8) & 255), b.push_back((v >> 16) & 255); }

// The VP8L payload of a lossless WebP of an RGB image.
Bytes vp8l_payload(const RgbImage& im) {
  uint8_t* out = nullptr;
  const size_t n = WebPEncodeLosslessRGB(im.pixels.data(), im.width, im.height, im.width * 3, &out);
  Bytes file(out, out + n);
  WebPFree(out);
  EXPECT_EQ(std::string(file.begin() + 12, file.begin() + 16), "VP8L");
  const uint32_t len = file[16] | (file[17] << 8) | (file[18] << 16) | (uint32_t{file[19]} << 24);
  return Bytes(file.begin() + 20, file.begin() + 20 + len);
}

RgbImage pattern(int w, int h, int seed = 0) {
  RgbImage im(w, h);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      uint8_t* p = im.row(y) + 3 * x;
      p[0] = static_cast<uint8_t>(x * 37 + y * 11 + seed), p[1] = static_cast<uint8_t>(x * 5 + y * 71 + 3 * seed),
      p[2] = static_cast<uint8_t>((x ^ y) * 29 + seed);
    }
  }
  return im;
}

// ---- golden images --------------------------------------------------------------------------

TEST(ImageDecode, GoldenImagesMatchTransformersLoadImage) {
  SMOLVLM_REQUIRE_SHARED("golden/preprocess/images.json");
  const auto images = nlohmann::json::parse(read_file(shared_path("golden/preprocess/images.json").string()));
  const auto cases = nlohmann::json::parse(read_file(shared_path("golden/preprocess/cases.json").string()));
  std::map<std::string, std::string> rgb_sha;  // image key -> input_array_sha256 of the rgb variant
  for (const auto& c : cases["cases"]) {
    const std::string id = c["case_id"];
    const size_t sep = id.find("__");
    if (id.ends_with("__rgb")) rgb_sha[id.substr(0, sep)] = c["input_array_sha256"];
  }
  int checked = 0;
  for (const auto& im : images["images"]) {
    const std::string file = im["file"];
    const std::string format = im["format"];
    const std::string stem = file.substr(file.rfind('/') + 1, file.rfind('.') - file.rfind('/') - 1);
    const std::string key = format == "PNG" ? stem : stem + "_" + file.substr(file.rfind('.') + 1);
    const RgbImage got = load_image(shared_path("golden/preprocess/" + file).string());
    EXPECT_EQ(got.width, im["width"].get<int>()) << file;
    EXPECT_EQ(got.height, im["height"].get<int>()) << file;
    if (im.contains("decoded_rgb_sha256")) {  // lossy: the hash of Pillow's decode, also its PNG dump
      EXPECT_EQ(sha256_hex(got.pixels), im["decoded_rgb_sha256"].get<std::string>()) << file << " (JPEG/WebP decode differs)";
      const RgbImage dumped = load_image(shared_path("golden/preprocess/" + im["decoded_png"].get<std::string>()).string());
      EXPECT_EQ(sha256_hex(dumped.pixels), im["decoded_rgb_sha256"].get<std::string>()) << file;
      int max_diff = 0;
      for (size_t i = 0; i < got.pixels.size() && i < dumped.pixels.size(); ++i) {
        max_diff = std::max(max_diff, std::abs(got.pixels[i] - dumped.pixels[i]));
      }
      EXPECT_EQ(max_diff, 0) << file;
    }
    if (rgb_sha.count(key) != 0) {
      EXPECT_EQ(sha256_hex(got.pixels), rgb_sha[key]) << file;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 17);  // every image with an "rgb" case (the 3 video frames have none)
}

// ---- PNG ------------------------------------------------------------------------------------

TEST(ImageDecode, PngGrayscaleDepthsScaleLikePillow) {
  // 1/2/4-bit gray: v · 255 / (2^bits − 1); 8-bit as is; 16-bit clipped at 255 (Pillow mode I).
  for (int depth : {1, 2, 4, 8}) {
    const int levels = 1 << depth, w = levels;
    Bytes row((w * depth + 7) / 8, 0);
    for (int x = 0; x < w; ++x) row[x * depth / 8] |= static_cast<uint8_t>(x << (8 - depth - (x * depth) % 8));
    PngSpec s;
    s.w = w, s.h = 1, s.color_type = PNG_COLOR_TYPE_GRAY, s.bit_depth = depth;
    const RgbImage im = decode(encode_png(s, row));
    for (int x = 0; x < w; ++x) {
      const int v = x * 255 / (levels - 1);
      EXPECT_EQ(px(im, x, 0), (std::array<int, 3>{v, v, v})) << depth << "-bit value " << x;
    }
  }
  PngSpec s;
  s.w = 4, s.h = 1, s.color_type = PNG_COLOR_TYPE_GRAY, s.bit_depth = 16;
  const RgbImage im = decode(encode_png(s, {0x00, 0x00, 0x00, 0x7f, 0x00, 0xff, 0x01, 0x00}));
  EXPECT_EQ(px(im, 0, 0)[0], 0);
  EXPECT_EQ(px(im, 1, 0)[0], 127);
  EXPECT_EQ(px(im, 2, 0)[0], 255);
  EXPECT_EQ(px(im, 3, 0)[0], 255);  // 256 saturates
}

TEST(ImageDecode, PngAlphaIsDroppedAndSixteenBitKeepsHighByte) {
  PngSpec s;
  s.w = 2, s.h = 1, s.color_type = PNG_COLOR_TYPE_RGBA;
  RgbImage im = decode(encode_png(s, {10, 20, 30, 0, 200, 100, 50, 128}));  // alpha 0 keeps its colour
  EXPECT_EQ(px(im, 0, 0), (std::array<int, 3>{10, 20, 30}));
  EXPECT_EQ(px(im, 1, 0), (std::array<int, 3>{200, 100, 50}));
  s.color_type = PNG_COLOR_TYPE_GRAY_ALPHA;
  im = decode(encode_png(s, {77, 0, 99, 255}));
  EXPECT_EQ(px(im, 0, 0), (std::array<int, 3>{77, 77, 77}));
  EXPECT_EQ(px(im, 1, 0), (std::array<int, 3>{99, 99, 99}));
  s.color_type = PNG_COLOR_TYPE_RGB, s.bit_depth = 16, s.w = 1;
  im = decode(encode_png(s, {0x12, 0xff, 0xab, 0x01, 0x00, 0x80}));
  EXPECT_EQ(px(im, 0, 0), (std::array<int, 3>{0x12, 0xab, 0x00}));
  s.color_type = PNG_COLOR_TYPE_GRAY_ALPHA;
  im = decode(encode_png(s, {0x34, 0x99, 0x00, 0x00}));
  EXPECT_EQ(px(im, 0, 0), (std::array<int, 3>{0x34, 0x34, 0x34}));
}

TEST(ImageDecode, PngPaletteLookupIgnoresTransparency) {
  PngSpec s;
  s.w = 4, s.h = 1, s.color_type = PNG_COLOR_TYPE_PALETTE, s.bit_depth = 4;
  s.palette = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
  s.trns = {0, 128};  // index 0 fully transparent: convert("RGB") still shows red
  // Indices 0, 1, 2 and 9 (past the 3-entry palette: Pillow's ramp gives gray 9).
  const RgbImage im = decode(encode_png(s, {0x01, 0x29}));
  EXPECT_EQ(px(im, 0, 0), (std::array<int, 3>{255, 0, 0}));
  EXPECT_EQ(px(im, 1, 0), (std::array<int, 3>{0, 255, 0}));
  EXPECT_EQ(px(im, 2, 0), (std::array<int, 3>{0, 0, 255}));
  EXPECT_EQ(px(im, 3, 0), (std::array<int, 3>{9, 9, 9}));
}

TEST(ImageDecode, PngInterlacedEqualsNonInterlaced) {
  const RgbImage src = pattern(37, 23);
  PngSpec s;
  s.w = src.width, s.h = src.height, s.interlace = true;
  const RgbImage im = decode(encode_png(s, src.pixels));
  EXPECT_EQ(im.pixels, src.pixels);
  EXPECT_EQ(decode(png_rgb(src)).pixels, src.pixels);
}

// ---- EXIF orientation -----------------------------------------------------------------------

// Orientation o applied to the 3×2 image "a b c / d e f" (EXIF: how to turn the stored image
// for display), written out by hand.
const std::map<int, std::vector<std::string>> kOriented = {
    {1, {"abc", "def"}}, {2, {"cba", "fed"}}, {3, {"fed", "cba"}}, {4, {"def", "abc"}},
    {5, {"ad", "be", "cf"}}, {6, {"da", "eb", "fc"}}, {7, {"fc", "eb", "da"}}, {8, {"cf", "be", "ad"}},
};

RgbImage labelled_3x2() {
  RgbImage im(3, 2);
  for (int i = 0; i < 6; ++i) {
    im.pixels[3 * i] = static_cast<uint8_t>('a' + i), im.pixels[3 * i + 1] = 7, im.pixels[3 * i + 2] = 9;
  }
  return im;
}

std::vector<std::string> labels(const RgbImage& im) {
  std::vector<std::string> rows;
  for (int y = 0; y < im.height; ++y) {
    std::string r;
    for (int x = 0; x < im.width; ++x) r += static_cast<char>(px(im, x, y)[0]);
    rows.push_back(r);
  }
  return rows;
}

TEST(ImageDecode, ExifOrientationInPngExifChunk) {
  for (const auto& [o, want] : kOriented) {
    EXPECT_EQ(labels(decode(png_rgb(labelled_3x2(), tiff_orientation(o, o % 2 == 0)))), want) << "orientation " << o;
  }
  EXPECT_EQ(labels(decode(png_rgb(labelled_3x2(), tiff_orientation(9)))), kOriented.at(1));  // invalid: as is
}

TEST(ImageDecode, XmpAndRawProfileOrientationInPng) {
  PngSpec s;
  s.w = 3, s.h = 2;
  s.text = {{"XML:com.adobe.xmp", "<x:xmpmeta><rdf:Description tiff:Orientation=\"6\"/></x:xmpmeta>"}};
  EXPECT_EQ(labels(decode(encode_png(s, labelled_3x2().pixels))), kOriented.at(6));
  s.text = {{"XML:com.adobe.xmp", "<tiff:Orientation>3</tiff:Orientation>"}};
  EXPECT_EQ(labels(decode(encode_png(s, labelled_3x2().pixels))), kOriented.at(3));
  s.exif = tiff_orientation(1);  // EXIF wins over XMP
  EXPECT_EQ(labels(decode(encode_png(s, labelled_3x2().pixels))), kOriented.at(1));
  // ImageMagick's "Raw profile type exif": three header lines, then hex ("Exif\0\0" + TIFF).
  Bytes exif;
  put_str(exif, std::string_view("Exif\0\0", 6));
  const Bytes tiff = tiff_orientation(8);
  exif.insert(exif.end(), tiff.begin(), tiff.end());
  std::string hex = "\nexif\n      " + std::to_string(exif.size()) + "\n";
  for (size_t i = 0; i < exif.size(); ++i) {
    char buf[3];
    std::snprintf(buf, sizeof buf, "%02x", exif[i]);
    hex += buf;
    if (i % 36 == 35) hex += "\n";
  }
  s.exif.clear();
  s.text = {{"Raw profile type exif", hex}};
  EXPECT_EQ(labels(decode(encode_png(s, labelled_3x2().pixels))), kOriented.at(8));
}

TEST(ImageDecode, ExifOrientationInJpegApp1) {
  // 32×16, quadrants red | green / blue | white (8×8 blocks, 4:4:4, so edges do not bleed much).
  const int w = 32, h = 16;
  Bytes rgb(w * h * 3);
  const std::array<int, 3> kColor[4] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const auto& c = kColor[(y >= h / 2) * 2 + (x >= w / 2)];
      for (int k = 0; k < 3; ++k) rgb[(y * w + x) * 3 + k] = static_cast<uint8_t>(c[k]);
    }
  }
  // Expected quadrant colours (TL, TR, BL, BR as indices into kColor) per orientation.
  const std::map<int, std::array<int, 4>> want = {{1, {0, 1, 2, 3}}, {2, {1, 0, 3, 2}}, {3, {3, 2, 1, 0}}, {4, {2, 3, 0, 1}},
                                                  {5, {0, 2, 1, 3}}, {6, {2, 0, 3, 1}}, {7, {3, 1, 2, 0}}, {8, {1, 3, 0, 2}}};
  for (const auto& [o, quads] : want) {
    Bytes app1;
    put_str(app1, std::string_view("Exif\0\0", 6));
    const Bytes tiff = tiff_orientation(o, o == 6);
    app1.insert(app1.end(), tiff.begin(), tiff.end());
    const RgbImage im = decode(encode_jpeg(w, h, 3, rgb, app1));
    ASSERT_EQ(im.width, o >= 5 ? h : w) << o;
    ASSERT_EQ(im.height, o >= 5 ? w : h) << o;
    for (int q = 0; q < 4; ++q) {
      const auto got = px(im, (q % 2) * im.width / 2 + im.width / 4, (q / 2) * im.height / 2 + im.height / 4);
      for (int k = 0; k < 3; ++k) EXPECT_NEAR(got[k], kColor[quads[q]][k], 12) << "orientation " << o << " quadrant " << q;
    }
  }
}

// ---- JPEG colour spaces ---------------------------------------------------------------------

TEST(ImageDecode, JpegGrayAndCmykConvertLikePillow) {
  const int w = 16, h = 8;
  Bytes gray(w * h);
  for (int i = 0; i < w * h; ++i) gray[i] = static_cast<uint8_t>(i < w * h / 2 ? 40 : 200);
  RgbImage im = decode(encode_jpeg(w, h, 1, gray));
  EXPECT_NEAR(px(im, 3, 1)[0], 40, 2);
  EXPECT_NEAR(px(im, 3, 6)[0], 200, 2);
  for (int i = 0; i < w * h; ++i) {
    EXPECT_TRUE(im.pixels[3 * i] == im.pixels[3 * i + 1] && im.pixels[3 * i] == im.pixels[3 * i + 2]) << i;
  }

  // CMYK samples (as stored, Adobe-inverted): Pillow gives r = k - k·(255 - c)/255 with
  // MULDIV255 rounding (c, k the stored samples).
  const uint8_t c = 200, m = 90, yel = 30, k = 180;
  Bytes cmyk;
  for (int i = 0; i < w * h; ++i) cmyk.insert(cmyk.end(), {c, m, yel, k});
  im = decode(encode_jpeg(w, h, 4, cmyk));
  auto expect = [&](int stored) {
    const int t = (255 - stored) * k + 128;
    return k - ((t + (t >> 8)) >> 8);
  };
  const auto got = px(im, 5, 5);
  EXPECT_NEAR(got[0], expect(c), 2);
  EXPECT_NEAR(got[1], expect(m), 2);
  EXPECT_NEAR(got[2], expect(yel), 2);
}

// ---- WebP -----------------------------------------------------------------------------------

TEST(ImageDecode, WebpLosslessAndAnimatedFirstFrame) {
  const RgbImage a = pattern(20, 12, 1), b = pattern(8, 6, 99);
  uint8_t* out = nullptr;
  const size_t n = WebPEncodeLosslessRGB(a.pixels.data(), a.width, a.height, a.width * 3, &out);
  const Bytes simple(out, out + n);
  WebPFree(out);
  EXPECT_EQ(decode(simple).pixels, a.pixels);

  // Animated: a 20×12 canvas; frame 1 = b at offset (4, 2) (so the rest of the canvas is
  // uncovered: black, as Pillow's WebPAnimDecoder gives); frame 2 = a full frame.
  auto anmf = [](int x, int y, const RgbImage& im) {
    Bytes f;
    put_u24le(f, x / 2), put_u24le(f, y / 2), put_u24le(f, im.width - 1), put_u24le(f, im.height - 1);
    put_u24le(f, 100), f.push_back(0);  // duration, no blend / no dispose flags
    const Bytes payload = vp8l_payload(im);
    put_str(f, "VP8L"), put_u32le(f, static_cast<uint32_t>(payload.size()));
    f.insert(f.end(), payload.begin(), payload.end());
    if (payload.size() % 2 != 0) f.push_back(0);
    return f;
  };
  Bytes vp8x{0x02, 0, 0, 0};  // animation flag
  put_u24le(vp8x, 20 - 1), put_u24le(vp8x, 12 - 1);
  Bytes anim;
  put_u32le(anim, 0), put_u16le(anim, 0);  // background, loop count
  const RgbImage first = decode(riff_webp({{"VP8X", vp8x}, {"ANIM", anim}, {"ANMF", anmf(4, 2, b)}, {"ANMF", anmf(0, 0, a)}}));
  ASSERT_EQ(first.width, 20);
  ASSERT_EQ(first.height, 12);
  for (int y = 0; y < 12; ++y) {
    for (int x = 0; x < 20; ++x) {
      const bool inside = x >= 4 && x < 12 && y >= 2 && y < 8;
      EXPECT_EQ(px(first, x, y), inside ? px(b, x - 4, y - 2) : (std::array<int, 3>{0, 0, 0})) << x << "," << y;
    }
  }

  // An extended (VP8X) still image with an EXIF chunk: orientation applies.
  Bytes vp8x_exif{0x08, 0, 0, 0};  // EXIF flag
  put_u24le(vp8x_exif, 3 - 1), put_u24le(vp8x_exif, 2 - 1);
  const Bytes lossless = vp8l_payload(labelled_3x2());
  const Bytes with_exif = riff_webp({{"VP8X", vp8x_exif}, {"VP8L", lossless}, {"EXIF", tiff_orientation(6)}});
  EXPECT_EQ(labels(decode(with_exif)), kOriented.at(6));
}

// ---- GIF ------------------------------------------------------------------------------------

TEST(ImageDecode, GifFirstFrameOnScreenLikePillow) {
  const std::vector<GifColorType> global = {{10, 20, 30}, {200, 0, 0}, {0, 200, 0}, {0, 0, 200}};
  GifFrame f;
  f.left = 2, f.top = 1, f.w = 3, f.h = 2;
  f.pixels = {1, 2, 3, 3, 2, 1};
  GifFrame second = f;
  second.left = 0, second.top = 0, second.pixels.assign(6, 2);
  RgbImage im = decode(encode_gif(6, 4, global, {f, second}));
  ASSERT_EQ(im.width, 6);
  ASSERT_EQ(im.height, 4);
  EXPECT_EQ(px(im, 0, 0), (std::array<int, 3>{10, 20, 30}));  // outside the frame: index 0
  EXPECT_EQ(px(im, 2, 1), (std::array<int, 3>{200, 0, 0}));
  EXPECT_EQ(px(im, 4, 2), (std::array<int, 3>{200, 0, 0}));
  EXPECT_EQ(px(im, 3, 2), (std::array<int, 3>{0, 200, 0}));  // frame 2 ignored

  // Transparent index 3: pixels keep the palette colour; outside the frame is filled with index 3.
  f.transparent = 3;
  im = decode(encode_gif(6, 4, global, {f}));
  EXPECT_EQ(px(im, 0, 0), (std::array<int, 3>{0, 0, 200}));
  EXPECT_EQ(px(im, 4, 1), (std::array<int, 3>{0, 0, 200}));

  // Local palette, frame larger than the screen (the image grows), interlaced rows.
  GifFrame big;
  big.left = 1, big.top = 0, big.w = 4, big.h = 11, big.interlace = true;
  big.local = {{1, 1, 1}, {2, 2, 2}, {3, 3, 3}, {4, 4, 4}, {5, 5, 5}, {6, 6, 6}, {7, 7, 7}, {8, 8, 8}};
  for (int y = 0; y < big.h; ++y) {
    for (int x = 0; x < big.w; ++x) big.pixels.push_back(static_cast<uint8_t>((y + x) % 8));
  }
  im = decode(encode_gif(3, 3, global, {big}));
  ASSERT_EQ(im.width, 5);
  ASSERT_EQ(im.height, 11);
  for (int y = 0; y < big.h; ++y) {
    for (int x = 0; x < big.w; ++x) EXPECT_EQ(px(im, 1 + x, y)[0], (y + x) % 8 + 1) << x << "," << y;
  }
  EXPECT_EQ(px(im, 0, 5)[0], 1);  // outside: index 0 of the frame's (local) palette
}

// ---- BMP ------------------------------------------------------------------------------------

TEST(ImageDecode, BmpDepthsAndLayouts) {
  const RgbImage src = pattern(5, 3);
  // 24-bit bottom-up (height > 0) and top-down (height < 0): rows padded to 16 bytes.
  Bytes up, down;
  for (int r = 0; r < 3; ++r) {
    for (Bytes* b : {&up, &down}) {
      const int y = b == &up ? 2 - r : r;
      for (int x = 0; x < 5; ++x) b->insert(b->end(), {src.row(y)[3 * x + 2], src.row(y)[3 * x + 1], src.row(y)[3 * x]});
      b->insert(b->end(), {0});
    }
  }
  EXPECT_EQ(decode(make_bmp(5, 3, 24, 0, {}, up)).pixels, src.pixels);
  EXPECT_EQ(decode(make_bmp(5, -3, 24, 0, {}, down)).pixels, src.pixels);

  // 32-bit BI_RGB is BGRX (the 4th byte is ignored); BI_BITFIELDS with an RGBA layout, alpha dropped.
  Bytes bgrx{30, 20, 10, 0, 60, 50, 40, 255}, rgba{10, 20, 30, 0, 40, 50, 60, 128};
  RgbImage im = decode(make_bmp(2, 1, 32, 0, {}, bgrx));
  EXPECT_EQ(px(im, 0, 0), (std::array<int, 3>{10, 20, 30}));
  EXPECT_EQ(px(im, 1, 0), (std::array<int, 3>{40, 50, 60}));
  im = decode(make_bmp(2, 1, 32, 3, {}, rgba, {0xff, 0xff00, 0xff0000, 0xff000000}));
  EXPECT_EQ(px(im, 0, 0), (std::array<int, 3>{10, 20, 30}));
  EXPECT_EQ(px(im, 1, 0), (std::array<int, 3>{40, 50, 60}));

  // 16-bit: 5-5-5 by default, 5-6-5 with bit fields; v · 255 / max.
  Bytes p555, p565;
  put_u16le(p555, (31 << 10) | (16 << 5) | 1), put_u16le(p555, 0);
  put_u16le(p565, (31 << 11) | (32 << 5) | 1), put_u16le(p565, 0);
  im = decode(make_bmp(1, 1, 16, 0, {}, p555));
  EXPECT_EQ(px(im, 0, 0), (std::array<int, 3>{255, 16 * 255 / 31, 255 / 31}));
  im = decode(make_bmp(1, 1, 16, 3, {}, p565, {0xf800, 0x7e0, 0x1f, 0}));
  EXPECT_EQ(px(im, 0, 0), (std::array<int, 3>{255, 32 * 255 / 63, 255 / 31}));

  // 8-bit palette of 2 entries (BGRX): index 5 is past the palette (gray 5).
  const Bytes pal{0, 0, 255, 0, 255, 0, 0, 0};  // red, blue
  im = decode(make_bmp(3, 1, 8, 0, pal, {0, 1, 5, 0}));
  EXPECT_EQ(px(im, 0, 0), (std::array<int, 3>{255, 0, 0}));
  EXPECT_EQ(px(im, 1, 0), (std::array<int, 3>{0, 0, 255}));
  EXPECT_EQ(px(im, 2, 0), (std::array<int, 3>{5, 5, 5}));
  // 4-bit and 1-bit: MSB first.
  im = decode(make_bmp(3, 1, 4, 0, pal, {0x10, 0x10, 0, 0}));
  EXPECT_EQ(labels(im), std::vector<std::string>({std::string{char(0), char(255), char(0)}}));
  im = decode(make_bmp(3, 1, 1, 0, pal, {0x40, 0, 0, 0}));
  EXPECT_EQ(px(im, 0, 0)[2], 0);
  EXPECT_EQ(px(im, 1, 0)[2], 255);
  EXPECT_EQ(px(im, 2, 0)[2], 0);

  // RLE8, bottom-up 4×2: row 0 (bottom) = run of 3 × index 1 then end of line (rest zero-filled);
  // row 1 = absolute run {1, 0, 1} (padded to an even length), end of line, end of bitmap.
  im = decode(make_bmp(4, 2, 8, 1, pal, {3, 1, 0, 0, 0, 3, 1, 0, 1, 0, 0, 0, 0, 1}));
  EXPECT_EQ(px(im, 0, 1), (std::array<int, 3>{0, 0, 255}));
  EXPECT_EQ(px(im, 2, 1), (std::array<int, 3>{0, 0, 255}));
  EXPECT_EQ(px(im, 3, 1), (std::array<int, 3>{255, 0, 0}));
  EXPECT_EQ(px(im, 0, 0), (std::array<int, 3>{0, 0, 255}));
  EXPECT_EQ(px(im, 1, 0), (std::array<int, 3>{255, 0, 0}));
}

// ---- errors ---------------------------------------------------------------------------------

TEST(ImageDecode, NotAnImageAndUnsupportedFormats) {
  EXPECT_NE(decode_error({}).find("empty"), std::string::npos);
  const std::string hello = decode_error({'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'});
  EXPECT_NE(hello.find("not an image or a video smolvlm can read (it starts with 68 65 6c 6c 6f 20 77 6f \"hello wo\")"),
            std::string::npos)
      << hello;
  EXPECT_NE(decode_error({'I', 'I', '*', 0, 8, 0, 0, 0}).find("TIFF"), std::string::npos);
  EXPECT_NE(decode_error({0, 0, 0, 0x20, 'f', 't', 'y', 'p', 'i', 's', 'o', 'm'}).find("MP4"), std::string::npos);
  EXPECT_EQ(detect_image_format(Bytes{0xff, 0xd8, 0xff, 0xe0}), ImageFormat::kJpeg);
  EXPECT_STREQ(image_format_name(ImageFormat::kWebp), "WebP");
  const std::string e = decode_error({'G', 'I', 'F', '8', '9', 'a', 1, 0});
  EXPECT_EQ(e.rfind("test.img: ", 0), 0u) << e;  // every message names the input
}

TEST(ImageDecode, DecompressionBombsAreRejectedFromTheHeader) {
  std::string e = decode_error(png_header_only(100000, 100000));
  EXPECT_NE(e.find("100000x100000"), std::string::npos) << e;
  EXPECT_NE(e.find("over the limit of 100000000"), std::string::npos) << e;
  // Configurable: a 64×64 image is too big under a 1000-pixel limit, fine under the default.
  const Bytes png = png_rgb(pattern(64, 64));
  EXPECT_NE(decode_error(png, DecodeLimits{1000}).find("over the limit of 1000"), std::string::npos);
  EXPECT_EQ(decode_error(png), "");
  // JPEG SOF, GIF screen, WebP canvas and BMP header claiming huge sizes.
  Bytes jpeg = encode_jpeg(8, 8, 1, Bytes(64, 128));
  for (size_t i = 0; i + 8 < jpeg.size(); ++i) {
    if (jpeg[i] == 0xff && jpeg[i + 1] == 0xc0) {  // SOF0: length(2) precision(1) height(2) width(2)
      jpeg[i + 5] = jpeg[i + 6] = jpeg[i + 7] = jpeg[i + 8] = 0xf0;
      break;
    }
  }
  EXPECT_NE(decode_error(jpeg).find("61680x61680"), std::string::npos) << decode_error(jpeg);
  Bytes gif = encode_gif(4, 4, {{0, 0, 0}, {1, 1, 1}}, {GifFrame{0, 0, 1, 1, false, {}, -1, {1}}});
  gif[6] = gif[8] = 0xff, gif[7] = gif[9] = 0xff;  // screen 65535 × 65535
  EXPECT_NE(decode_error(gif).find("over the limit"), std::string::npos) << decode_error(gif);
  Bytes vp8x{0x02, 0, 0, 0};  // animated: the canvas size is all the header promises
  put_u24le(vp8x, 16383), put_u24le(vp8x, 16383);
  EXPECT_NE(decode_error(riff_webp({{"VP8X", vp8x}, {"VP8L", vp8l_payload(pattern(2, 2))}})).find("over the limit"),
            std::string::npos);
  EXPECT_NE(decode_error(make_bmp(30000, 30000, 24, 0, {}, {})).find("over the limit"), std::string::npos);
}

TEST(ImageDecode, ZeroSizedImages) {
  EXPECT_NE(decode_error(make_bmp(0, 5, 24, 0, {}, {})).find("zero width or height"), std::string::npos);
  EXPECT_NE(decode_error(png_header_only(0, 7)).find("zero"), std::string::npos);
  EXPECT_NE(decode_error(encode_gif(0, 0, {{0, 0, 0}, {1, 1, 1}}, {GifFrame{0, 0, 0, 0, false, {}, -1, {}}})).find("zero"),
            std::string::npos);
}

// Every prefix of a valid file decodes or fails with smolvlm::Error; the listed ones must fail.
TEST(ImageDecode, TruncatedFilesGiveClearErrors) {
  std::vector<std::pair<std::string, Bytes>> files = {
      {"png", png_rgb(pattern(40, 30))},
      {"png-interlaced", [] {
         PngSpec s;
         s.w = 40, s.h = 30, s.interlace = true;
         return encode_png(s, pattern(40, 30).pixels);
       }()},
      {"jpeg", encode_jpeg(40, 30, 3, pattern(40, 30).pixels)},
      {"gif", encode_gif(40, 30, {{0, 0, 0}, {9, 9, 9}}, {GifFrame{0, 0, 40, 30, false, {}, -1, Bytes(1200, 1)}})},
      {"bmp", make_bmp(4, 4, 24, 0, {}, Bytes(48, 7))},
  };
  uint8_t* out = nullptr;
  const RgbImage p = pattern(40, 30);
  const size_t n = WebPEncodeRGB(p.pixels.data(), 40, 30, 120, 80, &out);
  files.emplace_back("webp", Bytes(out, out + n));
  WebPFree(out);
  for (const auto& [kind, file] : files) {
    ASSERT_EQ(decode_error(file), "") << kind;
    for (size_t len : {size_t{1}, size_t{2}, size_t{5}, size_t{16}, size_t{40}, file.size() / 3, file.size() / 2,
                       file.size() * 9 / 10, file.size() - 40}) {
      const Bytes cut(file.begin(), file.begin() + static_cast<ptrdiff_t>(len));
      const std::string e = decode_error(cut);
      EXPECT_FALSE(e.empty()) << kind << " cut to " << len << " bytes decoded";
      EXPECT_EQ(e.rfind("test.img: ", 0), 0u) << e;
    }
  }
}

TEST(ImageDecode, RandomAndCorruptedBytesNeverCrash) {
  std::mt19937 rng(1234);
  Bytes app1;
  put_str(app1, std::string_view("Exif\0\0", 6));
  const Bytes tiff = tiff_orientation(6);
  app1.insert(app1.end(), tiff.begin(), tiff.end());
  Bytes vp8x{0x08, 0, 0, 0};
  put_u24le(vp8x, 7), put_u24le(vp8x, 7);
  const std::vector<Bytes> seeds = {
      png_rgb(pattern(16, 16), tiff_orientation(5)),
      encode_jpeg(16, 16, 3, pattern(16, 16).pixels, app1),
      encode_gif(8, 8, {{0, 0, 0}, {5, 5, 5}}, {GifFrame{0, 0, 8, 8, true, {}, 1, Bytes(64, 1)}}),
      make_bmp(4, 4, 8, 1, {0, 0, 255, 0}, {4, 0, 0, 0, 0, 1}),
      make_bmp(2, 2, 16, 3, {}, Bytes(8, 0x5a), {0xf800, 0x7e0, 0x1f, 0}),
      riff_webp({{"VP8X", vp8x}, {"VP8L", vp8l_payload(pattern(8, 8))}, {"EXIF", tiff_orientation(3)}}),
  };
  int decoded = 0, failed = 0;
  const int iterations = 600;
  for (int iter = 0; iter < iterations; ++iter) {
    Bytes b = seeds[iter % seeds.size()];
    const int flips = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < flips; ++k) b[8 + rng() % (b.size() - 8)] = static_cast<uint8_t>(rng());
    if (iter % 5 == 0) b.resize(8 + rng() % (b.size() - 8));
    try {
      decode(b, DecodeLimits{1 << 20});
      ++decoded;
    } catch (const Error&) {
      ++failed;
    }
  }
  EXPECT_EQ(decoded + failed, iterations);
  EXPECT_GT(failed, 0);
}

TEST(ImageDecode, LoadImageNamesThePath) {
  testing::TempDir dir;
  const std::string missing = (dir / "nope.png").string();
  try {
    load_image(missing);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos);
  }
  const Bytes png = png_rgb(pattern(3, 2));
  testing::write_file(dir / "named.jpg", png.data(), png.size());  // content decides, not the name
  EXPECT_EQ(load_image((dir / "named.jpg").string()).pixels, pattern(3, 2).pixels);
}

}  // namespace
}  // namespace smolvlm
