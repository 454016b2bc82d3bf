// Internal: the AVX2 matmul kernels by family.
#pragma once

#include "kernels/matmul_impl.h"

namespace smolvlm::kernels::mm::avx2 {

const Kernel* quant_kernel_vnni(GgmlType t, SumOrder order);  // needs AVX-VNNI
const Kernel* quant_kernel_madd(GgmlType t, SumOrder order);  // plain AVX2 (vpmaddubsw)
const Kernel* float_kernel(GgmlType t, SumOrder order);  // F32, F16, BF16

}  // namespace smolvlm::kernels::mm::avx2
