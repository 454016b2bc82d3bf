#version 450
// y[c, r] = sum_k W[r, k] x[c, k] for a few activation columns c (a decode step, or the decode steps
// of up to 8 sequences: each weight is read once for all of them). One workgroup computes
// NUM_ROWS rows; its threads stride over the row in groups of 8 weights, then reduce.
// Bindings: 0 W (quant.glsl), 1 x [n_cols, x_stride] f32, 2 y [n_cols, y_stride] f32 (= or +=).
// Fused variants take the op before the product into the same pass over x (one dispatch and one
// barrier level fewer per use in a decode step), with binding 3 aux:
//   FUSE_NORM: x -> rms_norm(x) * w, aux the norm weight w [cols]; each workgroup sums x^2 of its
//              columns while it reads them, and scales its dot products by 1/sqrt(mean + eps);
//   FUSE_GLU:  x (the gate) -> silu(x) * up, aux the up projection [n_cols, x_stride].
// FUSE_ROPE (with FUSE_NORM; NUM_ROWS = 2, so a workgroup holds the pair (2i, 2i+1) of a head) also
// takes what follows: EPILOGUE bit 0 rotates each pair by cos/sin from binding 4 (RoPE NORM, as
// rope_norm.comp), bit 1 stores fp16 (y16): q rotated in place, keys and values into the cache.
#extension GL_EXT_control_flow_attributes : enable
#include "quant.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 64;  // = the workgroup size
#define REDUCE_VEC4
#include "reduce.glsl"
layout(constant_id = 1) const uint NUM_ROWS = 1;
layout(constant_id = 2) const uint NUM_COLS = 1;
// this invocation's partial sums: acc[r * NUM_COLS + c] of row r, column c; with FUSE_NORM then
// sum x^2 of each column (acc[NUM_ROWS * NUM_COLS + c]); reduced over the workgroup four at a time
#if defined(FUSE_NORM)
const uint N_PARTS = NUM_ROWS * NUM_COLS + NUM_COLS;
#else
const uint N_PARTS = NUM_ROWS * NUM_COLS;
#endif

layout(binding = 1, std430) readonly buffer X { vec4 x4[]; };
layout(binding = 2, std430) buffer Y { float y[]; };
#if defined(FUSE_NORM) || defined(FUSE_GLU)
layout(binding = 3, std430) readonly buffer Aux { vec4 aux4[]; };
#endif
#if defined(FUSE_ROPE)
layout(constant_id = 3) const uint EPILOGUE = 0;
layout(binding = 2, std430) writeonly buffer Y16 { float16_t y16[]; };
layout(binding = 4, std430) readonly buffer CS { vec2 cs[]; };  // [n_cols, n_rot / 2] (cos, sin)
#endif

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
  uint aux_off;     // FUSE_*: first float of aux (a multiple of 4)
  float eps;        // FUSE_NORM
#if defined(FUSE_ROPE)
  uint head_dim;
  uint n_rot;
#endif
} p;

#if defined(FUSE_NORM)
// rms_norm's scale of a column whose x^2 sum is ss
float rms_scale(float ss) { return inversesqrt(ss / float(p.cols) + p.eps); }
#endif

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint row0 = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * NUM_ROWS;
  if (row0 >= p.rows) return;  // uniform across the workgroup
  float acc[N_PARTS];
  [[unroll]] for (uint i = 0; i < N_PARTS; ++i) acc[i] = 0.0;

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
#if defined(FUSE_NORM)
    const vec4 nl = aux4[(p.aux_off + 8 * g) / 4], nh = 8 * g + 4 < p.cols ? aux4[(p.aux_off + 8 * g) / 4 + 1] : vec4(0);
    [[unroll]] for (uint c = 0; c < NUM_COLS; ++c) {
      acc[NUM_ROWS * NUM_COLS + c] += dot(xl[c], xl[c]) + dot(xh[c], xh[c]);
      xl[c] *= nl;
      xh[c] *= nh;
    }
#elif defined(FUSE_GLU)
    [[unroll]] for (uint c = 0; c < NUM_COLS; ++c) {
      if (c < p.n_cols) {
        const uint u = (p.aux_off + c * p.x_stride + 8 * g) / 4;
        xl[c] = xl[c] / (1.0 + exp(-xl[c])) * aux4[u];
        xh[c] = 8 * g + 4 < p.cols ? xh[c] / (1.0 + exp(-xh[c])) * aux4[u + 1] : vec4(0);
      }
    }
#endif
    [[unroll]] for (uint r = 0; r < NUM_ROWS; ++r) {
      const uint row = min(row0 + r, p.rows - 1);
      vec4 wl, wh;
      a_group(row * p.row_blocks, g, p.cols, wl, wh);
      [[unroll]] for (uint c = 0; c < NUM_COLS; ++c) acc[r * NUM_COLS + c] += dot(wl, xl[c]) + dot(wh, xh[c]);
    }
  }

  [[unroll]] for (uint i = 0; i < N_PARTS; i += 4) {
    const uint i1 = min(i + 1, N_PARTS - 1), i2 = min(i + 2, N_PARTS - 1), i3 = min(i + 3, N_PARTS - 1);
    const vec4 v = workgroup_sum4(vec4(acc[i], i + 1 < N_PARTS ? acc[i1] : 0.0, i + 2 < N_PARTS ? acc[i2] : 0.0,
                                       i + 3 < N_PARTS ? acc[i3] : 0.0));
    acc[i] = v.x;
    if (i + 1 < N_PARTS) acc[i1] = v.y;
    if (i + 2 < N_PARTS) acc[i2] = v.z;
    if (i + 3 < N_PARTS) acc[i3] = v.w;
  }
#if defined(FUSE_ROPE)
  if (tid == 0) {
    const uint d = (p.y_row0 + row0) % p.head_dim;  // rows d, d + 1 of a head
    [[unroll]] for (uint c = 0; c < NUM_COLS; ++c) {
      if (c >= p.n_cols) continue;
      const float scale = rms_scale(acc[NUM_ROWS * NUM_COLS + c]);
      float v0 = acc[c] * scale, v1 = acc[NUM_COLS + c] * scale;
      if ((EPILOGUE & 1u) != 0 && d < p.n_rot) {
        const vec2 t = cs[c * (p.n_rot / 2) + d / 2];
        const float r0 = v0 * t.x - v1 * t.y, r1 = v0 * t.y + v1 * t.x;
        v0 = r0;
        v1 = r1;
      }
      const uint o = p.y_off + c * p.y_stride + p.y_row0 + row0;
      if ((EPILOGUE & 2u) != 0) {
        y16[o] = float16_t(v0);
        if (row0 + 1 < p.rows) y16[o + 1] = float16_t(v1);
      } else {
        y[o] = v0;
        if (row0 + 1 < p.rows) y[o + 1] = v1;
      }
    }
  }
#else
  if (tid == 0) {
    [[unroll]] for (uint i = 0; i < NUM_ROWS * NUM_COLS; ++i) {
      const uint r = i / NUM_COLS, c = i % NUM_COLS;
#if defined(FUSE_NORM)
      const float s = acc[i] * rms_scale(acc[NUM_ROWS * NUM_COLS + c]);
#else
      const float s = acc[i];
#endif
      if (row0 + r < p.rows && c < p.n_cols) {
        const uint o = p.y_off + c * p.y_stride + p.y_row0 + row0 + r;
        y[o] = p.accumulate != 0 ? y[o] + s : s;
      }
    }
  }
#endif
}
