// Internal: the AVX-512 matmul kernels by family (integer-quantized, float).
#pragma once

#include "kernels/matmul_impl.h"

namespace smolvlm::kernels::mm::avx512 {

const Kernel* quant_kernel(GgmlType t, SumOrder order);  // needs AVX-512 VNNI
const Kernel* float_kernel(GgmlType t);  // F32, F16, BF16

}  // namespace smolvlm::kernels::mm::avx512
