// The pixel shuffle as block copies: for a fixed output token and row offset ir, the s patches
// jr = 0..s-1 are adjacent in x (same patch row, consecutive columns), so their s*C floats are one
// contiguous run that lands contiguously at feature (ir*s)*C of the output row.
#include "model/vision/connector.h"

#include <cstring>

#include "base/error.h"

namespace smolvlm {

void pixel_shuffle(const float* x, int64_t n_tiles, int64_t side, int64_t C, int64_t s, float* out) {
  if (s <= 0 || side <= 0 || side % s != 0) fail("pixel_shuffle: a ", side, "x", side, " grid is not divisible by ", s);
  const int64_t coarse = side / s, run = s * C;
  const size_t run_bytes = static_cast<size_t>(run) * sizeof(float);
  for (int64_t b = 0; b < n_tiles; ++b) {
    const float* xb = x + b * side * side * C;
    for (int64_t ib = 0; ib < coarse; ++ib) {
      for (int64_t jb = 0; jb < coarse; ++jb, out += s * run) {
        for (int64_t ir = 0; ir < s; ++ir) {
          std::memcpy(out + ir * run, xb + ((s * ib + ir) * side + s * jb) * C, run_bytes);
        }
      }
    }
  }
}

}  // namespace smolvlm
