#version 450
// The patches of a convolution with stride = kernel size P (im2col): tiles [B, 3, S, S] (channel,
// row, column) -> out [B * n * n, 3 * P * P], patch (r, c) of tile b at row b*n*n + r*n + c,
// flattened (channel, row, column); pixels past n * P belong to no patch. Bindings: 0 tiles, 1 out.
layout(local_size_x = 256) in;
layout(binding = 0, std430) readonly buffer Tiles { float tiles[]; };
layout(binding = 1, std430) writeonly buffer Out { float o[]; };

layout(push_constant) uniform Params {
  uint n_tiles;
  uint S;   // tile side in pixels
  uint P;   // patch side
  uint n;   // patches per side
  uint out_off;
} p;

void main() {
  const uint K = 3 * p.P * p.P;
  const uint idx = gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 256 + gl_GlobalInvocationID.x;
  if (idx >= p.n_tiles * p.n * p.n * K) return;
  const uint k = idx % K, pi = idx / K;
  const uint b = pi / (p.n * p.n), rc = pi % (p.n * p.n), r = rc / p.n, c = rc % p.n;
  const uint ch = k / (p.P * p.P), ky = (k / p.P) % p.P, kx = k % p.P;
  o[p.out_off + idx] = tiles[((b * 3 + ch) * p.S + r * p.P + ky) * p.S + c * p.P + kx];
}
