#include "media/image_processor.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "base/parallel.h"
#include "media/resample.h"

namespace smolvlm {
namespace {

constexpr int kMaxImageSize = 4096;               // transformers' MAX_IMAGE_SIZE cap after step A
constexpr double kRescale = 0.00392156862745098;  // preprocessor_config rescale_factor (1/255 as a double)

void check_config(const ImageProcessorConfig& c) {
  if (c.longest_edge < 1 || c.longest_edge > kMaxImageSize)
    fail("image processor: longest edge ", c.longest_edge, " is outside 1..", kMaxImageSize);
  if (c.tile < 1 || c.tile > kMaxImageSize)
    fail("image processor: tile size ", c.tile, " is outside 1..", kMaxImageSize);
  if (c.max_tiles < 0) fail("image processor: max tiles must not be negative (", c.max_tiles, ")");
}

// The geometry for one step-A edge.
ImagePlan plan_for_edge(int height, int width, int edge, const ImageProcessorConfig& c) {
  ImagePlan p;
  p.input = {height, width};
  p.longest_edge = edge;
  p.step_a = step_a_size(height, width, edge);
  if (!c.split) {
    p.num_frames = 1;
    return p;
  }
  p.step_b = step_b_size(p.step_a.height, p.step_a.width, c.tile);
  if (p.step_b.height > c.tile || p.step_b.width > c.tile) {
    p.rows = p.step_b.height / c.tile;
    p.cols = p.step_b.width / c.tile;
    p.num_frames = p.rows * p.cols + 1;
  } else {
    p.num_frames = 1;
  }
  return p;
}

RgbImage crop(const RgbImage& src, int x0, int y0, int w, int h) {
  RgbImage out(w, h);
  for (int y = 0; y < h; ++y)
    std::copy_n(src.row(y0 + y) + static_cast<size_t>(x0) * 3, static_cast<size_t>(w) * 3, out.row(y));
  return out;
}

}  // namespace

ImageSize step_a_size(int height, int width, int longest_edge) {
  if (height <= 0 || width <= 0 || longest_edge <= 0)
    fail("image processor: invalid step A input ", width, "x", height, " (longest edge ", longest_edge, ")");
  // _resize_output_size_rescale_to_max_len: these exact double operations, in this order.
  const double ar = static_cast<double>(width) / height;
  int h = height, w = width;
  if (width >= height) {
    w = longest_edge;
    h = static_cast<int>(w / ar);
    if (h % 2 != 0) ++h;
  } else {
    h = longest_edge;
    w = static_cast<int>(h * ar);
    if (w % 2 != 0) ++w;
  }
  h = std::max(h, 1);
  w = std::max(w, 1);
  // _resize_output_size_scale_below_upper_bound (never triggers for edges <= 4096)
  const double ar2 = static_cast<double>(w) / h;
  if (w >= h && w > kMaxImageSize) {
    w = kMaxImageSize;
    h = static_cast<int>(w / ar2);
  } else if (h > w && h > kMaxImageSize) {
    h = kMaxImageSize;
    w = static_cast<int>(h * ar2);
  }
  return {std::max(h, 1), std::max(w, 1)};
}

ImageSize step_b_size(int height, int width, int tile) {
  if (height <= 0 || width <= 0 || tile <= 0)
    fail("image processor: invalid step B input ", width, "x", height, " (tile ", tile, ")");
  const double ar = static_cast<double>(width) / height;
  const auto up = [tile](double v) { return static_cast<int>(std::ceil(v / tile)) * tile; };
  if (width >= height) {
    const int w = up(width);
    return {up(static_cast<int>(w / ar)), w};
  }
  const int h = up(height);
  return {h, up(static_cast<int>(h * ar))};
}

ImagePlan plan_image(int height, int width, const ImageProcessorConfig& config) {
  check_config(config);
  if (height <= 0 || width <= 0) fail("image processor: empty image (", width, "x", height, ")");
  if (!config.split || config.max_tiles == 0) return plan_for_edge(height, width, config.longest_edge, config);
  for (int edge = config.longest_edge; edge > config.tile; edge -= config.tile) {
    ImagePlan p = plan_for_edge(height, width, edge, config);
    if (p.rows * p.cols <= config.max_tiles) return p;
  }
  return plan_for_edge(height, width, std::min(config.longest_edge, config.tile), config);
}

ProcessedImage preprocess_image(const RgbImage& image, const ImageProcessorConfig& config, int threads,
                                bool keep_intermediates) {
  ProcessedImage r;
  r.plan = plan_image(image.height, image.width, config);
  r.tile = config.tile;
  const int m = config.tile;
  RgbImage a = resize_lanczos(image, r.plan.step_a.width, r.plan.step_a.height, threads);
  if (!config.split) {
    r.frames.push_back(resize_lanczos(a, m, m, threads));
  } else {
    RgbImage b = resize_lanczos(a, r.plan.step_b.width, r.plan.step_b.height, threads);
    if (r.plan.rows == 0) {
      r.frames.push_back(b);  // step B gave exactly m x m
    } else {
      for (int row = 0; row < r.plan.rows; ++row)
        for (int col = 0; col < r.plan.cols; ++col) r.frames.push_back(crop(b, col * m, row * m, m, m));
      r.frames.push_back(resize_lanczos(b, m, m, threads));
    }
    if (keep_intermediates) r.step_b = std::move(b);
  }
  if (keep_intermediates) r.step_a = std::move(a);
  return r;
}

const std::array<float, 256>& normalize_lut() {
  static const std::array<float, 256> lut = [] {
    std::array<float, 256> t{};
    for (int x = 0; x < 256; ++x) {
      const float v = static_cast<float>(x * kRescale);  // rescale: float64 multiply, then float32
      t[static_cast<size_t>(x)] = (v - 0.5f) / 0.5f;     // normalize in float32
    }
    return t;
  }();
  return lut;
}

void normalize_frame(const RgbImage& frame, float* out_chw) {
  const std::array<float, 256>& lut = normalize_lut();
  const size_t plane = static_cast<size_t>(frame.width) * static_cast<size_t>(frame.height);
  const uint8_t* p = frame.pixels.data();
  for (size_t i = 0; i < plane; ++i, p += 3) {
    out_chw[i] = lut[p[0]];
    out_chw[plane + i] = lut[p[1]];
    out_chw[2 * plane + i] = lut[p[2]];
  }
}

std::vector<float> ProcessedImage::pixel_values(int threads) const {
  const size_t per = static_cast<size_t>(tile) * static_cast<size_t>(tile) * 3;
  for (const RgbImage& f : frames)
    if (f.width != tile || f.height != tile)
      fail("pixel_values: a frame is ", f.width, "x", f.height, ", not ", tile, "x", tile);
  std::vector<float> out(per * frames.size());
  parallel_for(static_cast<int64_t>(frames.size()), threads, [&](int64_t begin, int64_t end) {
    for (int64_t f = begin; f < end; ++f)
      normalize_frame(frames[static_cast<size_t>(f)], out.data() + static_cast<size_t>(f) * per);
  });
  return out;
}

}  // namespace smolvlm
