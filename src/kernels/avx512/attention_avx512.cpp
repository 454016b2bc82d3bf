// The avx512 attention tile kernel: ops_attention_simd.h instantiated with ops_vec_avx512.h.
#include "kernels/ops_attention_simd.h"
#include "kernels/ops_vec_avx512.h"

namespace smolvlm::kernels::avx512 {

void attention_tile(const detail::AttnTile& t) { simd::attention_tile<Vec>(t); }

}  // namespace smolvlm::kernels::avx512
