// Internal: the AVX-512 matmul kernels by family (integer-quantized, float).
#pragma once

#include "kernels/matmul_impl.h"

namespace smolvlm::kernels::mm::avx512 {

const Kernel* quant_kernel(GgmlType t, SumOrder order);  // needs AVX-512 VNNI
const Kernel* float_kernel(GgmlType t, SumOrder order);  // F32, F16, BF16
// BF16 in the fast order on AVX512_BF16: 64-row panels (matmul_bf16_panel_avx512.cpp).
extern const Kernel kBF16Panels;

}  // namespace smolvlm::kernels::mm::avx512
