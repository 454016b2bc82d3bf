#version 450
// Y[t, r] = sum_k W[r, k] X[t, k] for a prefill chunk (more tokens than matvec takes): tiles of
// BM weight rows x BN tokens, BK values of k per step, staged in shared memory (W decoded by
// quant.glsl). USE_FP16 keeps the tiles in fp16 (half the shared memory traffic; sums stay f32).
// 256 invocations (16 x 16), each computing TM x TN outputs strided by 16 (conflict-free shared reads):
//   default   BM = BN = 64,  BK = 32, 4 x 4 outputs each: 8 shared reads per 16 fma
//   TILE_128  BM = BN = 128, BK = 16, 8 x 8 outputs each: 16 shared reads per 64 fma (SMOLVLM_VK_MATMUL_TILE=128)
//   COOPMAT   BM = BN = 128, BK = 32 in fp16, multiplied by the tensor cores (GL_NV_cooperative_matrix,
//             16 x 16 x 16 fp16 -> f32): 8 subgroups of 32, each 64 tokens x 32 rows (4 x 2 matrices);
//             rows of the tiles padded by 8 halves (a fragment's 16-byte rows on distinct banks)
// Bindings: 0 W (rows bound), 1 X [n_tokens, x_stride] f32, 2 Y [n_tokens, y_stride] f32 (= or +=).
#extension GL_EXT_control_flow_attributes : enable
#include "quant.glsl"
#if defined(COOPMAT)
#define USE_FP16
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#endif
#if defined(USE_FP16)
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define TILE float16_t
#else
#define TILE float
#endif

layout(local_size_x = 256) in;
#if defined(COOPMAT)
const uint BM = 128, BN = 128, BK = 32, PAD = 8;
#elif defined(TILE_128)
const uint BM = 128, BN = 128, BK = 16, PAD = 0;
#else
const uint BM = 64, BN = 64, BK = 32, PAD = 0;
#endif
const uint TM = BM / 16, TN = BN / 16;  // outputs per invocation (shader-core tiles)
const uint LPR = BK / 8;                // loaders per row: each loads 8 k values of one row and one token
const uint LOADS = BM * BK / 8 / 256;   // groups of 8 values each invocation loads per step (BM = BN)
const uint AS = BM + PAD, BS = BN + PAD;  // shared row strides

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

shared TILE As[BK * AS];  // [k][row]
shared TILE Bs[BK * BS];  // [k][token]

void store_y(uint t, uint r, float v) {
  if (t >= p.n_tokens || r >= p.rows) return;
  const uint o = p.y_off + t * p.y_stride + p.y_row0 + r;
  y[o] = p.accumulate != 0 ? y[o] + v : v;
}

// Stages k values k0 .. k0 + BK - 1 of the tile's rows and tokens (rows past the end repeat the
// last row, tokens past the end read 0: neither is stored).
void load_tiles(uint tid, uint r0, uint t0, uint k0) {
  [[unroll]] for (uint l = 0; l < LOADS; ++l) {
    const uint g = tid + 256 * l, ld = g / LPR, lk = 8 * (g % LPR);
    vec4 lo, hi;
    a_group(min(r0 + ld, p.rows - 1) * p.row_blocks, (k0 + lk) / 8, p.cols, lo, hi);
    [[unroll]] for (uint i = 0; i < 4; ++i) {
      As[(lk + i) * AS + ld] = TILE(lo[i]);
      As[(lk + 4 + i) * AS + ld] = TILE(hi[i]);
    }
    vec4 bl = vec4(0), bh = vec4(0);
    if (t0 + ld < p.n_tokens && k0 + lk < p.cols) {  // (K is a multiple of 4)
      const uint xi = (p.x_off + (t0 + ld) * p.x_stride + k0 + lk) / 4;
      bl = x4[xi];
      if (k0 + lk + 4 < p.cols) bh = x4[xi + 1];
    }
    [[unroll]] for (uint i = 0; i < 4; ++i) {
      Bs[(lk + i) * BS + ld] = TILE(bl[i]);
      Bs[(lk + 4 + i) * BS + ld] = TILE(bh[i]);
    }
  }
}

#if defined(COOPMAT)
shared float Cs[8 * 256];  // one 16 x 16 result per subgroup on its way to Y

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint r0 = gl_WorkGroupID.x * BM, t0 = gl_WorkGroupID.y * BN;
  const uint sg = gl_SubgroupID, st = 64 * (sg / 4), sr = 32 * (sg % 4);  // this subgroup's tokens, rows
  fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc[8];  // [token block i][row block j] at 2 i + j
  [[unroll]] for (uint f = 0; f < 8; ++f) acc[f] = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);

  for (uint k0 = 0; k0 < p.cols; k0 += BK) {
    load_tiles(tid, r0, t0, k0);
    barrier();
    [[unroll]] for (uint kk = 0; kk < BK; kk += 16) {
      fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> xa[4], wb[2];  // X [16 tokens, 16 k], W^T [16 k, 16 rows]
      [[unroll]] for (uint i = 0; i < 4; ++i) coopMatLoadNV(xa[i], Bs, kk * BS + st + 16 * i, BS, true);
      [[unroll]] for (uint j = 0; j < 2; ++j) coopMatLoadNV(wb[j], As, kk * AS + sr + 16 * j, AS, false);
      [[unroll]] for (uint i = 0; i < 4; ++i)
        [[unroll]] for (uint j = 0; j < 2; ++j) acc[2 * i + j] = coopMatMulAddNV(xa[i], wb[j], acc[2 * i + j]);
    }
    barrier();
  }

  [[unroll]] for (uint f = 0; f < 8; ++f) {
    coopMatStoreNV(acc[f], Cs, 256 * sg, 16, false);  // [token][row]
    subgroupMemoryBarrierShared();
    subgroupBarrier();
    for (uint e = gl_SubgroupInvocationID; e < 256; e += gl_SubgroupSize)
      store_y(t0 + st + 16 * (f / 2) + e / 16, r0 + sr + 16 * (f % 2) + e % 16, Cs[256 * sg + e]);
    subgroupBarrier();
  }
}

#else
void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint r0 = gl_WorkGroupID.x * BM, t0 = gl_WorkGroupID.y * BN;
  const uint tm = tid % 16, tn = tid / 16;

  float acc[TM * TN];
  [[unroll]] for (uint i = 0; i < TM * TN; ++i) acc[i] = 0.0;

  for (uint k0 = 0; k0 < p.cols; k0 += BK) {
    load_tiles(tid, r0, t0, k0);
    barrier();
    [[unroll]] for (uint k = 0; k < BK; ++k) {
      float a[TM], b[TN];
      [[unroll]] for (uint i = 0; i < TM; ++i) a[i] = float(As[k * AS + tm + 16 * i]);
      [[unroll]] for (uint j = 0; j < TN; ++j) b[j] = float(Bs[k * BS + tn + 16 * j]);
      [[unroll]] for (uint j = 0; j < TN; ++j)
        [[unroll]] for (uint i = 0; i < TM; ++i) acc[j * TM + i] = fma(a[i], b[j], acc[j * TM + i]);
    }
    barrier();
  }

  [[unroll]] for (uint j = 0; j < TN; ++j)
    [[unroll]] for (uint i = 0; i < TM; ++i) store_y(t0 + tn + 16 * j, r0 + tm + 16 * i, acc[j * TM + i]);
}
#endif
