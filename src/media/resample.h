// Pillow-exact LANCZOS resizing of 8-bit RGB images (Pillow's src/libImaging/Resample.c semantics,
// which is what transformers' PIL image processor uses): separable, horizontal pass first, then
// vertical; per-axis kernels in 22-bit fixed point; each channel filtered independently.
//
// Per axis (in = input length, out = output length), all in double:
//   scale = in / out, filterscale = max(scale, 1), support = 3 * filterscale, ss = 1 / filterscale
//   center(xx) = (xx + 0.5) * scale
//   xmin = max(0, int(center - support + 0.5)), taps = min(in, int(center + support + 0.5)) - xmin
//   w[t] = lanczos((t + xmin - center + 0.5) * ss), lanczos(x) = sinc(x) * sinc(x / 3) on [-3, 3)
//   w[t] /= sum(w) (sequential sum), q[t] = round-half-away(w[t] * 2^22)
//   out = clamp((2^21 + sum_t in[xmin + t] * q[t]) >> 22, 0, 255)   (int32 accumulator)
// A pass whose axis does not change is skipped; an unchanged size returns an exact copy.
#pragma once

#include <cstdint>
#include <vector>

#include "media/image.h"

namespace smolvlm {

// The fixed-point LANCZOS kernel of one axis (Pillow's precompute_coeffs + normalize_coeffs_8bpc).
struct LanczosKernel {
  int in_size = 0;
  int out_size = 0;
  int ksize = 0;                 // coefficient stride per output: 2 * ceil(support) + 1
  std::vector<int32_t> xmin;     // first input sample of each output
  std::vector<int32_t> taps;     // number of input samples of each output
  std::vector<int32_t> weights;  // [out_size * ksize] Q22 weights; zero beyond taps

  const int32_t* row(int out_index) const { return weights.data() + static_cast<size_t>(out_index) * ksize; }
};

// Throws smolvlm::Error for non-positive sizes.
LanczosKernel lanczos_kernel(int in_size, int out_size);

// Resizes `src` to out_w x out_h. `threads` <= 0 means all hardware threads; the result does not
// depend on it. Throws smolvlm::Error for an empty image or non-positive output size.
RgbImage resize_lanczos(const RgbImage& src, int out_w, int out_h, int threads = 1);

}  // namespace smolvlm
