// AVX2 integer-quantized kernels with AVX-VNNI (VEX vpdpbusd, as on Alder Lake / Raptor Lake and
// Zen 5); see matmul_q_avx2_impl.h. Only this translation unit is compiled for AVX-VNNI, and only
// runs where CPUID reports it.
#include <immintrin.h>

#include <cstring>

#include "kernels/avx2/matmul_avx2.h"
#include "kernels/matmul_pack.h"

#pragma GCC target("avxvnni")
#define SMOLVLM_AVX2_VNNI 1
#include "kernels/avx2/matmul_q_avx2_impl.h"

namespace smolvlm::kernels::mm::avx2 {
const Kernel* quant_kernel_vnni(GgmlType t, SumOrder order) { return lookup(t, order); }
}  // namespace smolvlm::kernels::mm::avx2
