// JPEG through libjpeg-turbo with Pillow's settings: the library defaults (JDCT_ISLOW, fancy
// upsampling, block smoothing), output RGB for 3 components, gray for 1, CMYK for 4.
//
// libjpeg reports fatal errors through error_exit, which must not return. We longjmp back to a
// setjmp in small C-style functions (read_header / read_pixels below) that hold no C++ objects, so
// no destructor is ever skipped; all C++ allocation happens between those calls.
#include <cstddef>
#include <cstdio>  // jpeglib.h needs size_t and FILE declared first
// clang-format off
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

#include <algorithm>
#include <csetjmp>
#include <cstring>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "media/image_decode_impl.h"

namespace smolvlm::detail {

namespace {

constexpr int kMaxScans = 1000;  // a progressive file needs ~10; thousands are a CPU bomb

struct JpegErrorMgr {
  jpeg_error_mgr pub;  // first: libjpeg only knows cinfo->err as a jpeg_error_mgr*
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool hit_eof;  // the data ended early (jpeg_mem_src then feeds a fake EOI and warns)
};

struct JpegState {
  jpeg_decompress_struct cinfo;
  JpegErrorMgr err;
  jpeg_progress_mgr progress;
};

void on_error_exit(j_common_ptr c) {
  auto* e = reinterpret_cast<JpegErrorMgr*>(c->err);
  c->err->format_message(c, e->message);
  std::longjmp(e->jump, 1);
}

void on_emit_message(j_common_ptr c, int level) {
  if (level >= 0) return;  // trace messages
  auto* e = reinterpret_cast<JpegErrorMgr*>(c->err);
  if (c->err->msg_code == JWRN_JPEG_EOF) e->hit_eof = true;
  c->err->num_warnings++;  // other warnings (extraneous bytes, ...) are ignored, as Pillow does
}

void on_output_message(j_common_ptr) {}

void on_progress(j_common_ptr c) {
  auto* d = reinterpret_cast<j_decompress_ptr>(c);
  if (d->input_scan_number > kMaxScans) {
    auto* e = reinterpret_cast<JpegErrorMgr*>(c->err);
    std::snprintf(e->message, sizeof e->message, "more than %d scans (progressive-JPEG bomb?)", kMaxScans);
    std::longjmp(e->jump, 1);
  }
}

// Phase 1: header and markers. Returns false on a libjpeg error (message in st.err.message).
bool read_header(JpegState& st, const uint8_t* data, size_t size) {
  if (setjmp(st.err.jump)) return false;
  jpeg_create_decompress(&st.cinfo);
  st.progress.progress_monitor = on_progress;
  st.cinfo.progress = &st.progress;
  jpeg_mem_src(&st.cinfo, data, static_cast<unsigned long>(size));
  jpeg_save_markers(&st.cinfo, JPEG_APP0 + 1, 0xffff);
  jpeg_read_header(&st.cinfo, TRUE);
  return true;
}

// Pillow's CMYK path: rawmode "CMYK;I" (Adobe's inverted samples) then Convert.c cmyk2rgb.
inline uint8_t cmyk_channel(int inverted_c, int inverted_k) {
  const int c = 255 - inverted_c, nk = inverted_k;  // nk = 255 - k
  const int t = c * nk + 128;
  const int v = nk - ((t + (t >> 8)) >> 8);  // MULDIV255(c, nk)
  return static_cast<uint8_t>(std::clamp(v, 0, 255));
}

void convert_row(const uint8_t* src, uint8_t* dst, int width, int components) {
  if (components == 1) {
    for (int x = 0; x < width; ++x) dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = src[x];
  } else {  // 4: CMYK
    for (int x = 0; x < width; ++x, src += 4) {
      for (int ch = 0; ch < 3; ++ch) dst[3 * x + ch] = cmyk_channel(src[ch], src[3]);
    }
  }
}

// Phase 2: decompress into out (image_width × image_height × 3); row_buf holds one row of 1- or
// 4-byte samples. *incomplete is set when the data ended before the last scanline (a truncated
// file) or the decoder's output does not have the header's size.
bool read_pixels(JpegState& st, uint8_t* out, uint8_t* row_buf, bool* incomplete) {
  if (setjmp(st.err.jump)) return false;
  jpeg_start_decompress(&st.cinfo);
  jpeg_decompress_struct& ci = st.cinfo;
  const int comps = ci.output_components;
  if (ci.output_width != ci.image_width || ci.output_height != ci.image_height ||
      comps != (ci.out_color_space == JCS_RGB ? 3 : ci.out_color_space == JCS_CMYK ? 4 : 1)) {
    *incomplete = true;
    return true;
  }
  const size_t stride = static_cast<size_t>(ci.output_width) * 3;
  while (ci.output_scanline < ci.output_height) {
    uint8_t* dst = out + static_cast<size_t>(ci.output_scanline) * stride;
    JSAMPROW row = comps == 3 ? dst : row_buf;
    if (jpeg_read_scanlines(&ci, &row, 1) != 1) break;
    if (comps != 3) convert_row(row_buf, dst, static_cast<int>(ci.output_width), comps);
  }
  *incomplete = st.err.hit_eof || ci.output_scanline < ci.output_height;
  if (!*incomplete) jpeg_finish_decompress(&ci);  // a missing EOI after complete pixels is tolerated
  return true;
}

struct JpegGuard {
  JpegState& st;
  ~JpegGuard() { jpeg_destroy_decompress(&st.cinfo); }  // safe on a zeroed or half-made struct
};

}  // namespace

DecodedImage decode_jpeg(std::span<const uint8_t> bytes, const std::string& name, const DecodeLimits& limits) {
  JpegState st;
  std::memset(&st, 0, sizeof st);
  st.cinfo.err = jpeg_std_error(&st.err.pub);
  st.err.pub.error_exit = on_error_exit;
  st.err.pub.emit_message = on_emit_message;
  st.err.pub.output_message = on_output_message;
  JpegGuard guard{st};

  if (!read_header(st, bytes.data(), bytes.size())) {
    fail(name, st.err.hit_eof ? ": truncated JPEG (" : ": corrupt JPEG (", st.err.message, ")");
  }
  jpeg_decompress_struct& ci = st.cinfo;
  check_image_size(name, "JPEG", ci.image_width, ci.image_height, limits);
  // Pillow picks the mode from the component count (JpegImagePlugin SOF): L, RGB or CMYK.
  switch (ci.num_components) {
    case 1: ci.out_color_space = JCS_GRAYSCALE; break;
    case 3: ci.out_color_space = JCS_RGB; break;
    case 4: ci.out_color_space = JCS_CMYK; break;
    default: fail(name, ": JPEG with ", ci.num_components, " components is not supported (1, 3 or 4)");
  }

  // EXIF: the first APP1 starting "Exif\0"; XMP: the last standard XMP packet (Pillow's info["xmp"]).
  std::span<const uint8_t> exif;
  std::string_view xmp;
  static constexpr std::string_view kXmpId{"http://ns.adobe.com/xap/1.0/\0", 29};
  for (jpeg_saved_marker_ptr m = ci.marker_list; m != nullptr; m = m->next) {
    if (m->marker != JPEG_APP0 + 1) continue;
    const std::string_view s(reinterpret_cast<const char*>(m->data), m->data_length);
    if (exif.empty() && s.substr(0, 5) == std::string_view("Exif\0", 5)) exif = {m->data, m->data_length};
    if (s.substr(0, kXmpId.size()) == kXmpId) xmp = s.substr(kXmpId.size());
  }
  DecodedImage d;
  d.orientation = pick_orientation(exif_orientation(exif), xmp_orientation(xmp));

  d.image = RgbImage(static_cast<int>(ci.image_width), static_cast<int>(ci.image_height));
  std::vector<uint8_t> row_buf(static_cast<size_t>(ci.image_width) * 4);
  bool incomplete = false;
  if (!read_pixels(st, d.image.pixels.data(), row_buf.data(), &incomplete)) {
    fail(name, st.err.hit_eof ? ": truncated JPEG (" : ": corrupt JPEG data (", st.err.message, ")");
  }
  if (incomplete) fail(name, ": truncated JPEG (the data ends before the last row)");
  return d;
}

}  // namespace smolvlm::detail
