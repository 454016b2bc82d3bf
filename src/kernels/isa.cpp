#include "kernels/isa.h"

#include <cpuid.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "base/error.h"

namespace smolvlm::kernels {
namespace {

uint64_t xgetbv0() {
  uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (uint64_t(edx) << 32) | eax;
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = (c >> 27) & 1;
  const bool avx = (c >> 28) & 1;
  f.fma = (c >> 12) & 1;
  f.f16c = (c >> 29) & 1;
  if (!osxsave || !avx) return CpuFeatures{};
  const uint64_t xcr0 = xgetbv0();
  const bool ymm_os = (xcr0 & 0x6) == 0x6;            // SSE + AVX state
  const bool zmm_os = (xcr0 & 0xe6) == 0xe6;          // + opmask, ZMM_Hi256, Hi16_ZMM
  if (!ymm_os) return CpuFeatures{};
  __cpuid_count(7, 0, a, b, c, d);
  f.avx2 = (b >> 5) & 1;
  if (zmm_os) {
    f.avx512f = (b >> 16) & 1;
    f.avx512dq = (b >> 17) & 1;
    f.avx512bw = (b >> 30) & 1;
    f.avx512vl = (b >> 31) & 1;
    f.avx512_vnni = (c >> 11) & 1;
  }
  unsigned a1 = 0, b1 = 0, c1 = 0, d1 = 0;
  __cpuid_count(7, 1, a1, b1, c1, d1);
  f.avx_vnni = (a1 >> 4) & 1;
  if (zmm_os) f.avx512_bf16 = (a1 >> 5) & 1;
  return f;
}

Isa initial_isa() {
  const char* env = std::getenv("SMOLVLM_FORCE_ISA");
  if (env == nullptr || *env == '\0') return best_isa();
  const auto isa = parse_isa(env);
  if (!isa) fail("SMOLVLM_FORCE_ISA='", env, "': expected scalar, avx2 or avx512");
  if (!isa_supported(*isa)) fail("SMOLVLM_FORCE_ISA=", env, ": this CPU does not support ", isa_name(*isa));
  return *isa;
}

std::atomic<int>& active_slot() {
  static std::atomic<int> slot{-1};
  return slot;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

bool isa_supported(Isa isa) {
  const auto& f = cpu_features();
  switch (isa) {
    case Isa::kScalar: return true;
    case Isa::kAvx2: return f.avx2 && f.fma && f.f16c;
    case Isa::kAvx512: return f.avx2 && f.fma && f.f16c && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq;
  }
  return false;
}

Isa best_isa() {
  if (isa_supported(Isa::kAvx512)) return Isa::kAvx512;
  if (isa_supported(Isa::kAvx2)) return Isa::kAvx2;
  return Isa::kScalar;
}

Isa active_isa() {
  auto& slot = active_slot();
  int v = slot.load(std::memory_order_relaxed);
  if (v < 0) {
    v = static_cast<int>(initial_isa());
    int expected = -1;
    if (!slot.compare_exchange_strong(expected, v)) v = expected;
  }
  return static_cast<Isa>(v);
}

void force_isa(Isa isa) {
  if (!isa_supported(isa)) fail("cannot force ", isa_name(isa), ": this CPU does not support it");
  active_slot().store(static_cast<int>(isa));
}

std::optional<Isa> parse_isa(std::string_view name) {
  if (name == "scalar") return Isa::kScalar;
  if (name == "avx2") return Isa::kAvx2;
  if (name == "avx512") return Isa::kAvx512;
  return std::nullopt;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
  }
  return "?";
}

int physical_cores() {
  static const int n = [] {
    // Count distinct (physical id, core id) pairs; fall back to the logical CPU count.
    std::ifstream f("/proc/cpuinfo");
    std::set<std::pair<std::string, std::string>> cores;
    std::string line, phys = "0";
    while (std::getline(f, line)) {
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      const std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
      const std::string val = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
      if (key == "physical id") phys = val;
      if (key == "core id") cores.emplace(phys, val);
    }
    const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
    int count = cores.empty() ? static_cast<int>(online) : static_cast<int>(cores.size());
    if (online > 0 && count > online) count = static_cast<int>(online);
    return count > 0 ? count : 1;
  }();
  return n;
}

}  // namespace smolvlm::kernels
