#version 450
// Attention for many query rows (a prefill chunk, a vision tile): one workgroup per head and block
// of 64 query rows, one row per invocation, its q and output accumulators in registers; the keys
// and values come in chunks of BC rows staged in shared memory (read by every invocation at the
// same address: broadcasts), with an online softmax per row (running max and sum, rescaled
// accumulators) and no barrier inside a chunk. Causal or not, GQA by head grouping.
// attention.comp serves a few rows (decode). KV_F16: the cache holds fp16.
// Bindings: 0 q [n_q, q_stride] f32, 1 k, 2 v [n_kv, kv_stride], 3 out [n_q, out_stride] f32.
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_control_flow_attributes : enable

layout(local_size_x = 64) in;
layout(constant_id = 1) const uint BC = 32;    // keys per chunk (the host fits it to shared memory)
layout(constant_id = 2) const uint DMAX = 64;  // head_dim (the register arrays' size)
const uint BR = 64;  // query rows per workgroup

layout(binding = 0, std430) readonly buffer Q { float q[]; };
#if defined(KV_F16)
layout(binding = 1, std430) readonly buffer K { float16_t k[]; };
layout(binding = 2, std430) readonly buffer V { float16_t v[]; };
#else
layout(binding = 1, std430) readonly buffer K { float k[]; };
layout(binding = 2, std430) readonly buffer V { float v[]; };
#endif
layout(binding = 3, std430) writeonly buffer Out { float o[]; };

layout(push_constant) uniform Params {
  uint n_q;
  uint n_kv;
  uint n_heads;
  uint n_kv_heads;
  uint head_dim;    // = DMAX
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
} p;

#if defined(WIDE)
// WIDE (the default where head_dim is a multiple of 4; SMOLVLM_VK_ATTN_NARROW=1 takes the plain one
// below): q, the accumulators and the staged rows as vec4s (one 16-byte shared read per 4 fma
// instead of one 4-byte read per fma), and the running sums rescaled once per G keys (G scores,
// one max, one exp for the rescale; 16 instead of 64 multiplies per key). 1.37x faster on lavapipe
// at the 256M's vision shape (bench_vulkan); a real GPU is still to measure the two.
const uint D4 = DMAX / 4, G = 4;  // (BC is a multiple of G)
shared vec4 k_sh[BC * D4];
shared vec4 v_sh[BC * D4];

vec4 kv4(uint key, uint col, bool values) {
  const uint at = (values ? p.v_off : p.k_off) + key * p.kv_stride + col;
  return values ? vec4(float(v[at]), float(v[at + 1]), float(v[at + 2]), float(v[at + 3]))
                : vec4(float(k[at]), float(k[at + 1]), float(k[at + 2]), float(k[at + 3]));
}

