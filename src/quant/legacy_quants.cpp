// The 32-weight block types Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1: ggml's reference quantizers
// (quantize_row_*_ref) and dequantizers, in ggml's float operation order.
//
// Q4/Q5 blocks: [d fp16] [m fp16, "_1" types only] [qh u32, 5-bit types only] [qs 16 bytes].
// Weight j < 16 sits in the low nibble of qs[j], weight j + 16 in its high nibble; the fifth bit
// of weight j is bit j of qh.
#include <algorithm>
#include <cfloat>

#include "quant/block_codec.h"

namespace smolvlm::quant_impl {
namespace {

constexpr int QK = 32;

// 32 codes (0 .. 2^bits - 1) -> qh (5-bit only) and qs at p.
void pack_codes(const int* c, int bits, uint8_t* p) {
  if (bits == 5) {
    uint32_t qh = 0;
    for (int j = 0; j < QK; ++j) qh |= uint32_t((c[j] >> 4) & 1) << j;
    store<uint32_t>(p, qh);
    p += 4;
  }
  for (int j = 0; j < QK / 2; ++j) p[j] = uint8_t((c[j] & 0x0F) | ((c[j + QK / 2] & 0x0F) << 4));
}

void unpack_codes(const uint8_t* p, int bits, int* c) {
  uint32_t qh = 0;
  if (bits == 5) {
    qh = load<uint32_t>(p);
    p += 4;
  }
  for (int j = 0; j < QK / 2; ++j) {
    c[j] = (p[j] & 0x0F) | int((qh >> j) & 1) << 4;
    c[j + QK / 2] = (p[j] >> 4) | int((qh >> (j + QK / 2)) & 1) << 4;
  }
}

// Q4_0 / Q5_0: d = max / -2^(bits-1) with max the signed value of largest magnitude, so that max
// itself maps to code 0; code = min(2^bits - 1, (int8_t)(x / d + 2^(bits-1) + 0.5)).
void quantize_symmetric(const float* x, uint8_t* y, int64_t nb, int bits) {
  const int offset = 1 << (bits - 1);
  const int max_code = (1 << bits) - 1;
  const size_t block_bytes = 2 + (bits == 5 ? 4 : 0) + QK / 2;
  for (int64_t i = 0; i < nb; ++i, x += QK, y += block_bytes) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < QK; ++j) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / float(-offset);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    store_f16(y, d);
    const float bias = float(offset) + 0.5f;
    int codes[QK];
    for (int j = 0; j < QK; ++j) codes[j] = std::min(max_code, int(int8_t(trunc_to_int(x[j] * id + bias))));
    pack_codes(codes, bits, y + 2);
  }
}

// Q4_1 / Q5_1: d = (max - min) / (2^bits - 1), code = (x - min) / d + 0.5 truncated.
void quantize_affine(const float* x, uint8_t* y, int64_t nb, int bits) {
  const int max_code = (1 << bits) - 1;
  const size_t block_bytes = 4 + (bits == 5 ? 4 : 0) + QK / 2;
  for (int64_t i = 0; i < nb; ++i, x += QK, y += block_bytes) {
    float min = FLT_MAX, max = -FLT_MAX;
    for (int j = 0; j < QK; ++j) {
      if (x[j] < min) min = x[j];
      if (x[j] > max) max = x[j];
    }
    const float d = (max - min) / float(max_code);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    store_f16(y, d);
    store_f16(y + 2, min);
    int codes[QK];
    // (x - min) * id + 0.5 lies in [0, 2^bits - 0.5] for finite blocks; ggml casts to an 8-bit
    // integer (clamping the 4-bit case), which the min/low-byte below reproduces.
    for (int j = 0; j < QK; ++j) {
      codes[j] = std::min(max_code, int(uint8_t(trunc_to_int((x[j] - min) * id + 0.5f))));
    }
    pack_codes(codes, bits, y + 4);
  }
}

