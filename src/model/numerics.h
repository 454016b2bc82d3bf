// The order of a model's float sums, chosen once per process (like SMOLVLM_FORCE_ISA) and taken by
// each model when it binds its weights:
//   kFast   the default: each ISA's fastest order (integer-quantized weights sum a block in
//           integers, one f32 fma per 32 elements; attention in flash-attention tiles). Logits
//           stay within a stated tolerance of kExact (tests/unit/test_numerics.cpp measures it).
//   kExact  every sum in ggml's order: the text model's logits equal llama.cpp's CPU build (no
//           flash attention, no weight repacking) bit for bit. SMOLVLM_EXACT=1, or --exact on
//           run, bench, dev logits and dev embed.
#pragma once

#include "kernels/matmul.h"

namespace smolvlm {

enum class Numerics { kFast, kExact };

// The process's setting: SMOLVLM_EXACT (1/true/yes/on: kExact) on first use, unless set_numerics() was called.
Numerics numerics();
void set_numerics(Numerics n);
const char* numerics_name(Numerics n);  // "fast" / "exact"

// What a setting asks of the kernels.
inline kernels::SumOrder sum_order(Numerics n) {
  return n == Numerics::kExact ? kernels::SumOrder::kGgml : kernels::SumOrder::kFastest;
}

// Sets the process's numerics for a scope (tests), restoring the previous setting after.
class ScopedNumerics {
 public:
  explicit ScopedNumerics(Numerics n) : saved_(numerics()) { set_numerics(n); }
  ~ScopedNumerics() { set_numerics(saved_); }
  ScopedNumerics(const ScopedNumerics&) = delete;
  ScopedNumerics& operator=(const ScopedNumerics&) = delete;

 private:
  Numerics saved_;
};

}  // namespace smolvlm
