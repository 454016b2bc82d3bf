#version 450
// SmolVLM's pixel shuffle: x [B * side * side, C] -> out [B * (side/s)^2, C * s * s]; output
// token (ib, jb) of a tile gathers the s x s patches (s*ib + ir, s*jb + jr) with feature
// (ir * s + jr) * C + c. Bindings: 0 x, 1 out.
layout(local_size_x = 256) in;
layout(binding = 0, std430) readonly buffer X { float x[]; };
layout(binding = 1, std430) writeonly buffer Out { float o[]; };

layout(push_constant) uniform Params {
  uint n_tiles;
  uint side;  // patches per side
  uint C;
  uint s;     // scale factor
  uint x_off;
} p;

void main() {
  const uint coarse = p.side / p.s, F = p.C * p.s * p.s;
  const uint idx = gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 256 + gl_GlobalInvocationID.x;
  if (idx >= p.n_tiles * coarse * coarse * F) return;
  const uint f = idx % F, t = idx / F;
  const uint b = t / (coarse * coarse), tt = t % (coarse * coarse), ib = tt / coarse, jb = tt % coarse;
  const uint ir = f / (p.s * p.C), jr = (f / p.C) % p.s, c = f % p.C;
  o[idx] = x[p.x_off + (b * p.side * p.side + (p.s * ib + ir) * p.side + p.s * jb + jr) * p.C + c];
}