void dequantize_symmetric(const uint8_t* x, float* y, int64_t nb, int bits) {
  const int offset = 1 << (bits - 1);
  const size_t block_bytes = 2 + (bits == 5 ? 4 : 0) + QK / 2;
  for (int64_t i = 0; i < nb; ++i, x += block_bytes, y += QK) {
    const float d = load_f16(x);
    int codes[QK];
    unpack_codes(x + 2, bits, codes);
    for (int j = 0; j < QK; ++j) y[j] = float(codes[j] - offset) * d;
  }
}

void dequantize_affine(const uint8_t* x, float* y, int64_t nb, int bits) {
  const size_t block_bytes = 4 + (bits == 5 ? 4 : 0) + QK / 2;
  for (int64_t i = 0; i < nb; ++i, x += block_bytes, y += QK) {
    const float d = load_f16(x);
    const float m = load_f16(x + 2);
    int codes[QK];
    unpack_codes(x + 4, bits, codes);
    for (int j = 0; j < QK; ++j) y[j] = float(codes[j]) * d + m;
  }
}

// Q8_0 / Q8_1: d = amax / 127 (fp32 for the codes, stored as fp16); q = roundf(x / d), ties away
// from zero. Q8_1 also stores s = fp16(sum(q) * d) for the dot kernels' min term.
void quantize_q8(const float* x, uint8_t* y, int64_t nb, bool with_sum) {
  const size_t header = with_sum ? 4 : 2;
  for (int64_t i = 0; i < nb; ++i, x += QK, y += header + QK) {
    float amax = 0.0f;
    for (int j = 0; j < QK; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    store_f16(y, d);
    int sum = 0;
    for (int j = 0; j < QK; ++j) {
      const int8_t q = int8_t(trunc_to_int(std::round(x[j] * id)));
      y[header + j] = uint8_t(q);
      sum += q;
    }
    if (with_sum) store_f16(y + 2, float(sum) * d);
  }
}

void dequantize_q8(const uint8_t* x, float* y, int64_t nb, bool with_sum) {
  const size_t header = with_sum ? 4 : 2;
  for (int64_t i = 0; i < nb; ++i, x += header + QK, y += QK) {
    const float d = load_f16(x);
    for (int j = 0; j < QK; ++j) y[j] = float(int8_t(x[header + j])) * d;
  }
}

}  // namespace

void quantize_q4_0(const float* x, uint8_t* y, int64_t nb) { quantize_symmetric(x, y, nb, 4); }
void quantize_q5_0(const float* x, uint8_t* y, int64_t nb) { quantize_symmetric(x, y, nb, 5); }
void quantize_q4_1(const float* x, uint8_t* y, int64_t nb) { quantize_affine(x, y, nb, 4); }
void quantize_q5_1(const float* x, uint8_t* y, int64_t nb) { quantize_affine(x, y, nb, 5); }
void quantize_q8_0(const float* x, uint8_t* y, int64_t nb) { quantize_q8(x, y, nb, false); }
void quantize_q8_1(const float* x, uint8_t* y, int64_t nb) { quantize_q8(x, y, nb, true); }

void dequantize_q4_0(const uint8_t* x, float* y, int64_t nb) { dequantize_symmetric(x, y, nb, 4); }
void dequantize_q5_0(const uint8_t* x, float* y, int64_t nb) { dequantize_symmetric(x, y, nb, 5); }
void dequantize_q4_1(const uint8_t* x, float* y, int64_t nb) { dequantize_affine(x, y, nb, 4); }
void dequantize_q5_1(const uint8_t* x, float* y, int64_t nb) { dequantize_affine(x, y, nb, 5); }
void dequantize_q8_0(const uint8_t* x, float* y, int64_t nb) { dequantize_q8(x, y, nb, false); }
void dequantize_q8_1(const uint8_t* x, float* y, int64_t nb) { dequantize_q8(x, y, nb, true); }

}  // namespace smolvlm::quant_impl
