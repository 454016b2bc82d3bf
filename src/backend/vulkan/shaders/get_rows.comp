#version 450
// out[i, :] = row ids[i] of a weight table (an embedding lookup), decoded by quant.glsl. The table
// may be bound in row ranges (rows [row_lo, row_lo + rows) here): ids outside are left alone.
// Bindings: 0 table, 1 ids [n] int32, 2 out [n, out_stride] f32. Grid: x over groups of 8, y ids.
#include "quant.glsl"

layout(local_size_x = 64) in;
layout(binding = 1, std430) readonly buffer Ids { int ids[]; };
layout(binding = 2, std430) writeonly buffer Out { vec4 out4[]; };

layout(push_constant) uniform Params {
  uint cols;        // a multiple of 8
  uint row_blocks;  // blocks per row
  uint row_lo;      // first table row bound
  uint rows;        // table rows bound
  uint out_stride;  // floats between output rows (a multiple of 4)
  uint out_off;     // first float of out (a multiple of 4)
} p;

void main() {
  const uint g = gl_GlobalInvocationID.x, i = gl_WorkGroupID.y;
  const int id = ids[i];
  if (g >= p.cols / 8 || id < int(p.row_lo) || id >= int(p.row_lo + p.rows)) return;
  vec4 lo, hi;
  a_group(uint(id - int(p.row_lo)) * p.row_blocks, g, p.cols, lo, hi);
  const uint o = (p.out_off + i * p.out_stride + 8 * g) / 4;
  out4[o] = lo;
  out4[o + 1] = hi;
}
