#version 450
// RoPE in llama.cpp's NORM mode: rotates the adjacent pairs (2i, 2i+1), i < n_rot / 2, of every head
// of every token by its angle; cos and sin come precomputed per token and pair (the host computes
// them in the CPU kernel's float order). In place; or, with DST_F16 / DST_F32, every pair of the
// rows written rotated (or copied, past n_rot) to dst in its type: keys on their way into a cache.
// Bindings: 0 x [n_tokens, n_heads, head_dim] f32, 1 cs [n_tokens, n_rot / 2] (cos, sin), 2 dst.
#extension GL_EXT_shader_16bit_storage : require
layout(local_size_x = 64) in;
layout(binding = 1, std430) readonly buffer CS { vec2 cs[]; };
#if defined(DST_F16) || defined(DST_F32)
layout(binding = 0, std430) readonly buffer X { float x[]; };
#else
layout(binding = 0, std430) buffer X { float x[]; };
#endif
#if defined(DST_F16)
layout(binding = 2, std430) writeonly buffer Dst { float16_t dst[]; };
#define STORE(o, v) dst[p.dst_off + (o)] = float16_t(v)
#elif defined(DST_F32)
layout(binding = 2, std430) writeonly buffer Dst { float dst[]; };
#define STORE(o, v) dst[p.dst_off + (o)] = (v)
#endif

layout(push_constant) uniform Params {
  uint n_tokens;
  uint n_heads;
  uint head_dim;
  uint n_rot;
  uint x_off;    // first float of x
  uint dst_off;  // first element of dst
} p;

void main() {
#if defined(STORE)
  const uint half_n = p.head_dim / 2;  // every pair goes to dst
#else
  const uint half_n = p.n_rot / 2;  // only the rotated pairs change
#endif
  const uint idx = gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x + gl_GlobalInvocationID.x;
  if (idx >= p.n_tokens * p.n_heads * half_n) return;
  const uint i = idx % half_n, h = (idx / half_n) % p.n_heads, t = idx / (half_n * p.n_heads);
  const uint e = (t * p.n_heads + h) * p.head_dim + 2 * i, o = p.x_off + e;
  float x0 = x[o], x1 = x[o + 1];
  if (2 * i < p.n_rot) {
    const vec2 c = cs[t * (p.n_rot / 2) + i];
    const float r0 = x0 * c.x - x1 * c.y, r1 = x0 * c.y + x1 * c.x;
    x0 = r0;
    x1 = r1;
  }
#if defined(STORE)
  STORE(e, x0);
  STORE(e + 1, x1);
#else
  x[o] = x0;
  x[o + 1] = x1;
#endif
}
