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
