// Internal: the AVX2 matmul kernels by family.
#pragma once

#include "kernels/matmul_impl.h"

namespace smolvlm::kernels::mm::avx2 {

const Kernel* quant_kernel_vnni(GgmlType t, SumOrder order);  // needs AVX-VNNI
const Kernel* quant_kernel_vnni_evex(GgmlType t, SumOrder order);  // the same, EVEX: AVX512-VNNI + VL
const Kernel* quant_kernel_madd(GgmlType t, SumOrder order);  // plain AVX2 (vpmaddubsw)
const Kernel* float_kernel(GgmlType t, SumOrder order);  // F32, F16, BF16
// F16 in the fast order on 16-row panels (matmul_f16_panel_avx2.cpp).
extern const Kernel kF16Panels;
// F16 in the fast order on ggml rows: the AVX-512 fast F16 kernel decodes with its row dot.
const Kernel* f16_rows_fast();

}  // namespace smolvlm::kernels::mm::avx2
