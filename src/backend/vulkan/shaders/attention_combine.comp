#version 450
// Merges the parts of a split attention (attention.comp SPLIT): for each query row i, head h and
// element d, out = sum_z acc_z[d] e^(m_z - M) / sum_z l_z e^(m_z - M), M = max_z m_z (a part
// without keys has m_z = -inf and weighs 0). Bindings: 0 part [n_q, n_heads, n_splits, D + 2] f32,
// 1 out [n_q, out_stride] f32.
layout(local_size_x = 64) in;
layout(binding = 0, std430) readonly buffer Part { float part[]; };
layout(binding = 1, std430) writeonly buffer Out { float o[]; };

layout(push_constant) uniform Params {
  uint n_q;
  uint n_heads;
  uint head_dim;
  uint n_splits;
  uint out_stride;  // floats between output rows
  uint out_off;     // first float of out
} p;

void main() {
  const uint idx = gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x + gl_GlobalInvocationID.x;
  const uint D = p.head_dim;
  if (idx >= p.n_q * p.n_heads * D) return;
  const uint d = idx % D, h = (idx / D) % p.n_heads, i = idx / (D * p.n_heads);
  const uint base = (i * p.n_heads + h) * p.n_splits * (D + 2);
  float M = -1.0 / 0.0;
  for (uint z = 0; z < p.n_splits; ++z) M = max(M, part[base + z * (D + 2) + D]);
  float num = 0.0, den = 0.0;
  for (uint z = 0; z < p.n_splits; ++z) {
    const uint b = base + z * (D + 2);
    const float w = exp(part[b + D] - M);
    num += part[b + d] * w;
    den += part[b + D + 1] * w;
  }
  o[p.out_off + i * p.out_stride + h * D + d] = num / den;
}
