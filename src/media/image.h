// An 8-bit RGB image, interleaved, row-major: what every decoder produces and what SmolVLM's image
// processor consumes (transformers' load_image: EXIF orientation applied, convert("RGB")).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace smolvlm {

struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  // [height, width, 3]

  RgbImage() = default;
  RgbImage(int w, int h) : width(w), height(h), pixels(static_cast<size_t>(w) * static_cast<size_t>(h) * 3) {}
  uint8_t* row(int y) { return pixels.data() + static_cast<size_t>(y) * static_cast<size_t>(width) * 3; }
  const uint8_t* row(int y) const { return pixels.data() + static_cast<size_t>(y) * static_cast<size_t>(width) * 3; }
  bool empty() const { return width == 0 || height == 0; }
};

}  // namespace smolvlm
