#version 450
// y[r, :] = (x[r, :] - mean) / sqrt(var + eps) * w + b, one workgroup per row (x and y may alias);
// the variance of the centered values (two reductions). Bindings: 0 x [n, dim] f32, 1 w [dim],
// 2 b [dim], 3 y [n, dim] f32.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 64;  // = the workgroup size
#include "reduce.glsl"

layout(binding = 0, std430) readonly buffer X { float x[]; };
layout(binding = 1, std430) readonly buffer W { float w[]; };
layout(binding = 2, std430) readonly buffer B { float b[]; };
layout(binding = 3, std430) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Params {
  uint dim;
  uint n_rows;
  float eps;
  uint x_off;  // first float of x
  uint y_off;  // first float of y
} p;

void main() {
  const uint r = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  if (r >= p.n_rows) return;
  const uint xb = p.x_off + r * p.dim, yb = p.y_off + r * p.dim, tid = gl_LocalInvocationID.x;
  float s = 0.0;
  for (uint i = tid; i < p.dim; i += WG_SIZE) s += x[xb + i];
  const float mean = workgroup_sum(s) / float(p.dim);
  float s2 = 0.0;
  for (uint i = tid; i < p.dim; i += WG_SIZE) s2 += (x[xb + i] - mean) * (x[xb + i] - mean);
  const float inv = inversesqrt(workgroup_sum(s2) / float(p.dim) + p.eps);
  for (uint i = tid; i < p.dim; i += WG_SIZE) y[yb + i] = (x[xb + i] - mean) * inv * w[i] + b[i];
}
