#version 450
// In-place RoPE in llama.cpp's NORM mode: rotates the adjacent pairs (2i, 2i+1), i < n_rot / 2, of
// every head of every token by its angle; cos and sin come precomputed per token and pair (the
// host computes them in the CPU kernel's float order). Bindings: 0 x [n_tokens, n_heads,
// head_dim] f32, 1 cs [n_tokens, n_rot / 2] (cos, sin).
layout(local_size_x = 64) in;
layout(binding = 0, std430) buffer X { float x[]; };
layout(binding = 1, std430) readonly buffer CS { vec2 cs[]; };

layout(push_constant) uniform Params {
  uint n_tokens;
  uint n_heads;
  uint head_dim;
  uint n_rot;
  uint x_off;  // first float of x
} p;

void main() {
  const uint half_rot = p.n_rot / 2;
  const uint idx = gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x + gl_GlobalInvocationID.x;
  if (idx >= p.n_tokens * p.n_heads * half_rot) return;
  const uint i = idx % half_rot, h = (idx / half_rot) % p.n_heads, t = idx / (half_rot * p.n_heads);
  const vec2 c = cs[t * half_rot + i];
  const uint o = p.x_off + (t * p.n_heads + h) * p.head_dim + 2 * i;
  const float x0 = x[o], x1 = x[o + 1];
  x[o] = x0 * c.x - x1 * c.y;
  x[o + 1] = x0 * c.y + x1 * c.x;
}
