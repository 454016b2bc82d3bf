// Public entry points of the quant layer: argument checks and dispatch to the block codecs
// (legacy_quants.cpp, k_quants.cpp) and the float conversions; quantize_rows fans rows out.
#include "quant/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/error.h"
#include "base/parallel.h"
#include "quant/block_codec.h"

namespace smolvlm {
namespace {

using namespace quant_impl;

void quantize_f32(const float* x, uint8_t* y, int64_t n) { std::memcpy(y, x, size_t(n) * 4); }
void dequantize_f32(const uint8_t* x, float* y, int64_t n) { std::memcpy(y, x, size_t(n) * 4); }
void quantize_f16(const float* x, uint8_t* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) store<uint16_t>(y + 2 * i, fp32_to_fp16(x[i]));
}
void dequantize_f16(const uint8_t* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = fp16_to_fp32(load<uint16_t>(x + 2 * i));
}
void quantize_bf16(const float* x, uint8_t* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) store<uint16_t>(y + 2 * i, fp32_to_bf16(x[i]));
}
void dequantize_bf16(const uint8_t* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = bf16_to_fp32(load<uint16_t>(x + 2 * i));
}

struct Codec {
  GgmlType type;
  QuantizeBlocks quantize;
  DequantizeBlocks dequantize;
  bool float_type;  // F32/F16/BF16 pass inf/NaN through; block types reject them
};

constexpr Codec kCodecs[] = {
    {GgmlType::F32, quantize_f32, dequantize_f32, true},
    {GgmlType::F16, quantize_f16, dequantize_f16, true},
    {GgmlType::BF16, quantize_bf16, dequantize_bf16, true},
    {GgmlType::Q4_0, quantize_q4_0, dequantize_q4_0, false},
    {GgmlType::Q4_1, quantize_q4_1, dequantize_q4_1, false},
    {GgmlType::Q5_0, quantize_q5_0, dequantize_q5_0, false},
    {GgmlType::Q5_1, quantize_q5_1, dequantize_q5_1, false},
    {GgmlType::Q8_0, quantize_q8_0, dequantize_q8_0, false},
    {GgmlType::Q8_1, quantize_q8_1, dequantize_q8_1, false},
    {GgmlType::Q4_K, quantize_q4_K, dequantize_q4_K, false},
    {GgmlType::Q5_K, quantize_q5_K, dequantize_q5_K, false},
    {GgmlType::Q6_K, quantize_q6_K, dequantize_q6_K, false},
    {GgmlType::Q8_K, quantize_q8_K, dequantize_q8_K, false},
};

const Codec* find_codec(GgmlType t) {
  for (const auto& c : kCodecs) {
    if (c.type == t) return &c;
  }
  return nullptr;
}

// The codec for t and the number of blocks in n elements; throws for unsupported types and
// lengths that are not a whole number of blocks.
const Codec& checked_codec(const char* what, GgmlType t, int64_t n, int64_t* nblocks) {
  const GgmlTypeInfo* info = ggml_type_info(static_cast<uint32_t>(t));
  const Codec* c = find_codec(t);
  if (info == nullptr || c == nullptr) {
    fail(what, ": type ", info ? ggml_type_name(t) : cat("id ", static_cast<uint32_t>(t)), " is not supported");
  }
  if (n < 0 || n % info->block_size != 0) {
    fail(what, ": ", n, " elements of type ", ggml_type_name(t), " is not a multiple of the block size ",
         info->block_size);
  }
  *nblocks = n / info->block_size;
  return *c;
}

// Block quantizers are only defined for finite input (ggml's would produce garbage): the index
// of the first inf/NaN, or -1.
int64_t first_non_finite(const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) return i;
  }
  return -1;
}

}  // namespace

bool can_quantize(GgmlType t) { return find_codec(t) != nullptr; }
bool can_dequantize(GgmlType t) { return find_codec(t) != nullptr; }

void quantize_row(GgmlType t, const float* src, void* dst, int64_t n) {
  int64_t nb = 0;
  const Codec& c = checked_codec("quantize_row", t, n, &nb);
  if (nb == 0) return;
  if (const int64_t i = c.float_type ? -1 : first_non_finite(src, n); i >= 0) {
    fail("quantize_row: cannot quantize the non-finite value ", src[i], " at element ", i, " to ", ggml_type_name(t));
  }
  c.quantize(src, static_cast<uint8_t*>(dst), nb);
}

void dequantize_row(GgmlType t, const void* src, float* dst, int64_t n) {
  int64_t nb = 0;
  const Codec& c = checked_codec("dequantize_row", t, n, &nb);
  if (nb == 0) return;
  c.dequantize(static_cast<const uint8_t*>(src), dst, nb);
}

void quantize_rows(GgmlType t, const float* src, void* dst, int64_t rows, int64_t n_per_row, int threads) {
  int64_t nb = 0;
  const Codec& c = checked_codec("quantize_rows", t, n_per_row, &nb);
  if (rows < 0) fail("quantize_rows: negative row count ", rows);
  if (rows == 0 || nb == 0) return;
  const size_t row_bytes = ggml_row_size(t, n_per_row);
  auto* out = static_cast<uint8_t*>(dst);
  // Chunks of about 64K elements keep the scheduling overhead negligible for small rows.
  const int64_t chunk = std::max<int64_t>(1, 65536 / std::max<int64_t>(n_per_row, 1));
  parallel_for(
      rows, threads,
      [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          const float* x = src + r * n_per_row;
          if (const int64_t i = c.float_type ? -1 : first_non_finite(x, n_per_row); i >= 0) {
            fail("quantize_rows: cannot quantize the non-finite value ", x[i], " at row ", r, ", element ", i, " to ",
                 ggml_type_name(t));
          }
          c.quantize(x, out + size_t(r) * row_bytes, nb);
        }
      },
      chunk);
}

}  // namespace smolvlm
