#version 450
// y[c, r] = sum_k W[r, k] x[c, k] for a few activation columns c (a decode step, or the decode steps
// of up to 8 sequences: each weight is read once for all of them). One workgroup computes
// NUM_ROWS rows; its threads stride over the row in groups of 8 weights, then reduce.
// Bindings: 0 W (quant.glsl), 1 x [n_cols, x_stride] f32, 2 y [n_cols, y_stride] f32 (= or +=).
#extension GL_EXT_control_flow_attributes : enable
#include "quant.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 64;  // = the workgroup size
#include "reduce.glsl"
layout(constant_id = 1) const uint NUM_ROWS = 1;
layout(constant_id = 2) const uint NUM_COLS = 1;

layout(binding = 1, std430) readonly buffer X { vec4 x4[]; };
layout(binding = 2, std430) buffer Y { float y[]; };

layout(push_constant) uniform Params {
  uint rows;        // rows of W bound at binding 0
  uint cols;        // K (a multiple of 4; of 32 for quantized weights)
  uint row_blocks;  // blocks per row (cols / QK)
  uint x_stride;    // floats between activation columns
  uint y_stride;    // floats between output columns
  uint y_row0;      // output row of W's first bound row (row-range binding)
  uint n_cols;      // activation columns (<= NUM_COLS)
  uint x_off;       // first float of x (a multiple of 4)
  uint y_off;       // first float of y
  uint accumulate;  // 1: y += the product (a residual add)
} p;

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint row0 = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * NUM_ROWS;
  if (row0 >= p.rows) return;  // uniform across the workgroup
  float acc[NUM_ROWS * NUM_COLS];
  [[unroll]] for (uint i = 0; i < NUM_ROWS * NUM_COLS; ++i) acc[i] = 0.0;

  const uint groups = (p.cols + 7) / 8;  // (F32/F16/BF16 rows may end in the middle of the last)
  for (uint g = tid; g < groups; g += WG_SIZE) {
    vec4 xl[NUM_COLS], xh[NUM_COLS];
    [[unroll]] for (uint c = 0; c < NUM_COLS; ++c) {
      if (c < p.n_cols) {
        xl[c] = x4[(p.x_off + c * p.x_stride + 8 * g) / 4];
        xh[c] = 8 * g + 4 < p.cols ? x4[(p.x_off + c * p.x_stride + 8 * g) / 4 + 1] : vec4(0);
      } else {
        xl[c] = vec4(0);
        xh[c] = vec4(0);
      }
    }
    [[unroll]] for (uint r = 0; r < NUM_ROWS; ++r) {
      const uint row = min(row0 + r, p.rows - 1);
      vec4 wl, wh;
      a_group(row * p.row_blocks, g, p.cols, wl, wh);
      [[unroll]] for (uint c = 0; c < NUM_COLS; ++c) acc[r * NUM_COLS + c] += dot(wl, xl[c]) + dot(wh, xh[c]);
    }
  }

  [[unroll]] for (uint i = 0; i < NUM_ROWS * NUM_COLS; ++i) {
    const float s = workgroup_sum(acc[i]);
    const uint r = i / NUM_COLS, c = i % NUM_COLS;
    if (tid == 0 && row0 + r < p.rows && c < p.n_cols) {
      const uint o = p.y_off + c * p.y_stride + p.y_row0 + row0 + r;
      y[o] = p.accumulate != 0 ? y[o] + s : s;
    }
  }
}
