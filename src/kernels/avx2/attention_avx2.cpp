// The avx2 attention tile kernel: ops_attention_simd.h instantiated with ops_vec_avx2.h.
#include "kernels/ops_attention_simd.h"
#include "kernels/ops_vec_avx2.h"

namespace smolvlm::kernels::avx2 {

void attention_tile(const detail::AttnTile& t) { simd::attention_tile<Vec>(t); }

}  // namespace smolvlm::kernels::avx2
