#version 450
// Y[t, r] = sum_k W[r, k] X[t, k] for a prefill chunk (more tokens than matvec takes): tiles of
// BM weight rows x BN tokens, BK values of k per step, staged in shared memory (W decoded by
// quant.glsl). USE_FP16 keeps the tiles in fp16 (half the shared memory traffic; sums stay f32).
// 256 invocations (16 x 16), each computing TM x TN outputs strided by 16 (conflict-free shared reads):
//   default   BM = BN = 64,  BK = 32, 4 x 4 outputs each: 8 shared reads per 16 fma
//   TILE_128  BM = BN = 128, BK = 16, 8 x 8 outputs each: 16 shared reads per 64 fma (SMOLVLM_VK_MATMUL_TILE=128)
// Bindings: 0 W (rows bound), 1 X [n_tokens, x_stride] f32, 2 Y [n_tokens, y_stride] f32 (= or +=).
#extension GL_EXT_control_flow_attributes : enable
#include "quant.glsl"
#if defined(USE_FP16)
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define TILE float16_t
#else
#define TILE float
#endif

layout(local_size_x = 256) in;
#if defined(TILE_128)
const uint BM = 128, BN = 128, BK = 16;
#else
const uint BM = 64, BN = 64, BK = 32;
#endif
const uint TM = BM / 16, TN = BN / 16;  // outputs per invocation
const uint LPR = BK / 8;                // loaders per row: each loads 8 k values of one row and one token

layout(binding = 1, std430) readonly buffer X { vec4 x4[]; };
layout(binding = 2, std430) buffer Y { float y[]; };

layout(push_constant) uniform Params {
  uint rows;        // rows of W bound at binding 0
  uint cols;        // K (a multiple of 4; of 32 for quantized weights)
  uint row_blocks;  // blocks per row
  uint x_stride;    // floats between tokens of X
  uint y_stride;    // floats between tokens of Y
  uint y_row0;      // output row of W's first bound row
  uint n_tokens;
  uint x_off;       // first float of X (a multiple of 4)
  uint y_off;       // first float of Y
  uint accumulate;  // 1: Y += the product (a residual add)
} p;

shared TILE As[BK][BM];
shared TILE Bs[BK][BN];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint r0 = gl_WorkGroupID.x * BM, t0 = gl_WorkGroupID.y * BN;
  const uint tm = tid % 16, tn = tid / 16;
  // what this invocation loads: row / token tid / LPR, k values 8 * (tid % LPR) .. + 7 of the step
  // (BM * BK / 8 = BN * BK / 8 = 256 groups of 8: one each)
  const uint ld = tid / LPR, lk = 8 * (tid % LPR);
  const uint a_row = min(r0 + ld, p.rows - 1);
  const bool b_live = t0 + ld < p.n_tokens;

  float acc[TM * TN];
  [[unroll]] for (uint i = 0; i < TM * TN; ++i) acc[i] = 0.0;

  for (uint k0 = 0; k0 < p.cols; k0 += BK) {
    vec4 lo, hi;
    a_group(a_row * p.row_blocks, (k0 + lk) / 8, p.cols, lo, hi);
    [[unroll]] for (uint i = 0; i < 4; ++i) {
      As[lk + i][ld] = TILE(lo[i]);
      As[lk + 4 + i][ld] = TILE(hi[i]);
    }
    vec4 bl = vec4(0), bh = vec4(0);
    if (b_live && k0 + lk < p.cols) {  // (K is a multiple of 4)
      const uint xi = (p.x_off + (t0 + ld) * p.x_stride + k0 + lk) / 4;
      bl = x4[xi];
      if (k0 + lk + 4 < p.cols) bh = x4[xi + 1];
    }
    [[unroll]] for (uint i = 0; i < 4; ++i) {
      Bs[lk + i][ld] = TILE(bl[i]);
      Bs[lk + 4 + i][ld] = TILE(bh[i]);
    }
    barrier();
    [[unroll]] for (uint k = 0; k < BK; ++k) {
      float a[TM], b[TN];
      [[unroll]] for (uint i = 0; i < TM; ++i) a[i] = float(As[k][tm + 16 * i]);
      [[unroll]] for (uint j = 0; j < TN; ++j) b[j] = float(Bs[k][tn + 16 * j]);
      [[unroll]] for (uint j = 0; j < TN; ++j)
        [[unroll]] for (uint i = 0; i < TM; ++i) acc[j * TM + i] = fma(a[i], b[j], acc[j * TM + i]);
    }
    barrier();
  }

  [[unroll]] for (uint j = 0; j < TN; ++j) {
    const uint t = t0 + tn + 16 * j;
    if (t >= p.n_tokens) continue;
    [[unroll]] for (uint i = 0; i < TM; ++i) {
      const uint r = r0 + tm + 16 * i;
      if (r >= p.rows) continue;
      const uint o = p.y_off + t * p.y_stride + p.y_row0 + r;
      y[o] = p.accumulate != 0 ? y[o] + acc[j * TM + i] : acc[j * TM + i];
    }
  }
}
