// Block codecs for the ggml tensor types: reference quantization (ggml's *_ref algorithms, no
// importance matrix; bit-exact) and dequantization (ggml's to_float, bit-exact), plus float
// conversions, all row-wise. Scalar reference code; SIMD kernels (later) are tested against it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "io/ggml_type.h"

namespace smolvlm {

// True when quantize_row / dequantize_row support the type:
// F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1 (quantize only as activation type), Q4_K,
// Q5_K, Q6_K, Q8_K.
bool can_quantize(GgmlType t);
bool can_dequantize(GgmlType t);

// n elements (a multiple of the type's block size; otherwise throws Error) from float32 to blocks.
void quantize_row(GgmlType t, const float* src, void* dst, int64_t n);
// n elements from blocks to float32.
void dequantize_row(GgmlType t, const void* src, float* dst, int64_t n);

// Whole matrix [rows, n_per_row], rows processed in parallel on `threads` threads (0 = all).
void quantize_rows(GgmlType t, const float* src, void* dst, int64_t rows, int64_t n_per_row, int threads = 0);

}  // namespace smolvlm
