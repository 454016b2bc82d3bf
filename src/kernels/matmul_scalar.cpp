// Scalar reference kernels: every supported weight type, on ggml's rows in place. The numerics are
// ggml's CPU type traits: float weights dot the (rounded) activations with products summed (here
// in double); quantized weights take exact integer block sums, scaled and summed in f32. (For
// F16/BF16 the activations arrive rounded to fp16/bf16, so every product w * x is exact in f32 as
// in double: the SIMD kernels, vdpbf16ps included, form the very same products and differ from
// this reference only in the order and precision of the sum.)
#include <vector>

#include "base/fp16.h"
#include "kernels/matmul_blocks.h"
#include "kernels/matmul_impl.h"

namespace smolvlm::kernels::mm {
namespace {

template <typename Load>
void float_tile(const PackedData& w, const Acts& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1, float* y,
                int64_t ldy, size_t elem, Load load) {
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = w.data + size_t(r) * size_t(w.cols) * elem;
    for (int64_t t = t0; t < t1; ++t) {
      const float* x = a.f + t * a.f_stride;
      double sum = 0;
      for (int64_t k = 0; k < w.cols; ++k) sum += double(load(row, k)) * double(x[k]);
      y[t * ldy + r] = float(sum);
    }
  }
}

void tile_f32(const PackedData& w, const Acts& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1, float* y,
              int64_t ldy) {
  float_tile(w, a, r0, r1, t0, t1, y, ldy, 4, [](const uint8_t* row, int64_t k) {
    return reinterpret_cast<const float*>(row)[k];
  });
}
void tile_f16(const PackedData& w, const Acts& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1, float* y,
              int64_t ldy) {
  float_tile(w, a, r0, r1, t0, t1, y, ldy, 2, [](const uint8_t* row, int64_t k) {
    return fp16_to_fp32(reinterpret_cast<const uint16_t*>(row)[k]);
  });
}
void tile_bf16(const PackedData& w, const Acts& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1, float* y,
               int64_t ldy) {
  float_tile(w, a, r0, r1, t0, t1, y, ldy, 2, [](const uint8_t* row, int64_t k) {
    return bf16_to_fp32(reinterpret_cast<const uint16_t*>(row)[k]);
  });
}

// Sum of (code - offset) * q over n elements.
int idot(const uint8_t* c, const int8_t* q, int n, int offset) {
  int s = 0;
  for (int i = 0; i < n; ++i) s += (int(c[i]) - offset) * int(q[i]);
  return s;
}

// ggml's vec_dot of one decoded weight row with activation row t.
float dot_row(const QuantLayout& L, const DecodedBlock* blk, int64_t nb, const Acts& a, int64_t t) {
  const int8_t* q = a.q + t * a.q_stride;
  const float* d = a.d + t * a.d_stride;
  const int16_t* bsums = a.bsums ? a.bsums + t * a.sums_stride : nullptr;
  float sumf = 0;
  for (int64_t b = 0; b < nb; ++b, q += L.block) {
    const DecodedBlock& B = blk[b];
    switch (L.scales) {
      case ScaleKind::kBlock: {
        const int isum = idot(B.code, q, 32, L.offset);
        sumf += (B.d * d[b]) * float(isum);
        if (L.has_min) sumf += B.m * a.s[t * a.d_stride + b];
        break;
      }
      case ScaleKind::kK32Min: {
        int isc = 0, imin = 0;
        for (int u = 0; u < 8; ++u) {
          isc += B.sc[u] * idot(B.code + 32 * u, q + 32 * u, 32, 0);
          imin += B.mn[u] * (bsums[16 * b + 2 * u] + bsums[16 * b + 2 * u + 1]);
        }
        sumf += B.d * d[b] * float(isc) - B.m * d[b] * float(imin);
        break;
      }
      case ScaleKind::kK16: {
        int isc = 0;
        for (int h = 0; h < 16; ++h) isc += B.sc[h] * idot(B.code + 16 * h, q + 16 * h, 16, L.offset);
        sumf += B.d * d[b] * float(isc);
        break;
      }
    }
  }
  return sumf;
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
