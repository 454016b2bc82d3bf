// AVX2 integer-quantized kernels without VNNI (vpmaddubsw + vpmaddwd); see matmul_q_avx2_impl.h.
#define SMOLVLM_AVX2_VNNI 0
#include "kernels/avx2/matmul_q_avx2_impl.h"

namespace smolvlm::kernels::mm::avx2 {
const Kernel* quant_kernel_madd(GgmlType t, SumOrder order) { return lookup(t, order); }
}  // namespace smolvlm::kernels::mm::avx2
