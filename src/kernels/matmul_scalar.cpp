// Scalar reference kernels: every supported weight type, on ggml's rows in place, with the numerics
// of ggml's CPU backend (AVX-512 build): F32/F16 weights dot the (rounded) activations in its
// lanes and order (tinyBLAS for a batch, vec_dot for one token); quantized weights take exact
// integer sums per lane, scaled and summed in f32 as its vec_dot does. Every SIMD kernel gives the
// same bits. BF16 sums its exact products in double (the SIMD kernels, vdpbf16ps included, form
// the same products and differ only in the order and precision of the sum).
#include <cmath>
#include <vector>

#include "base/fp16.h"
#include "kernels/ggml_float.h"
#include "kernels/matmul_blocks.h"
#include "kernels/matmul_impl.h"

namespace smolvlm::kernels::mm {
namespace {

// F32 / F16 weights in ggml's order: a batch as tinyBLAS (16 lanes along k, one fma per element,
// then tree16); one token, or rows that are not whole 16-element steps, as ggml_vec_dot_f32/f16
// (64 lanes over whole 64-element steps, (a0 + a2) + (a1 + a3) over the four 16-lane groups, then
// tree16; the rest one by one: a double sum for fp16, fused in float for f32).
template <typename Load>
float ggml_float_dot(const uint8_t* row, const float* x, int64_t cols, bool batch, bool f16, Load load) {
  if (batch && cols % 16 == 0) {
    float lanes[16] = {};
    for (int64_t k = 0; k < cols; ++k) lanes[k % 16] = std::fma(load(row, k), x[k], lanes[k % 16]);
    return ggml::tree16(lanes);
  }
  const int64_t k64 = cols / 64 * 64;
  float lanes[64] = {}, l16[16];
  for (int64_t k = 0; k < k64; ++k) lanes[k % 64] = std::fma(load(row, k), x[k], lanes[k % 64]);
  for (int l = 0; l < 16; ++l) l16[l] = (lanes[l] + lanes[32 + l]) + (lanes[16 + l] + lanes[48 + l]);
  float sum = ggml::tree16(l16);
  if (f16) {
    double s = sum;
    for (int64_t k = k64; k < cols; ++k) s += double(load(row, k) * x[k]);
    return float(s);
  }
  for (int64_t k = k64; k < cols; ++k) sum = std::fma(load(row, k), x[k], sum);
  return sum;
}

// ggml_order: F32/F16 (above); else (BF16) the exact products summed in double.
template <typename Load>
void float_tile(const PackedData& w, const Acts& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1, float* y,
                int64_t ldy, size_t elem, bool ggml_order, bool f16, Load load) {
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = w.data + size_t(r) * size_t(w.cols) * elem;
    for (int64_t t = t0; t < t1; ++t) {
      const float* x = a.f + t * a.f_stride;
      if (ggml_order) {
        y[t * ldy + r] = ggml_float_dot(row, x, w.cols, a.n_tokens > 1, f16, load);
        continue;
      }
      double sum = 0;
      for (int64_t k = 0; k < w.cols; ++k) sum += double(load(row, k)) * double(x[k]);
      y[t * ldy + r] = float(sum);
    }
  }
}

void tile_f32(const PackedData& w, const Acts& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1, float* y,
              int64_t ldy) {
  float_tile(w, a, r0, r1, t0, t1, y, ldy, 4, true, false, [](const uint8_t* row, int64_t k) {
    return reinterpret_cast<const float*>(row)[k];
  });
}
void tile_f16(const PackedData& w, const Acts& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1, float* y,
              int64_t ldy) {
  float_tile(w, a, r0, r1, t0, t1, y, ldy, 2, true, true, [](const uint8_t* row, int64_t k) {
    return fp16_to_fp32(reinterpret_cast<const uint16_t*>(row)[k]);
  });
}
void tile_bf16(const PackedData& w, const Acts& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1, float* y,
               int64_t ldy) {
  float_tile(w, a, r0, r1, t0, t1, y, ldy, 2, false, false, [](const uint8_t* row, int64_t k) {
    return bf16_to_fp32(reinterpret_cast<const uint16_t*>(row)[k]);
  });
}

// Sum of (code - offset) * q over n elements.
int idot(const uint8_t* c, const int8_t* q, int n, int offset) {
  int s = 0;
  for (int i = 0; i < n; ++i) s += (int(c[i]) - offset) * int(q[i]);
  return s;
}

// ggml's x86 dot products keep eight f32 lanes: lane j (0..7) of a block takes the integer sum of
// the elements 4j..4j+3 of every 32 (K-quants: with each 32's scale; Q6_K: each 16's scale, less
// its share of the code offset), scaled by the block's d and added with one fma per block. The
// lanes are then reduced as hsum_float_8 does (ggml::hsum8).
//
// ggml's vec_dot of one decoded weight row with activation row t, in its AVX2 operation order
// (the order of the golden build; every one of our ISAs gives these bits).
float dot_row(const QuantLayout& L, const DecodedBlock* blk, int64_t nb, const Acts& a, int64_t t) {
  const int8_t* q = a.q + t * a.q_stride;
  const float* d = a.d + t * a.d_stride;
  const int16_t* bsums = a.bsums ? a.bsums + t * a.sums_stride : nullptr;
  float acc[8] = {}, acc_m[4] = {}, summs = 0;
  for (int64_t b = 0; b < nb; ++b, q += L.block) {
    const DecodedBlock& B = blk[b];
    int lane[8] = {};
    switch (L.scales) {
      case ScaleKind::kBlock: {
        const float dd = B.d * d[b];
        for (int j = 0; j < 8; ++j) acc[j] = std::fma(dd, float(idot(B.code + 4 * j, q + 4 * j, 4, L.offset)), acc[j]);
        if (L.has_min) summs = std::fma(B.m, a.s[t * a.d_stride + b], summs);
        continue;
      }
      case ScaleKind::kK32Min: {
        const int16_t* bs = bsums + 16 * b;
        for (int u = 0; u < 8; ++u)
          for (int j = 0; j < 8; ++j) lane[j] += B.sc[u] * idot(B.code + 32 * u + 4 * j, q + 32 * u + 4 * j, 4, 0);
        const float dmin = -d[b] * B.m;
        int mins[4];
        for (int k = 0; k < 4; ++k)
          mins[k] = B.mn[2 * k] * (bs[4 * k] + bs[4 * k + 1]) + B.mn[2 * k + 1] * (bs[4 * k + 2] + bs[4 * k + 3]);
        if (L.bits == 4) {  // Q4_K: four f32 lanes of min products
          for (int k = 0; k < 4; ++k) acc_m[k] = std::fma(dmin, float(mins[k]), acc_m[k]);
        } else {  // Q5_K: one f32 sum of the block's integer min product
          summs = std::fma(dmin, float(mins[0] + mins[1] + mins[2] + mins[3]), summs);
        }
        break;
      }
      case ScaleKind::kK16: {
        const int16_t* bs = bsums + 16 * b;
        for (int c = 0; c < 8; ++c)
          for (int j = 0; j < 8; ++j) lane[j] += B.sc[2 * c + j / 4] * idot(B.code + 32 * c + 4 * j, q + 32 * c + 4 * j, 4, 0);
        for (int j = 0; j < 8; ++j) lane[j] -= L.offset * (bs[2 * j] * B.sc[2 * j] + bs[2 * j + 1] * B.sc[2 * j + 1]);
        break;
      }
    }
    const float dd = d[b] * B.d;
    for (int j = 0; j < 8; ++j) acc[j] = std::fma(dd, float(lane[j]), acc[j]);
  }
  return ggml::hsum8(acc) + ((acc_m[0] + acc_m[2]) + (acc_m[1] + acc_m[3])) + summs;
}

template <GgmlType T>
void tile_quant(const PackedData& w, const Acts& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1, float* y,
                int64_t ldy) {
  const QuantLayout& L = *quant_layout(T);
  const int64_t nb = w.cols / L.block;
  const size_t row_bytes = ggml_row_size(T, w.cols);
  const size_t block_bytes = ggml_type_info(T).type_size;
  thread_local std::vector<DecodedBlock> blocks;
  blocks.resize(size_t(nb));
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = w.data + size_t(r) * row_bytes;
    for (int64_t b = 0; b < nb; ++b) decode_block(T, row + size_t(b) * block_bytes, blocks[size_t(b)]);
    for (int64_t t = t0; t < t1; ++t) y[t * ldy + r] = dot_row(L, blocks.data(), nb, a, t);
  }
}

