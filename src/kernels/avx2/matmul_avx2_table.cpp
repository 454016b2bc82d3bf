// The AVX2 matmul kernel table: VNNI integer kernels where the CPU has AVX-VNNI.
#include <atomic>

#include "kernels/avx2/matmul_avx2.h"

namespace smolvlm::kernels::mm {
namespace {
std::atomic<int>& vnni_override() {
  static std::atomic<int> v{-1};  // -1: follow CPUID
  return v;
}
}  // namespace

void avx2_use_vnni(int on) { vnni_override().store(on); }

const Kernel* avx2_kernel(GgmlType t, SumOrder order) {
  if (const Kernel* k = avx2::float_kernel(t, order)) return k;
  const int o = vnni_override().load();
  const bool vnni = cpu_features().avx_vnni && o != 0;
  return vnni ? avx2::quant_kernel_vnni(t, order) : avx2::quant_kernel_madd(t, order);
}

}  // namespace smolvlm::kernels::mm
