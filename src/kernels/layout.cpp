// The pixel shuffle as block copies: for a fixed output token and row offset ir, the s patches
// jr = 0..s-1 are adjacent in x (same patch row, consecutive columns), so their s*C floats are one
// contiguous run that lands contiguously at feature (ir*s)*C of the output row.
#include "kernels/layout.h"

#include <algorithm>
#include <cstring>

#include "base/error.h"

namespace smolvlm::kernels {

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

void conv_patches(const float* tiles, int64_t n_tiles, int64_t S, int64_t P, float* out, ThreadPool& pool) {
  if (P <= 0 || S < P) fail("conv_patches: ", S, "-pixel tiles cannot hold ", P, "-pixel patches");
  const int64_t n = S / P, K = 3 * P * P, rows = n_tiles * n;  // rows of patches
  const int64_t parts = std::min<int64_t>(4 * pool.size(), rows);
  pool.run(parts, [&](int64_t part, int) {
    for (int64_t br = rows * part / parts; br < rows * (part + 1) / parts; ++br) {
      const int64_t b = br / n, r = br % n;
      const float* tile = tiles + b * 3 * S * S;
      for (int64_t col = 0; col < n; ++col) {
        float* dst = out + ((b * n * n) + r * n + col) * K;
        for (int64_t ch = 0; ch < 3; ++ch)
          for (int64_t ky = 0; ky < P; ++ky)
            std::memcpy(dst + (ch * P + ky) * P, tile + (ch * S + r * P + ky) * S + col * P,
                        static_cast<size_t>(P) * sizeof(float));
      }
    }
  });
}

}  // namespace smolvlm::kernels
