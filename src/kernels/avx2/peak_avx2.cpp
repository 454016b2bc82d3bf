// The FMA-peak probe's loop (peak_simd.h) with the avx2 vector traits (compiled with the avx2 flags).
#include "kernels/ops_vec_avx2.h"
#include "kernels/peak.h"
#include "kernels/peak_simd.h"

namespace smolvlm::kernels {

float fma_chains_avx2(int64_t iters) { return simd::fma_chains<avx2::Vec>(iters); }

}  // namespace smolvlm::kernels
