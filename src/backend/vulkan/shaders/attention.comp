#version 450
// Attention of query rows against a KV cache (one workgroup per query row and head), GQA by head
// grouping, causal or not: softmax(q k^T * scale) v, streaming over the keys in chunks of the
// workgroup size with an online softmax (running max, rescaled sums), so any context length fits.
// KV_F16: the cache holds fp16. Bindings: 0 q [n_q, q_stride] f32, 1 k, 2 v [n_kv, kv_stride],
// 3 out [n_q, out_stride] f32 (head h at h * head_dim).
// SPLIT (decode deep into a context: a few rows x heads would leave most of a GPU idle): workgroup z
// takes keys [z * split_len, (z + 1) * split_len) and writes its part, unnormalized, to binding 3:
// part [n_q, n_heads, n_splits, head_dim + 2] = (acc[0 .. D), running max, sum of exps);
// attention_combine.comp merges the parts.
#extension GL_EXT_shader_16bit_storage : require

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 64;  // = the workgroup size
#include "reduce.glsl"
layout(binding = 0, std430) readonly buffer Q { float q[]; };
// the keys as 16-byte vectors (8 halves or 4 floats): each invocation reads its key's row in
// wide loads (the host checks that head_dim, kv_stride and k_off are multiples of KV_VEC)
#if defined(KV_F16)
layout(binding = 1, std430) readonly buffer K4 { uvec4 k4[]; };
layout(binding = 2, std430) readonly buffer V { float16_t v[]; };
const uint KV_VEC = 8;
#else
layout(binding = 1, std430) readonly buffer K4 { vec4 k4[]; };
layout(binding = 2, std430) readonly buffer V { float v[]; };
const uint KV_VEC = 4;
#endif
layout(binding = 3, std430) writeonly buffer Out { float o[]; };  // SPLIT: the parts

layout(push_constant) uniform Params {
  uint n_q;
  uint n_kv;
  uint n_heads;
  uint n_kv_heads;
  uint head_dim;    // <= 256
  uint q_stride;    // floats between query rows
  uint kv_stride;   // elements between cache rows
  uint out_stride;  // floats between output rows
  uint q_pos0;      // position of query row 0 (key j sits at position j)
  uint causal;
  float scale;
  uint q_off;    // first float of q
  uint k_off;    // first element of k
  uint v_off;    // first element of v
  uint out_off;  // first float of out
  uint split_len;  // SPLIT: keys per workgroup z
} p;

const uint MAX_D_PER_INVOCATION = 8;
shared float q_sh[256];
shared float p_sh[512];

void main() {
  const uint h = gl_WorkGroupID.x, i = gl_WorkGroupID.y, tid = gl_LocalInvocationID.x, WG = WG_SIZE;
  const uint D = p.head_dim, kvh = h / (p.n_heads / p.n_kv_heads);
#if defined(SPLIT)
  const uint z = gl_WorkGroupID.z, key0 = z * p.split_len;
  const uint n_keys = min(p.causal != 0 ? min(p.n_kv, p.q_pos0 + i + 1) : p.n_kv, key0 + p.split_len);
#else
  const uint key0 = 0, n_keys = p.causal != 0 ? min(p.n_kv, p.q_pos0 + i + 1) : p.n_kv;
#endif
  for (uint d = tid; d < D; d += WG) q_sh[d] = q[p.q_off + i * p.q_stride + h * D + d];
  barrier();

  float m = -1.0 / 0.0, l = 0.0;  // running max; this invocation's share of the running sum
  float acc[MAX_D_PER_INVOCATION];
  for (uint c = 0; c < MAX_D_PER_INVOCATION; ++c) acc[c] = 0.0;
  const uint kv_off = kvh * D;

  for (uint j0 = key0; j0 < n_keys; j0 += WG) {
    const uint j = j0 + tid;
    float s = -1.0 / 0.0;
    if (j < n_keys) {
      float dot_qk = 0.0;
      const uint kb = p.k_off + j * p.kv_stride + kv_off;
      for (uint d = 0; d < D; d += KV_VEC) {
#if defined(KV_F16)
        const uvec4 w = k4[(kb + d) / KV_VEC];
        dot_qk += dot(vec4(q_sh[d], q_sh[d + 1], q_sh[d + 2], q_sh[d + 3]), vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y))) +
                  dot(vec4(q_sh[d + 4], q_sh[d + 5], q_sh[d + 6], q_sh[d + 7]), vec4(unpackHalf2x16(w.z), unpackHalf2x16(w.w)));
#else
        dot_qk += dot(vec4(q_sh[d], q_sh[d + 1], q_sh[d + 2], q_sh[d + 3]), k4[(kb + d) / KV_VEC]);
#endif
      }
      s = dot_qk * p.scale;
    }
    const float m_new = max(m, workgroup_max(s));
    const float alpha = exp(m - m_new);
    const float pj = j < n_keys ? exp(s - m_new) : 0.0;
    l = l * alpha + pj;
    p_sh[tid] = pj;
    barrier();
    const uint n_chunk = min(WG, n_keys - j0);
    for (uint c = 0; c * WG + tid < D; ++c) {
      const uint d = c * WG + tid;
      float a = acc[c] * alpha;
      for (uint t = 0; t < n_chunk; ++t) a += p_sh[t] * float(v[p.v_off + (j0 + t) * p.kv_stride + kv_off + d]);
      acc[c] = a;
    }
    barrier();
    m = m_new;
  }
#if defined(SPLIT)  // (no keys here: max -inf, sum 0, acc 0)
  const float l_sum = workgroup_sum(l);
  const uint part = ((i * p.n_heads + h) * gl_NumWorkGroups.z + z) * (D + 2);
  for (uint c = 0; c * WG + tid < D; ++c) o[part + c * WG + tid] = acc[c];
  if (tid == 0) {
    o[part + D] = m;
    o[part + D + 1] = l_sum;
  }
#else
  const float inv = 1.0 / workgroup_sum(l);
  for (uint c = 0; c * WG + tid < D; ++c) o[p.out_off + i * p.out_stride + h * D + c * WG + tid] = acc[c] * inv;
#endif
}
