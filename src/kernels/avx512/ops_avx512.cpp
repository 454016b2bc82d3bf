// The avx512 op table: ops_simd.h instantiated with ops_vec_avx512.h (compiled with the avx512 flags).
#include "kernels/ops_internal.h"
#include "kernels/ops_simd.h"
#include "kernels/ops_vec_avx512.h"

namespace smolvlm::kernels {
namespace avx512 {
void attention_tile(const detail::AttnTile& t);          // attention_avx512.cpp
void attention_ggml_row(const detail::GgmlAttnRow& r);  // attention_avx512.cpp
void attention_split(const detail::AttnSplit& s);        // attention_avx512.cpp
}  // namespace avx512

namespace detail {
using V = avx512::Vec;
const OpsTable kAvx512Ops = {
    Isa::kAvx512,       simd::rms_norm<V>,  simd::layer_norm<V>, simd::rope_rows<V>,
    simd::softmax<V>,  simd::silu_mul<V>,  simd::gelu_tanh<V>,  simd::add<V>,
    simd::scale_add<V>, simd::f32_to_f16<V>, simd::f16_to_f32<V>, avx512::attention_tile, avx512::attention_ggml_row, avx512::attention_split, simd::exp_rows<V>,
};
}  // namespace detail
}  // namespace smolvlm::kernels
