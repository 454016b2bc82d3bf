// SmolVLM's connector, step one: the pixel shuffle (space-to-depth) of transformers'
// Idefics3Connector / SmolVLMConnector (reference/smolvlm2-spec.md §4.1). Step two, the bias-free
// modality projection, is a plain matmul (VisionModel runs it).
#pragma once

#include <cstdint>

namespace smolvlm {

// x: [n_tiles, side*side, C] (patches row-major over the side x side grid) ->
// out: [n_tiles, (side/s)^2, C*s*s] with
//   out[b, ib*(side/s) + jb, (ir*s + jr)*C + c] = x[b, (s*ib + ir)*side + (s*jb + jr), c]
// for ib, jb < side/s and ir, jr < s: output tokens are the coarse grid row-major, each one the
// s x s block of patch vectors, row offset ir outer, column offset jr inner. side % s must be 0.
void pixel_shuffle(const float* x, int64_t n_tiles, int64_t side, int64_t C, int64_t s, float* out);

}  // namespace smolvlm
