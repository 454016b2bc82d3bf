// EXIF / XMP orientation, parsed by hand with bounds checks (no EXIF library): only IFD0's tag
// 0x0112 matters for load_image.
#include <cstring>
#include <string>

#include "media/image_decode_impl.h"

namespace smolvlm::detail {

namespace {

struct TiffReader {
  const uint8_t* p;
  size_t n;
  bool big_endian;

  bool has(size_t off, size_t len) const { return off <= n && len <= n - off; }
  uint32_t u16(size_t off) const {
    return big_endian ? (uint32_t{p[off]} << 8) | p[off + 1] : (uint32_t{p[off + 1]} << 8) | p[off];
  }
  uint32_t u32(size_t off) const {
    return big_endian ? (u16(off) << 16) | u16(off + 2) : (u16(off + 2) << 16) | u16(off);
  }
};

// Byte size of one value of a TIFF field type; 0 for types Pillow's EXIF reader does not load.
size_t type_size(uint32_t type) {
  switch (type) {
    case 1: case 2: case 6: case 7: return 1;  // BYTE, ASCII, SBYTE, UNDEFINED
    case 3: case 8: return 2;                  // SHORT, SSHORT
    case 4: case 9: case 11: case 13: return 4;  // LONG, SLONG, FLOAT, IFD
    case 5: case 10: case 12: return 8;        // RATIONAL, SRATIONAL, DOUBLE
    default: return 0;
  }
}

}  // namespace

int exif_orientation(std::span<const uint8_t> exif) {
  if (exif.size() >= 6 && std::memcmp(exif.data(), "Exif\0\0", 6) == 0) exif = exif.subspan(6);
  if (exif.size() < 8) return 0;
  TiffReader t{exif.data(), exif.size(), false};
  if (std::memcmp(t.p, "II*\0", 4) == 0) {
    t.big_endian = false;
  } else if (std::memcmp(t.p, "MM\0*", 4) == 0) {
    t.big_endian = true;
  } else {
    return 0;  // not a TIFF header (Pillow raises here; we ignore the EXIF block)
  }
  const size_t ifd = t.u32(4);
  if (!t.has(ifd, 2)) return 0;
  const uint32_t entries = t.u16(ifd);
  int orientation = 0;
  for (uint32_t i = 0; i < entries; ++i) {
    const size_t e = ifd + 2 + static_cast<size_t>(i) * 12;
    if (!t.has(e, 12)) break;  // truncated IFD: keep what was read so far, like Pillow
    if (t.u16(e) != 0x0112) continue;
    const uint32_t type = t.u16(e + 2), count = t.u32(e + 4);
    const size_t unit = type_size(type);
    if (unit == 0 || count == 0) continue;
    const uint64_t size = uint64_t{unit} * count;
    size_t off = e + 8;  // values of up to 4 bytes sit in the entry itself
    if (size > 4) {
      off = t.u32(e + 8);
      if (!t.has(off, static_cast<size_t>(size))) continue;  // Pillow: "possibly corrupt", skipped
    }
    int value = 0;
    switch (type) {  // Pillow keeps the first value; only integers can match 1..8
      case 1: value = t.p[off]; break;
      case 6: value = static_cast<int8_t>(t.p[off]); break;
      case 3: value = static_cast<int>(t.u16(off)); break;
      case 8: value = static_cast<int16_t>(t.u16(off)); break;
      case 4: value = t.u32(off) <= 8 ? static_cast<int>(t.u32(off)) : 0; break;
      case 9: value = static_cast<int32_t>(t.u32(off)); break;
      default: value = -1;  // ASCII, UNDEFINED, rationals, floats: present, but never an orientation
    }
    orientation = (value >= 1 && value <= 8) ? value : -1;  // the last entry wins (dict semantics)
  }
  return orientation < 0 ? 1 : orientation;  // a tag with an odd value is present: do not use XMP
}

int xmp_orientation(std::string_view xmp) {
  static constexpr std::string_view kKey = "tiff:Orientation";
  for (size_t pos = xmp.find(kKey); pos != std::string_view::npos; pos = xmp.find(kKey, pos + 1)) {
    size_t v = pos + kKey.size();
    if (xmp.substr(v, 2) == "=\"") {
      v += 2;
    } else if (xmp.substr(v, 1) == ">") {
      v += 1;
    } else {
      continue;
    }
    if (v < xmp.size() && xmp[v] >= '0' && xmp[v] <= '9') return xmp[v] - '0';
  }
  return 0;
}

std::string raw_profile_bytes(std::string_view text) {
  // Pillow: bytes.fromhex("".join(text.split("\n")[3:])): skip three lines, drop the newlines.
  size_t pos = 0;
  for (int i = 0; i < 3; ++i) {
    pos = text.find('\n', pos);
    if (pos == std::string_view::npos) return {};
    ++pos;
  }
  std::string out;
  int hi = -1;
  for (size_t i = pos; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') continue;
    if (c == ' ' || c == '\t' || c == '\r') {  // fromhex accepts whitespace between bytes only
      if (hi >= 0) return {};
      continue;
    }
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else return {};
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<char>(hi * 16 + v));
      hi = -1;
    }
  }
  return hi >= 0 ? std::string{} : out;
}

}  // namespace smolvlm::detail
