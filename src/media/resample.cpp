#include "media/resample.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "base/error.h"
#include "base/parallel.h"

namespace smolvlm {
namespace {

constexpr int kPrecisionBits = 22;  // Pillow: 32 - 8 - 2
constexpr int32_t kHalf = 1 << (kPrecisionBits - 1);
constexpr int64_t kMaxPixels = int64_t{1} << 30;  // an output this large is a caller bug
constexpr int64_t kRowChunk = 8;                  // rows per parallel work item

double sinc(double x) {
  if (x == 0.0) return 1.0;
  x = x * std::numbers::pi;
  return std::sin(x) / x;
}

double lanczos3(double x) { return (-3.0 <= x && x < 3.0) ? sinc(x) * sinc(x / 3) : 0.0; }

uint8_t clip8(int32_t acc) {
  const int32_t v = acc >> kPrecisionBits;  // arithmetic shift (C++20)
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

// Horizontal pass: input rows [y0, y0 + out.height) of `src` into `out` (width k.out_size).
void resample_rows(const RgbImage& src, int y0, const LanczosKernel& k, RgbImage& out, int threads) {
  parallel_for(
      out.height, threads,
      [&](int64_t begin, int64_t end) {
        for (int64_t y = begin; y < end; ++y) {
          const uint8_t* in = src.row(static_cast<int>(y) + y0);
          uint8_t* o = out.row(static_cast<int>(y));
          for (int xx = 0; xx < k.out_size; ++xx) {
            const int32_t* w = k.row(xx);
            const uint8_t* s = in + static_cast<size_t>(k.xmin[xx]) * 3;
            int32_t a0 = kHalf, a1 = kHalf, a2 = kHalf;
            for (int t = 0; t < k.taps[xx]; ++t, s += 3) {
              a0 += s[0] * w[t];
              a1 += s[1] * w[t];
              a2 += s[2] * w[t];
            }
            o[3 * xx + 0] = clip8(a0);
            o[3 * xx + 1] = clip8(a1);
            o[3 * xx + 2] = clip8(a2);
          }
        }
      },
      kRowChunk);
}

// Vertical pass: every output row is a weighted sum of whole input rows (vectorizes over x).
void resample_columns(const RgbImage& src, const LanczosKernel& k, RgbImage& out, int threads) {
  const size_t n = static_cast<size_t>(src.width) * 3;
  parallel_for(
      out.height, threads,
      [&](int64_t begin, int64_t end) {
        std::vector<int32_t> acc(n);
        for (int64_t yy = begin; yy < end; ++yy) {
          std::fill(acc.begin(), acc.end(), kHalf);
          const int32_t* w = k.row(static_cast<int>(yy));
          for (int t = 0; t < k.taps[yy]; ++t) {
            const uint8_t* s = src.row(k.xmin[yy] + t);
            const int32_t wt = w[t];
            for (size_t i = 0; i < n; ++i) acc[i] += s[i] * wt;
          }
          uint8_t* o = out.row(static_cast<int>(yy));
          for (size_t i = 0; i < n; ++i) o[i] = clip8(acc[i]);
        }
      },
      kRowChunk);
}

}  // namespace

LanczosKernel lanczos_kernel(int in_size, int out_size) {
  if (in_size <= 0 || out_size <= 0)
    fail("lanczos_kernel: sizes must be positive (in ", in_size, ", out ", out_size, ")");
  LanczosKernel k;
  k.in_size = in_size;
  k.out_size = out_size;
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = 3.0 * filterscale;
  const double ss = 1.0 / filterscale;  // Pillow multiplies by the reciprocal; dividing can differ in the last bit
  k.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  k.xmin.resize(static_cast<size_t>(out_size));
  k.taps.resize(static_cast<size_t>(out_size));
  k.weights.assign(static_cast<size_t>(out_size) * static_cast<size_t>(k.ksize), 0);
  std::vector<double> w(static_cast<size_t>(k.ksize));
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const int xmin = std::max(0, static_cast<int>(center - support + 0.5));
    const int xmax = std::min(in_size, static_cast<int>(center + support + 0.5));
    const int taps = std::max(0, xmax - xmin);
    double sum = 0.0;
    for (int t = 0; t < taps; ++t) {
      w[static_cast<size_t>(t)] = lanczos3((t + xmin - center + 0.5) * ss);
      sum += w[static_cast<size_t>(t)];
    }
    int32_t* q = k.weights.data() + static_cast<size_t>(xx) * k.ksize;
    for (int t = 0; t < taps; ++t) {
      const double v =
          (sum != 0.0 ? w[static_cast<size_t>(t)] / sum : w[static_cast<size_t>(t)]) * (1 << kPrecisionBits);
      q[t] = static_cast<int32_t>(v < 0 ? v - 0.5 : v + 0.5);  // truncation toward zero after +-0.5
    }
    k.xmin[static_cast<size_t>(xx)] = xmin;
    k.taps[static_cast<size_t>(xx)] = taps;
  }
  return k;
}

RgbImage resize_lanczos(const RgbImage& src, int out_w, int out_h, int threads) {
  if (src.empty() || src.pixels.size() != static_cast<size_t>(src.width) * static_cast<size_t>(src.height) * 3)
    fail("resize_lanczos: invalid source image ", src.width, "x", src.height);
  if (out_w <= 0 || out_h <= 0 || static_cast<int64_t>(out_w) * out_h > kMaxPixels)
    fail("resize_lanczos: invalid output size ", out_w, "x", out_h);
  if (out_w == src.width && out_h == src.height) return src;

  const bool horizontal = out_w != src.width;
  const bool vertical = out_h != src.height;
  if (!vertical) {
    RgbImage out(out_w, out_h);
    resample_rows(src, 0, lanczos_kernel(src.width, out_w), out, threads);
    return out;
  }
  LanczosKernel kv = lanczos_kernel(src.height, out_h);
  if (!horizontal) {
    RgbImage out(out_w, out_h);
    resample_columns(src, kv, out, threads);
    return out;
  }
  // Like Pillow, the horizontal pass only produces the input rows the vertical pass reads.
  const int first = kv.xmin.front();
  const int last = kv.xmin.back() + kv.taps.back();
  for (int32_t& m : kv.xmin) m -= first;
  RgbImage tmp(out_w, last - first);
  resample_rows(src, first, lanczos_kernel(src.width, out_w), tmp, threads);
  RgbImage out(out_w, out_h);
  resample_columns(tmp, kv, out, threads);
  return out;
}

}  // namespace smolvlm
