// Matrix multiplication with weights in any supported ggml type and float32 activations:
//   Y[t, r] = sum_c W[r, c] * X[t, c]      X: [n_tokens, cols], W: [rows, cols], Y: [n_tokens, rows]
// (a GGUF tensor with ne = [cols, rows] is W). Weights are bound once (pack_weight) and may be
// repacked into the layout the active ISA's kernel wants; the same call serves matrix x vector
// (n_tokens = 1, decode) and matrix x matrix (prefill, the vision encoder). Activations are
// quantized on the fly to the weight type's dot-product partner (Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for
// Q4_1/Q5_1, Q8_K for K-quants) where that is what ggml does; F16 / BF16 weights take them rounded
// to fp16 / bf16 (round to nearest even), and on CPUs with AVX512_BF16 BF16 weights run on
// vdpbf16ps. Matrix x matrix is blocked like a GEMM (token blocks that stay in L2 while the
// weights stream past), so the speed per token does not fall as the token count grows; no output
// depends on how the work is split (threads, blocks, or which other tokens share the call), except
// that for float weights one token alone (decode) takes the ISA's row-dot kernel, whose f32 sums
// may round differently. Integer-quantized weights give ggml's vec_dot result bit for bit on every
// ISA and for any number of tokens (the lanes and fmas of its AVX2 kernels, see matmul_scalar.cpp).
#pragma once

#include <cstdint>
#include <memory>

#include "io/ggml_type.h"
#include "kernels/isa.h"
#include "kernels/thread_pool.h"

namespace smolvlm::kernels {

// A weight matrix as stored in a GGUF file: `rows` rows of `cols` elements, ggml block layout.
struct WeightView {
  GgmlType type = GgmlType::F32;
  int64_t rows = 0;
  int64_t cols = 0;
  const void* data = nullptr;  // rows * ggml_row_size(type, cols) bytes; must outlive the PackedWeight
};

class PackedWeight {
 public:
  virtual ~PackedWeight() = default;
  virtual GgmlType type() const = 0;   // the type it runs as (BF16 for F16 bound as bf16)
  virtual int64_t rows() const = 0;
  virtual int64_t cols() const = 0;
  virtual Isa isa() const = 0;          // the ISA it was packed for
  virtual size_t bytes() const = 0;     // weight bytes streamed per full pass (for bandwidth bounds)
};

bool matmul_supports(GgmlType t);
// The order of a matmul's float sums. kGgml: ggml's (a batch as tinyBLAS, one token as vec_dot),
// the same bits on every ISA and as llama.cpp — what a model compared with llama.cpp asks for.
// kFastest: the active ISA's fastest order, within ~1e-6 of kGgml: integer-quantized weights take
// one integer sum per block (one f32 fma per 32 elements instead of per 4: ~2x the matrix x
// matrix speed on AVX2 and AVX-512), F32/F16/BF16 on AVX2 8 lanes along k instead of 16 (~1.4x).
// The scalar reference has only kGgml.
enum class SumOrder { kGgml, kFastest };
// What a bind may trade for speed: the sum order, and for F16 weights the precision.
struct PackOptions {
  PackOptions(SumOrder o = SumOrder::kGgml, bool bf16 = false) : order(o), f16_as_bf16(bf16) {}  // NOLINT: a SumOrder is a PackOptions
  SumOrder order;
  // With kFastest, F16 weights run as bf16 where the CPU multiplies bf16 pairs natively (AVX512_BF16's
  // vdpbf16ps, twice F16's multiply-adds per instruction): the weights are rounded to bf16 once, at
  // bind, and the activations to bf16 per call (round to nearest even), the precision transformers
  // runs SmolVLM2 in. Elsewhere F16 stays F16. For the vision tower, not for text compared with llama.cpp.
  bool f16_as_bf16;
};
// Binds W for the active ISA. Throws Error naming the type if unsupported or cols % block != 0.
std::unique_ptr<PackedWeight> pack_weight(const WeightView& w, PackOptions options = {});
// Y = X W^T on the pool, with the kernels of w.isa().
void matmul(const PackedWeight& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool);

// Several weights applied to the same X (q/k/v, gate/up): y_i = X W_i^T. X is converted once per
// distinct activation preparation and all outputs are computed in one pool job (one wake-up and
// one barrier instead of one per weight). All weights must have the same cols.
struct MatmulOut {
  const PackedWeight* w = nullptr;
  float* y = nullptr;  // [n_tokens, w->rows()]
};
void matmul_many(const MatmulOut* outs, int n_outs, const float* x, int64_t n_tokens, ThreadPool& pool);

}  // namespace smolvlm::kernels
