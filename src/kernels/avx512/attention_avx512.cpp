// The avx512 attention tile kernel: ops_attention_simd.h instantiated with ops_vec_avx512.h.
#include "kernels/ops_attention_ggml_simd.h"
#include "kernels/ops_attention_simd.h"
#include "kernels/ops_attention_split_simd.h"
#include "kernels/ops_vec_avx512.h"

namespace smolvlm::kernels::avx512 {

void attention_tile(const detail::AttnTile& t) { simd::attention_tile<Vec>(t); }
void attention_ggml_row(const detail::GgmlAttnRow& r) { simd::attention_ggml_row<Vec>(r); }
void attention_split(const detail::AttnSplit& s) { simd::attention_split<Vec>(s); }

}  // namespace smolvlm::kernels::avx512
