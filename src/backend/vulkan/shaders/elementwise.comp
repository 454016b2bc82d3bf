#version 450
// Element-wise ops on n floats, chosen at build time: OP_ADD y += x; OP_SILU_MUL y = silu(y) * x
// (y the gate, x the up projection). Bindings: 0 y (read-write), 1 x.
layout(local_size_x = 256) in;
layout(binding = 0, std430) buffer Y { float y[]; };
layout(binding = 1, std430) readonly buffer X { float x[]; };

layout(push_constant) uniform Params {
  uint n;
  uint y_off;  // first float of y
  uint x_off;  // first float of x
} p;

void main() {
  const uint i = gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x + gl_GlobalInvocationID.x;
  if (i >= p.n) return;
#if defined(OP_ADD)
  y[p.y_off + i] += x[p.x_off + i];
#elif defined(OP_SILU_MUL)
  const float g = y[p.y_off + i];
  y[p.y_off + i] = g / (1.0 + exp(-g)) * x[p.x_off + i];
#else
#error "define OP_ADD or OP_SILU_MUL"
#endif
}
