// Data rearrangements of the vision path (no arithmetic): the patches of a stride-P convolution
// (im2col, so that the convolution is a matmul) and the pixel shuffle (space-to-depth) of
// transformers' Idefics3Connector / SmolVLMConnector (reference/smolvlm2-spec.md §4.1).
#pragma once

#include <cstdint>

#include "kernels/thread_pool.h"

namespace smolvlm::kernels {

// x: [n_tiles, side*side, C] (patches row-major over the side x side grid) ->
// out: [n_tiles, (side/s)^2, C*s*s] with
//   out[b, ib*(side/s) + jb, (ir*s + jr)*C + c] = x[b, (s*ib + ir)*side + (s*jb + jr), c]
// for ib, jb < side/s and ir, jr < s: output tokens are the coarse grid row-major, each one the
// s x s block of patch vectors, row offset ir outer, column offset jr inner. side % s must be 0.
void pixel_shuffle(const float* x, int64_t n_tiles, int64_t side, int64_t C, int64_t s, float* out);

// tiles: [n_tiles, 3, S, S] (channel, row, column) -> out: [n_tiles * n * n, 3 * P * P] with n = S / P
// (rounded down: pixels past n * P belong to no patch, as in Conv2d), patch (r, c) of tile b at row
// b*n*n + r*n + c, flattened (channel, row, column). Rows of patches split over the pool.
void conv_patches(const float* tiles, int64_t n_tiles, int64_t S, int64_t P, float* out, ThreadPool& pool);

}  // namespace smolvlm::kernels