constexpr Kernel kF32{.isa = Isa::kScalar, .tile = tile_f32};
constexpr Kernel kF16{.isa = Isa::kScalar, .tile = tile_f16};
constexpr Kernel kBF16{.isa = Isa::kScalar, .tile = tile_bf16};
constexpr Kernel kQ4_0{.isa = Isa::kScalar, .tile = tile_quant<GgmlType::Q4_0>};
constexpr Kernel kQ4_1{.isa = Isa::kScalar, .tile = tile_quant<GgmlType::Q4_1>};
constexpr Kernel kQ5_0{.isa = Isa::kScalar, .tile = tile_quant<GgmlType::Q5_0>};
constexpr Kernel kQ5_1{.isa = Isa::kScalar, .tile = tile_quant<GgmlType::Q5_1>};
constexpr Kernel kQ8_0{.isa = Isa::kScalar, .tile = tile_quant<GgmlType::Q8_0>};
constexpr Kernel kQ4_K{.isa = Isa::kScalar, .tile = tile_quant<GgmlType::Q4_K>};
constexpr Kernel kQ5_K{.isa = Isa::kScalar, .tile = tile_quant<GgmlType::Q5_K>};
constexpr Kernel kQ6_K{.isa = Isa::kScalar, .tile = tile_quant<GgmlType::Q6_K>};

}  // namespace

const Kernel* scalar_kernel(GgmlType t) {
  switch (t) {
    case GgmlType::F32: return &kF32;
    case GgmlType::F16: return &kF16;
    case GgmlType::BF16: return &kBF16;
    case GgmlType::Q4_0: return &kQ4_0;
    case GgmlType::Q4_1: return &kQ4_1;
    case GgmlType::Q5_0: return &kQ5_0;
    case GgmlType::Q5_1: return &kQ5_1;
    case GgmlType::Q8_0: return &kQ8_0;
    case GgmlType::Q4_K: return &kQ4_K;
    case GgmlType::Q5_K: return &kQ5_K;
    case GgmlType::Q6_K: return &kQ6_K;
    default: return nullptr;
  }
}

}  // namespace smolvlm::kernels::mm
