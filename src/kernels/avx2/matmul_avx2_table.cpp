// The AVX2 matmul kernel table: VNNI integer kernels where the CPU has AVX-VNNI (or AVX512-VNNI + VL).
#include <atomic>

#include "kernels/avx2/matmul_avx2.h"
#include "kernels/matmul_impl.h"

namespace smolvlm::kernels::mm {
namespace {
std::atomic<int>& vnni_override() {
  static std::atomic<int> v{-1};  // -1: follow CPUID
  return v;
}
}  // namespace

void avx2_use_vnni(int on) { vnni_override().store(on); }

bool avx2_vnni_available() {
  const CpuFeatures& f = cpu_features();
  return f.avx_vnni || (f.avx512_vnni && f.avx512vl);
}

// VNNI where the CPU has it in either encoding (an AVX-512 CPU runs the AVX2 integer kernels only
// with AVX2 forced: then as an AVX-VNNI CPU would), unless avx2_use_vnni(0) says otherwise.
const Kernel* avx2_kernel(GgmlType t, SumOrder order) {
  if (const Kernel* k = avx2::float_kernel(t, order)) return k;
  const int o = vnni_override().load();
  if (o == 0 || !avx2_vnni_available()) return avx2::quant_kernel_madd(t, order);
  return cpu_features().avx_vnni ? avx2::quant_kernel_vnni(t, order) : avx2::quant_kernel_vnni_evex(t, order);
}

}  // namespace smolvlm::kernels::mm
