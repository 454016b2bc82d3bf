// Internal to the quant layer: the per-type block codecs and the small helpers they share
// (little-endian field access, ggml's rounding primitives). Not part of the public API.
#pragma once

#include <bit>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "base/fp16.h"

// Bit-exactness with ggml needs every a * b + c rounded twice, as ggml's reference C does on a
// baseline x86-64 build: forbid fused multiply-adds in the codecs even under -march=native.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace smolvlm::quant_impl {

static_assert(std::endian::native == std::endian::little, "block codecs assume a little-endian host");

// Encodes / decodes `nblocks` consecutive blocks (x: nblocks * block_size floats).
using QuantizeBlocks = void (*)(const float* x, uint8_t* y, int64_t nblocks);
using DequantizeBlocks = void (*)(const uint8_t* x, float* y, int64_t nblocks);

// Block fields are little-endian and unaligned: always go through memcpy.
template <typename T>
inline T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
template <typename T>
inline void store(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}
inline float load_f16(const uint8_t* p) { return fp16_to_fp32(load<uint16_t>(p)); }
inline void store_f16(uint8_t* p, float f) { store<uint16_t>(p, fp32_to_fp16(f)); }

// ggml's nearest_int: adds 1.5 * 2^23 so the FPU rounds (ties to even) into the low mantissa
// bits. Exact for |f| <= 2^22 - 1; well-defined (garbage in, garbage out) for anything else.
inline int nearest_int(float f) {
  const float v = f + 12582912.f;
  return static_cast<int>(std::bit_cast<uint32_t>(v) & 0x007fffff) - 0x00400000;
}

// C's float -> int conversion (truncation) as x86's cvttss2si performs it: NaN and values out
// of int range give INT_MIN instead of undefined behaviour. ggml's reference C relies on these
// casts ((int8_t)(x + 8.5f), (int8_t)roundf(x)); they only matter for degenerate blocks.
inline int trunc_to_int(float f) {
  if (!(f > -2147483904.f && f < 2147483648.f)) return INT_MIN;
  return static_cast<int>(f);
}

// legacy_quants.cpp: 32-weight blocks.
void quantize_q4_0(const float* x, uint8_t* y, int64_t nb);
void quantize_q4_1(const float* x, uint8_t* y, int64_t nb);
void quantize_q5_0(const float* x, uint8_t* y, int64_t nb);
void quantize_q5_1(const float* x, uint8_t* y, int64_t nb);
void quantize_q8_0(const float* x, uint8_t* y, int64_t nb);
void quantize_q8_1(const float* x, uint8_t* y, int64_t nb);
void dequantize_q4_0(const uint8_t* x, float* y, int64_t nb);
void dequantize_q4_1(const uint8_t* x, float* y, int64_t nb);
void dequantize_q5_0(const uint8_t* x, float* y, int64_t nb);
void dequantize_q5_1(const uint8_t* x, float* y, int64_t nb);
void dequantize_q8_0(const uint8_t* x, float* y, int64_t nb);
void dequantize_q8_1(const uint8_t* x, float* y, int64_t nb);

// k_quants.cpp: 256-weight super-blocks.
void quantize_q4_K(const float* x, uint8_t* y, int64_t nb);
void quantize_q5_K(const float* x, uint8_t* y, int64_t nb);
void quantize_q6_K(const float* x, uint8_t* y, int64_t nb);
void quantize_q8_K(const float* x, uint8_t* y, int64_t nb);
void dequantize_q4_K(const uint8_t* x, float* y, int64_t nb);
void dequantize_q5_K(const uint8_t* x, float* y, int64_t nb);
void dequantize_q6_K(const uint8_t* x, float* y, int64_t nb);
void dequantize_q8_K(const uint8_t* x, float* y, int64_t nb);

}  // namespace smolvlm::quant_impl
