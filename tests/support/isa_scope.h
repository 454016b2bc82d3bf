// Forces a kernel ISA for a scope and restores the previous one (weights are packed for the ISA
// active when they are bound: load models inside the scope).
#pragma once

#include "kernels/isa.h"

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

}  // namespace smolvlm::testing
