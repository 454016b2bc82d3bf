// The AVX-VNNI kernels of matmul_q_avx2_vnni.cpp with their ymm vpdpbusd / vpdpwssd EVEX-encoded
// (AVX512-VNNI + AVX512VL): the same instructions on the same 256-bit registers, for CPUs with
// AVX-512 VNNI but no VEX encoding (Ice Lake, Tiger Lake, Zen 4). With AVX2 forced there, the
// integer kernels run as they do on an AVX-VNNI CPU (the user's Raptor Lake), so that path is
// tested and measured on such machines. Only this translation unit is compiled for AVX-512, and
// only runs where CPUID reports AVX512-VNNI and VL.
#include <immintrin.h>

#include <cstring>

#include "kernels/avx2/matmul_avx2.h"
#include "kernels/matmul_pack.h"

#pragma GCC target("avx512vnni,avx512vl")
#define SMOLVLM_AVX2_VNNI 2
#include "kernels/avx2/matmul_q_avx2_impl.h"

namespace smolvlm::kernels::mm::avx2 {
const Kernel* quant_kernel_vnni_evex(GgmlType t, SumOrder order) { return lookup(t, order); }
}  // namespace smolvlm::kernels::mm::avx2
