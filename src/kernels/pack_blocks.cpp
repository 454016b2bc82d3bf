// Decoding of ggml quantized blocks into codes and scale fields (see matmul_blocks.h).
#include <cstring>

#include "base/fp16.h"
#include "kernels/matmul_blocks.h"

namespace smolvlm::kernels::mm {
namespace {

float f16_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return fp16_to_fp32(h);
}

// Legacy 4/5-bit: byte i holds element i (low nibble) and i + 16 (high nibble); bit j of qh is
// the fifth bit of element j.
void decode_nibbles32(const uint8_t* qs, const uint8_t* qh, uint8_t* c) {
  uint32_t h = 0;
  if (qh) std::memcpy(&h, qh, 4);
  for (int i = 0; i < 16; ++i) {
    c[i] = uint8_t((qs[i] & 0x0F) | (((h >> i) & 1) << 4));
    c[i + 16] = uint8_t((qs[i] >> 4) | (((h >> (i + 16)) & 1) << 4));
  }
}

// Q4_K/Q5_K: 12 bytes packing eight 6-bit (scale, min) pairs (ggml's get_scale_min_k4).
void decode_scale_min_k4(const uint8_t* s, int* sc, int* mn) {
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      sc[j] = s[j] & 63;
      mn[j] = s[j + 4] & 63;
    } else {
      sc[j] = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
      mn[j] = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
  }
}

// Q4_K/Q5_K codes: chunk j of 64 elements = 32 bytes; low nibbles are elements 64j + l, high
// nibbles 64j + 32 + l; Q5_K's qh[l] bit 2j / 2j+1 is their fifth bit.
void decode_k4(const uint8_t* qs, const uint8_t* qh, uint8_t* c) {
  for (int j = 0; j < 4; ++j) {
    for (int l = 0; l < 32; ++l) {
      const uint8_t b = qs[32 * j + l];
      const int h0 = qh ? (qh[l] >> (2 * j)) & 1 : 0;
      const int h1 = qh ? (qh[l] >> (2 * j + 1)) & 1 : 0;
      c[64 * j + l] = uint8_t((b & 0x0F) | (h0 << 4));
      c[64 * j + 32 + l] = uint8_t((b >> 4) | (h1 << 4));
    }
  }
}

// Q6_K codes: two halves of 128; ql holds the low nibbles, qh two bits per element.
void decode_q6k(const uint8_t* ql, const uint8_t* qh, uint8_t* c) {
  for (int n = 0; n < 2; ++n, ql += 64, qh += 32, c += 128) {
    for (int l = 0; l < 32; ++l) {
      c[l] = uint8_t((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4));
      c[l + 32] = uint8_t((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4));
      c[l + 64] = uint8_t((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
      c[l + 96] = uint8_t((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
    }
  }
}

constexpr QuantLayout kQ4_0{32, 4, 8, false, ScaleKind::kBlock};
constexpr QuantLayout kQ4_1{32, 4, 0, true, ScaleKind::kBlock};
constexpr QuantLayout kQ5_0{32, 5, 16, false, ScaleKind::kBlock};
constexpr QuantLayout kQ5_1{32, 5, 0, true, ScaleKind::kBlock};
constexpr QuantLayout kQ8_0{32, 8, 128, false, ScaleKind::kBlock};
constexpr QuantLayout kQ4_K{256, 4, 0, true, ScaleKind::kK32Min};
constexpr QuantLayout kQ5_K{256, 5, 0, true, ScaleKind::kK32Min};
constexpr QuantLayout kQ6_K{256, 6, 32, false, ScaleKind::kK16};

}  // namespace

const QuantLayout* quant_layout(GgmlType t) {
  switch (t) {
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

void decode_block(GgmlType t, const uint8_t* b, DecodedBlock& o) {
  switch (t) {
    case GgmlType::Q4_0:  // d, qs[16]
      o.d = f16_at(b);
      decode_nibbles32(b + 2, nullptr, o.code);
      break;
    case GgmlType::Q4_1:  // d, m, qs[16]
      o.d = f16_at(b);
      o.m = f16_at(b + 2);
      decode_nibbles32(b + 4, nullptr, o.code);
      break;
    case GgmlType::Q5_0:  // d, qh[4], qs[16]
      o.d = f16_at(b);
      decode_nibbles32(b + 6, b + 2, o.code);
      break;
    case GgmlType::Q5_1:  // d, m, qh[4], qs[16]
      o.d = f16_at(b);
      o.m = f16_at(b + 2);
      decode_nibbles32(b + 8, b + 4, o.code);
      break;
    case GgmlType::Q8_0:  // d, qs[32] int8
      o.d = f16_at(b);
      for (int i = 0; i < 32; ++i) o.code[i] = uint8_t(b[2 + i] ^ 0x80);
      break;
    case GgmlType::Q4_K:  // d, dmin, scales[12], qs[128]
      o.d = f16_at(b);
      o.m = f16_at(b + 2);
      decode_scale_min_k4(b + 4, o.sc, o.mn);
      decode_k4(b + 16, nullptr, o.code);
      break;
    case GgmlType::Q5_K:  // d, dmin, scales[12], qh[32], qs[128]
      o.d = f16_at(b);
      o.m = f16_at(b + 2);
      decode_scale_min_k4(b + 4, o.sc, o.mn);
      decode_k4(b + 48, b + 16, o.code);
      break;
    case GgmlType::Q6_K:  // ql[128], qh[64], scales[16] int8, d
      decode_q6k(b, b + 128, o.code);
      for (int j = 0; j < 16; ++j) o.sc[j] = int8_t(b[192 + j]);
      o.d = f16_at(b + 208);
      break;
    default: break;
  }
}

}  // namespace smolvlm::kernels::mm
