// Internal: preparing one call's activations (see matmul_impl.h for the layout).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/matmul_impl.h"
#include "kernels/thread_pool.h"

namespace smolvlm::kernels::mm {

// Row converters of one ISA; every ISA's give bit-identical results.
struct ActRowFns {
  // Q8_0 / Q8_1 as ggml's x86 from_float: codes, d per 32 (fp16 value as f32), s = fp16(d * sum)
  // (Q8_1 only; s may be null) and the exact code sums.
  void (*q8_0)(const float* x, int64_t cols, int8_t* q, float* d, float* s, int32_t* sums);
  // Q8_K as quantize_row_q8_K_ref: codes, d per 256, ggml's int16 bsums per 16.
  void (*q8_K)(const float* x, int64_t cols, int8_t* q, float* d, int16_t* bsums);
  // y = x rounded to fp16 / bf16 (ggml's conversions), back in f32.
  void (*round_f16)(const float* x, float* y, int64_t n);
  void (*round_bf16)(const float* x, float* y, int64_t n);
  // The same bf16 rounding, as 16-bit codes.
  void (*to_bf16)(const float* x, uint16_t* y, int64_t n);
};
const ActRowFns& scalar_act_fns();
void scalar_to_bf16(const float* x, uint16_t* y, int64_t n);
const ActRowFns* avx2_act_fns();
const ActRowFns* avx512_act_fns();
// The converters of an ISA (the scalar ones where it has none of its own).
const ActRowFns& act_fns(Isa isa);

struct ActScratch {
  std::vector<uint8_t> bytes;
};

// Converts x [n, cols] to the activation type of kernel k's weight type into scratch (grown as
// needed), with the aux integers and tiles k asks for; F32 points at x itself. cols must be a
// multiple of act_block(type). Tokens are converted in parallel on the pool.
Acts prepare_acts(ActType type, const Kernel& k, const float* x, int64_t n, int64_t cols, ActScratch& scratch,
                  ThreadPool& pool);

}  // namespace smolvlm::kernels::mm
