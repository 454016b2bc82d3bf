// The FMA-peak probe's loop (peak_simd.h) with the avx512 vector traits (compiled with the avx512 flags).
#include "kernels/ops_vec_avx512.h"
#include "kernels/peak.h"
#include "kernels/peak_simd.h"

namespace smolvlm::kernels {

float fma_chains_avx512(int64_t iters) { return simd::fma_chains<avx512::Vec>(iters); }

}  // namespace smolvlm::kernels
