// Forces a kernel ISA for a scope and restores the previous one (weights are packed for the ISA
// active when they are bound: load models inside the scope).
#pragma once

#include "kernels/isa.h"
#include "kernels/matmul_impl.h"

namespace smolvlm::testing {

class IsaScope {
 public:
  explicit IsaScope(kernels::Isa isa) : saved_(kernels::active_isa()) { kernels::force_isa(isa); }
  ~IsaScope() { kernels::force_isa(saved_); }
  IsaScope(const IsaScope&) = delete;
  IsaScope& operator=(const IsaScope&) = delete;

 private:
  kernels::Isa saved_;
};

// Whether F16 weights bound with PackOptions::f16_as_bf16 (the vision tower in fast mode) run as
// bf16 for a scope: 0 never (tests of the F16 arithmetic itself), 1 on every ISA, -1 where native.
class F16AsBf16Scope {
 public:
  explicit F16AsBf16Scope(int on) { kernels::mm::f16_as_bf16(on); }
  ~F16AsBf16Scope() { kernels::mm::f16_as_bf16(-1); }
  F16AsBf16Scope(const F16AsBf16Scope&) = delete;
  F16AsBf16Scope& operator=(const F16AsBf16Scope&) = delete;
};

}  // namespace smolvlm::testing
