// Helpers for the kernel tests: the ISAs this CPU runs, a guard that restores the active ISA, and
// seeded random vectors.
#pragma once

#include <random>
#include <vector>

#include "kernels/isa.h"
#include "support/isa_scope.h"

namespace smolvlm::testing {

// Every ISA this CPU supports, scalar first.
inline std::vector<kernels::Isa> supported_isas() {
  std::vector<kernels::Isa> out;
  for (auto isa : {kernels::Isa::kScalar, kernels::Isa::kAvx2, kernels::Isa::kAvx512})
    if (kernels::isa_supported(isa)) out.push_back(isa);
  return out;
}

using ForceIsa = ::smolvlm::testing::IsaScope;

inline std::vector<float> random_normal(size_t n, uint32_t seed, float mean = 0.0f, float sd = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(mean, sd);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

inline std::vector<float> random_uniform(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

}  // namespace smolvlm::testing
