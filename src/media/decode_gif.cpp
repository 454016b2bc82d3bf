// GIF through giflib's low-level reader: the first frame only, composed the way Pillow 9.4+ loads
// frame 0 and convert("RGB") then sees it (GifImagePlugin):
// - the image is the logical screen, grown to contain the frame if the frame sticks out;
// - pixels outside the frame hold the GCE transparent index if there is one, else index 0;
// - every index is looked up in the frame's palette (local, else global; indices past the table
//   read as gray (i, i, i); no table at all: gray) — transparency is not applied by convert("RGB").
#include <gif_lib.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "base/error.h"
#include "media/image_decode_impl.h"

namespace smolvlm::detail {

namespace {

struct MemoryReader {
  const uint8_t* data;
  size_t size;
  size_t pos;
};

int read_memory(GifFileType* gif, GifByteType* out, int n) {
  auto* r = static_cast<MemoryReader*>(gif->UserData);
  const size_t k = std::min(static_cast<size_t>(n < 0 ? 0 : n), r->size - r->pos);
  std::memcpy(out, r->data + r->pos, k);
  r->pos += k;
  return static_cast<int>(k);  // giflib treats a short read as an error
}

struct GifCloser {
  void operator()(GifFileType* g) const {
    int err = 0;
    DGifCloseFile(g, &err);
  }
};

[[noreturn]] void gif_fail(const std::string& name, int code) {
  const char* what = GifErrorString(code);
  fail(name, ": corrupt or truncated GIF (", what != nullptr ? what : "unknown giflib error", ")");
}

}  // namespace

DecodedImage decode_gif(std::span<const uint8_t> bytes, const std::string& name, const DecodeLimits& limits) {
  MemoryReader reader{bytes.data(), bytes.size(), 0};
  int err = 0;
  std::unique_ptr<GifFileType, GifCloser> gif(DGifOpen(&reader, read_memory, &err));
  if (!gif) gif_fail(name, err);
  GifFileType* g = gif.get();

  // Records up to the first image descriptor; the last graphic control extension with the
  // transparency flag set gives the transparent index.
  int transparent = -1;
  for (;;) {
    GifRecordType type;
    if (DGifGetRecordType(g, &type) == GIF_ERROR) gif_fail(name, g->Error);
    if (type == IMAGE_DESC_RECORD_TYPE) {
      if (DGifGetImageDesc(g) == GIF_ERROR) gif_fail(name, g->Error);
      break;
    }
    if (type == TERMINATE_RECORD_TYPE) fail(name, ": GIF file has no image");
    if (type == EXTENSION_RECORD_TYPE) {
      int code = 0;
      GifByteType* block = nullptr;
      if (DGifGetExtension(g, &code, &block) == GIF_ERROR) gif_fail(name, g->Error);
      if (code == GRAPHICS_EXT_FUNC_CODE && block != nullptr && block[0] >= 4 && (block[1] & 1) != 0) {
        transparent = block[4];
      }
      while (block != nullptr) {
        if (DGifGetExtensionNext(g, &block) == GIF_ERROR) gif_fail(name, g->Error);
      }
    }
  }

  const GifImageDesc& frame = g->Image;
  if (frame.Left < 0 || frame.Top < 0 || frame.Width < 0 || frame.Height < 0) fail(name, ": corrupt GIF frame descriptor");
  const int64_t width = std::max<int64_t>(g->SWidth, int64_t{frame.Left} + frame.Width);
  const int64_t height = std::max<int64_t>(g->SHeight, int64_t{frame.Top} + frame.Height);
  check_image_size(name, "GIF", width, height, limits);

  Palette pal;
  pal.set_ramp();
  if (const ColorMapObject* map = frame.ColorMap != nullptr ? frame.ColorMap : g->SColorMap; map != nullptr) {
    for (int i = 0; i < std::min(map->ColorCount, 256); ++i) {
      pal.rgb[i][0] = map->Colors[i].Red, pal.rgb[i][1] = map->Colors[i].Green, pal.rgb[i][2] = map->Colors[i].Blue;
    }
  }

  DecodedImage d;
  d.image = RgbImage(static_cast<int>(width), static_cast<int>(height));
  const uint8_t* fill = pal.rgb[transparent >= 0 ? transparent : 0];
  for (size_t i = 0; i < d.image.pixels.size(); i += 3) std::memcpy(&d.image.pixels[i], fill, 3);

  // Interlaced frames deliver rows in four passes: every 8th from 0, every 8th from 4, every 4th
  // from 2, every 2nd from 1.
  static constexpr int kStart[4] = {0, 4, 2, 1}, kStep[4] = {8, 8, 4, 2};
  std::vector<GifPixelType> line(static_cast<size_t>(std::max(frame.Width, 1)));
  const int passes = frame.Width == 0 ? 0 : frame.Interlace ? 4 : 1;
  for (int p = 0; p < passes; ++p) {
    const int start = frame.Interlace ? kStart[p] : 0, step = frame.Interlace ? kStep[p] : 1;
    for (int y = start; y < frame.Height; y += step) {
      if (DGifGetLine(g, line.data(), frame.Width) == GIF_ERROR) gif_fail(name, g->Error);
      uint8_t* dst = d.image.row(frame.Top + y) + static_cast<size_t>(frame.Left) * 3;
      for (int x = 0; x < frame.Width; ++x) std::memcpy(dst + 3 * x, pal.rgb[line[x]], 3);
    }
  }
  return d;
}

}  // namespace smolvlm::detail
