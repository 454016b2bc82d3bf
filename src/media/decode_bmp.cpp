// Windows BMP, parsed by hand with bounds checks, following Pillow's BmpImagePlugin: header sizes
// 12 (OS/2 core), 40, 64, 108, 124; 1/4/8-bit palettes (3- or 4-byte entries; indices past the
// palette read as gray), RLE8/RLE4 (Pillow's decoder semantics), 16-bit 5-5-5, 24-bit BGR, 32-bit
// BGRX, and BI_BITFIELDS masks (any contiguous masks; channels scaled v · 255 / max as Pillow's
// BGR;15 / BGR;16 unpackers do; alpha dropped). Rows are bottom-up unless the height is negative.
#include <algorithm>
#include <bit>
#include <cstring>
#include <vector>

#include "base/error.h"
#include "media/image_decode_impl.h"

namespace smolvlm::detail {

namespace {

constexpr uint32_t kRaw = 0, kRle8 = 1, kRle4 = 2, kBitfields = 3;

struct Bytes {
  std::span<const uint8_t> b;
  const std::string& name;
  uint32_t u16(size_t off) const {
    need(off, 2);
    return b[off] | (uint32_t{b[off + 1]} << 8);
  }
  uint32_t u32(size_t off) const {
    need(off, 4);
    return u16(off) | (u16(off + 2) << 16);
  }
  void need(size_t off, size_t n) const {
    if (off > b.size() || n > b.size() - off) fail(name, ": truncated BMP (header or palette)");
  }
};

// One channel from a bit-field mask: value scaled from 0..max to 0..255.
struct Channel {
  uint32_t mask = 0;
  int shift = 0;
  uint32_t max = 0;
  explicit Channel(uint32_t m) : mask(m) {
    if (m != 0) {
      shift = std::countr_zero(m);
      max = m >> shift;
    }
  }
  bool contiguous() const { return (max & (max + 1)) == 0; }
  uint8_t operator()(uint32_t px) const {
    if (max == 0) return 0;
    const uint32_t v = (px & mask) >> shift;
    return static_cast<uint8_t>(max == 255 ? v : v * 255 / max);
  }
};

// Pillow's BmpRleDecoder: indices in file row order (bottom row first for bottom-up files).
std::vector<uint8_t> decode_rle(std::span<const uint8_t> b, size_t pos, int64_t width, int64_t height, bool rle4) {
  const size_t need = static_cast<size_t>(width * height), w = static_cast<size_t>(width);
  std::vector<uint8_t> data;
  data.reserve(need);
  size_t x = 0;
  while (data.size() < need) {
    if (pos + 2 > b.size()) break;
    size_t n = b[pos];
    const uint8_t byte = b[pos + 1];
    pos += 2;
    if (n != 0) {  // a run of n pixels, clipped at the end of the row
      if (x + n > w) n = x < w ? w - x : 0;
      for (size_t i = 0; i < n; ++i) data.push_back(rle4 ? ((i % 2 == 0) ? byte >> 4 : byte & 15) : byte);
      x += n;
    } else if (byte == 0) {  // end of line
      while (data.size() % w != 0) data.push_back(0);
      x = 0;
    } else if (byte == 1) {  // end of bitmap
      break;
    } else if (byte == 2) {  // delta: right, up (as zeros; never more than the image still needs)
      if (pos + 2 > b.size()) break;
      data.insert(data.end(), std::min(b[pos] + static_cast<size_t>(b[pos + 1]) * w, need - data.size()), 0);
      pos += 2;
      x = data.size() % w;
    } else {  // absolute mode: `byte` literal pixels, padded to a 16-bit boundary of the file
      const size_t count = rle4 ? byte / 2 : byte;
      const size_t avail = std::min(count, b.size() - pos);
      for (size_t i = 0; i < avail; ++i) {
        if (rle4) {
          data.push_back(b[pos + i] >> 4);
          data.push_back(b[pos + i] & 15);
        } else {
          data.push_back(b[pos + i]);
        }
      }
      pos += avail;
      if (avail < count) break;
      x += byte;
      if (pos % 2 != 0) ++pos;
    }
  }
  return data;
}

}  // namespace

DecodedImage decode_bmp(std::span<const uint8_t> bytes, const std::string& name, const DecodeLimits& limits) {
  const Bytes r{bytes, name};
  uint32_t data_offset = r.u32(10);
  const uint32_t header = r.u32(14);
  int64_t width = 0, height = 0;
  uint32_t bits = 0, compression = kRaw, colors = 0, entry = 4;
  bool top_down = false;
  if (header == 12) {
    width = r.u16(18), height = r.u16(20), bits = r.u16(24), entry = 3;
  } else if (header == 40 || header == 64 || header == 108 || header == 124) {
    width = static_cast<int32_t>(r.u32(18));
    const int32_t h = static_cast<int32_t>(r.u32(22));
    top_down = h < 0;
    height = top_down ? -int64_t{h} : h;
    bits = r.u16(28), compression = r.u32(30), colors = r.u32(46);
  } else {
    fail(name, ": unsupported BMP header size ", header);
  }
  check_image_size(name, "BMP", width, height, limits);
  size_t pos = 14 + size_t{header};

  uint32_t masks[4] = {0xff0000, 0xff00, 0xff, 0};  // R, G, B, A
  if (compression == kBitfields) {
    const size_t at = header >= 64 ? 54 : pos;  // inside V4/V5 headers, else right after the header
    for (int i = 0; i < 3; ++i) masks[i] = r.u32(at + 4 * i);
    masks[3] = header >= 64 ? r.u32(66) : 0;
    if (header < 64) pos += 12;
    if (bits == 32 && masks[0] == 0 && masks[1] == 0 && masks[2] == 0) {
      masks[0] = 0xff0000, masks[1] = 0xff00, masks[2] = 0xff;  // Pillow: all-zero masks read as BGRA
    }
    if (bits != 16 && bits != 24 && bits != 32) fail(name, ": BMP bit fields need 16, 24 or 32 bits per pixel, not ", bits);
    if (bits == 24 && !(masks[0] == 0xff0000 && masks[1] == 0xff00 && masks[2] == 0xff)) {
      fail(name, ": unsupported 24-bit BMP bit-field layout");
    }
  } else if (bits == 16) {
    masks[0] = 0x7c00, masks[1] = 0x3e0, masks[2] = 0x1f;  // BI_RGB 16-bit is 5-5-5
  }
  const Channel red(masks[0]), green(masks[1]), blue(masks[2]);
  if (!red.contiguous() || !green.contiguous() || !blue.contiguous()) fail(name, ": unsupported BMP bit-field masks");

  const bool rle = compression == kRle8 || compression == kRle4;
  if (compression > kBitfields) fail(name, ": unsupported BMP compression ", compression, " (JPEG/PNG in BMP or other)");
  if (rle && bits != (compression == kRle8 ? 8u : 4u)) {
    fail(name, ": BMP RLE", compression == kRle8 ? 8 : 4, " with ", bits, " bits per pixel");
  }
  if (bits != 1 && bits != 4 && bits != 8 && bits != 16 && bits != 24 && bits != 32) {
    fail(name, ": unsupported BMP pixel depth ", bits);
  }

  Palette pal;
  pal.set_ramp();
  if (bits <= 8) {
    if (colors == 0) colors = 1u << bits;
    if (colors > 65536) fail(name, ": unsupported BMP palette size ", colors);
    if (data_offset == 14 + header) data_offset += 4 * colors;  // Pillow's fix-up for a missing palette gap
    const size_t usable = std::min<size_t>(colors, 256);
    r.need(pos, usable * entry);
    for (size_t i = 0; i < usable; ++i) {
      const size_t e = pos + i * entry;
      pal.rgb[i][0] = bytes[e + 2], pal.rgb[i][1] = bytes[e + 1], pal.rgb[i][2] = bytes[e];
    }
    pos += size_t{colors} * entry;
  }
  const size_t data_pos = data_offset != 0 ? data_offset : pos;

  const size_t stride = static_cast<size_t>(((width * bits + 31) >> 3) & ~int64_t{3});
  if (!rle && (data_pos > bytes.size() || stride * static_cast<size_t>(height) > bytes.size() - data_pos)) {
    fail(name, ": truncated BMP (pixel data: ", height, " rows of ", stride, " bytes from offset ", data_pos,
         ", file has ", bytes.size(), " bytes)");
  }

  DecodedImage d;
  d.image = RgbImage(static_cast<int>(width), static_cast<int>(height));
  auto out_row = [&](int64_t file_row) { return d.image.row(static_cast<int>(top_down ? file_row : height - 1 - file_row)); };

  if (rle) {
    const std::vector<uint8_t> idx = decode_rle(bytes, data_pos, width, height, compression == kRle4);
    if (idx.size() < static_cast<size_t>(width * height)) fail(name, ": truncated or corrupt BMP RLE data");
    for (int64_t y = 0; y < height; ++y) {
      uint8_t* dst = out_row(y);
      const uint8_t* src = idx.data() + static_cast<size_t>(y * width);
      for (int64_t x = 0; x < width; ++x) std::memcpy(dst + 3 * x, pal.rgb[src[x]], 3);
    }
    return d;
  }

  for (int64_t y = 0; y < height; ++y) {
    const uint8_t* src = bytes.data() + data_pos + static_cast<size_t>(y) * stride;
    uint8_t* dst = out_row(y);
    for (int64_t x = 0; x < width; ++x, dst += 3) {
      if (bits <= 8) {  // MSB-first indices
        const int64_t bit = x * bits;
        const int index = (src[bit >> 3] >> (8 - bits - (bit & 7))) & ((1 << bits) - 1);
        std::memcpy(dst, pal.rgb[index], 3);
      } else if (bits == 24) {
        dst[0] = src[3 * x + 2], dst[1] = src[3 * x + 1], dst[2] = src[3 * x];
      } else {
        const uint8_t* p = src + x * (bits / 8);
        const uint32_t px = bits == 16 ? (p[0] | (uint32_t{p[1]} << 8))
                                       : (p[0] | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24));
        dst[0] = red(px), dst[1] = green(px), dst[2] = blue(px);
      }
    }
  }
  return d;
}

}  // namespace smolvlm::detail
