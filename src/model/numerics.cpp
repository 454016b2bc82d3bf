#include "model/numerics.h"

#include <atomic>
#include <cstdlib>
#include <string>

namespace smolvlm {
namespace {

Numerics from_env() {
  const char* v = std::getenv("SMOLVLM_EXACT");
  if (v == nullptr) return Numerics::kFast;
  const std::string s = v;
  return s == "1" || s == "true" || s == "yes" || s == "on" ? Numerics::kExact : Numerics::kFast;
}

std::atomic<int>& setting() {
  static std::atomic<int> n{static_cast<int>(from_env())};
  return n;
}

}  // namespace

Numerics numerics() { return static_cast<Numerics>(setting().load()); }
void set_numerics(Numerics n) { setting().store(static_cast<int>(n)); }
const char* numerics_name(Numerics n) { return n == Numerics::kExact ? "exact" : "fast"; }

}  // namespace smolvlm