void main() {
  const uint h = gl_WorkGroupID.x, tid = gl_LocalInvocationID.x, i = gl_WorkGroupID.y * BR + tid;
  const uint kv_col = (h / (p.n_heads / p.n_kv_heads)) * DMAX;
  const bool live = i < p.n_q;
  vec4 qr[D4], acc[D4];
  [[unroll]] for (uint d = 0; d < D4; ++d) {
    const uint at = p.q_off + i * p.q_stride + h * DMAX + 4 * d;
    qr[d] = live ? vec4(q[at], q[at + 1], q[at + 2], q[at + 3]) * p.scale : vec4(0.0);
    acc[d] = vec4(0.0);
  }
  const uint visible = p.causal != 0 ? min(p.n_kv, p.q_pos0 + i + 1) : p.n_kv;
  const uint last = min(gl_WorkGroupID.y * BR + BR, p.n_q) - 1;
  const uint n_keys = p.causal != 0 ? min(p.n_kv, p.q_pos0 + last + 1) : p.n_kv;
  float m = -1.0 / 0.0, l = 0.0;

  for (uint j0 = 0; j0 < n_keys; j0 += BC) {
    barrier();
    for (uint e = tid; e < BC * D4; e += BR) {
      const uint key = j0 + e / D4, col = kv_col + 4 * (e % D4);
      k_sh[e] = key < n_keys ? kv4(key, col, false) : vec4(0.0);
      v_sh[e] = key < n_keys ? kv4(key, col, true) : vec4(0.0);
    }
    barrier();
    // keys past n score -inf and weigh 0; a group's first key is always visible
    const uint n = min(BC, visible > j0 ? visible - j0 : 0);
    for (uint j = 0; j < n; j += G) {
      float s[G];
      float m_new = m;
      [[unroll]] for (uint g = 0; g < G; ++g) {
        vec4 dot4 = vec4(0.0);
        [[unroll]] for (uint d = 0; d < D4; ++d) dot4 = fma(qr[d], k_sh[(j + g) * D4 + d], dot4);
        s[g] = j + g < n ? (dot4.x + dot4.y) + (dot4.z + dot4.w) : -1.0 / 0.0;
        m_new = max(m_new, s[g]);
      }
      const float alpha = exp(m - m_new);
      l *= alpha;
      [[unroll]] for (uint d = 0; d < D4; ++d) acc[d] *= alpha;
      [[unroll]] for (uint g = 0; g < G; ++g) {
        const float pj = exp(s[g] - m_new);
        l += pj;
        [[unroll]] for (uint d = 0; d < D4; ++d) acc[d] = fma(vec4(pj), v_sh[(j + g) * D4 + d], acc[d]);
      }
      m = m_new;
    }
  }
  if (live) {
    const float inv = 1.0 / l;
    [[unroll]] for (uint d = 0; d < D4; ++d)
      [[unroll]] for (uint c = 0; c < 4; ++c) o[p.out_off + i * p.out_stride + h * DMAX + 4 * d + c] = acc[d][c] * inv;
  }
}

#else
shared float k_sh[BC * DMAX];
shared float v_sh[BC * DMAX];

void main() {
  const uint h = gl_WorkGroupID.x, tid = gl_LocalInvocationID.x, i = gl_WorkGroupID.y * BR + tid;
  const uint kv_col = (h / (p.n_heads / p.n_kv_heads)) * DMAX;
  const bool live = i < p.n_q;
  float qr[DMAX], acc[DMAX];
  [[unroll]] for (uint d = 0; d < DMAX; ++d) {
    qr[d] = live ? q[p.q_off + i * p.q_stride + h * DMAX + d] * p.scale : 0.0;
    acc[d] = 0.0;
  }
  // this row sees keys [0, visible); the workgroup loads keys [0, n_keys)
  const uint visible = p.causal != 0 ? min(p.n_kv, p.q_pos0 + i + 1) : p.n_kv;
  const uint last = min(gl_WorkGroupID.y * BR + BR, p.n_q) - 1;
  const uint n_keys = p.causal != 0 ? min(p.n_kv, p.q_pos0 + last + 1) : p.n_kv;
  float m = -1.0 / 0.0, l = 0.0;

  for (uint j0 = 0; j0 < n_keys; j0 += BC) {
    barrier();  // the previous chunk is read by everyone
    for (uint e = tid; e < BC * DMAX; e += BR) {
      const uint j = e / DMAX, d = e % DMAX, key = j0 + j;
      k_sh[e] = key < n_keys ? float(k[p.k_off + key * p.kv_stride + kv_col + d]) : 0.0;
      v_sh[e] = key < n_keys ? float(v[p.v_off + key * p.kv_stride + kv_col + d]) : 0.0;
    }
    barrier();
    const uint n = min(BC, visible > j0 ? visible - j0 : 0);
    for (uint j = 0; j < n; ++j) {
      float s = 0.0;
      [[unroll]] for (uint d = 0; d < DMAX; ++d) s += qr[d] * k_sh[j * DMAX + d];
      const float m_new = max(m, s), alpha = exp(m - m_new), pj = exp(s - m_new);
      l = l * alpha + pj;
      [[unroll]] for (uint d = 0; d < DMAX; ++d) acc[d] = acc[d] * alpha + pj * v_sh[j * DMAX + d];
      m = m_new;
    }
  }
  if (live) {
    const float inv = 1.0 / l;
    [[unroll]] for (uint d = 0; d < DMAX; ++d) o[p.out_off + i * p.out_stride + h * DMAX + d] = acc[d] * inv;
  }
}
#endif
