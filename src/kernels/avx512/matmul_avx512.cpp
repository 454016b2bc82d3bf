// The AVX-512 matmul kernel table.
#include "kernels/avx512/matmul_avx512.h"

namespace smolvlm::kernels::mm {

const Kernel* avx512_kernel(GgmlType t, SumOrder order) {
  if (const Kernel* k = avx512::float_kernel(t, order)) return k;
  // The integer kernels are built on vpdpbusd; without VNNI the AVX2 ones serve.
  return cpu_features().avx512_vnni ? avx512::quant_kernel(t, order) : nullptr;
}

}  // namespace smolvlm::kernels::mm
