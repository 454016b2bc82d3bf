#version 450
// Element-wise ops on n floats, chosen at build time: OP_ADD y += x; OP_SILU_MUL y = silu(y) * x
// (y the gate, x the up projection); OP_ADD_ROWS y[r, :] += x[r % period, :] (a bias, a position
// table); OP_GELU y = gelu_tanh(y) (x unused). Bindings: 0 y (read-write), 1 x.
layout(local_size_x = 256) in;
layout(binding = 0, std430) buffer Y { float y[]; };
layout(binding = 1, std430) readonly buffer X { float x[]; };

layout(push_constant) uniform Params {
  uint n;
  uint y_off;  // first float of y
  uint x_off;  // first float of x
  uint cols;    // OP_ADD_ROWS: the row width
  uint period;  // OP_ADD_ROWS: rows of x
} p;

void main() {
  const uint i = gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x + gl_GlobalInvocationID.x;
  if (i >= p.n) return;
#if defined(OP_ADD)
  y[p.y_off + i] += x[p.x_off + i];
#elif defined(OP_SILU_MUL)
  const float g = y[p.y_off + i];
  y[p.y_off + i] = g / (1.0 + exp(-g)) * x[p.x_off + i];
#elif defined(OP_ADD_ROWS)
  const uint row = i / p.cols, col = i % p.cols;
  y[p.y_off + i] += x[p.x_off + (row % p.period) * p.cols + col];
#elif defined(OP_GELU)
  // transformers' gelu_pytorch_tanh; tanh's argument clamped (tanh(10) is 1 in f32) so that no
  // implementation's exp-based tanh overflows
  const float v = y[p.y_off + i];
  const float a = clamp(0.7978845608028654 * (v + 0.044715 * v * v * v), -10.0, 10.0);
  y[p.y_off + i] = 0.5 * v * (1.0 + tanh(a));
#else
#error "define OP_ADD, OP_SILU_MUL, OP_ADD_ROWS or OP_GELU"
#endif
}
