#include "kernels/isa.h"

#include <cpuid.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iterator>
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

namespace {

// The logical CPUs of a Linux CPU list ("0-15,32,40-41"); false on anything else.
bool parse_cpu_list(std::string_view list, std::set<int>& out) {
  while (!list.empty() && (list.back() == '\n' || list.back() == ' ')) list.remove_suffix(1);
  if (list.empty()) return false;
  size_t at = 0;
  while (at <= list.size()) {
    const size_t comma = std::min(list.find(',', at), list.size());
    const std::string_view item = list.substr(at, comma - at);
    const size_t dash = item.find('-');
    int lo = 0, hi = 0;
    const auto num = [](std::string_view t, int& v) {
      const auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
      return ec == std::errc() && p == t.data() + t.size() && v >= 0;
    };
    if (!num(item.substr(0, dash), lo)) return false;
    if (dash == std::string_view::npos) hi = lo;
    else if (!num(item.substr(dash + 1), hi) || hi < lo || hi - lo > 65536) return false;
    for (int c = lo; c <= hi; ++c) out.insert(c);
    at = comma + 1;
  }
  return true;
}

std::string read_text(const char* path) {
  std::ifstream f(path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

int clamp_online(int count) {
  const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
  if (count <= 0) count = static_cast<int>(online);
  if (online > 0 && count > online) count = static_cast<int>(online);
  return count > 0 ? count : 1;
}

}  // namespace

int count_cores(std::string_view cpuinfo, std::string_view cpus) {
  std::set<int> keep;
  const bool filter = parse_cpu_list(cpus, keep);
  std::set<std::pair<std::string, std::string>> cores;
  std::string phys = "0";
  int processor = -1;
  size_t at = 0;
  while (at < cpuinfo.size()) {
    const size_t nl = std::min(cpuinfo.find('\n', at), cpuinfo.size());
    const std::string_view line = cpuinfo.substr(at, nl - at);
    at = nl + 1;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon), val = line.substr(colon + 1);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.remove_suffix(1);
    while (!val.empty() && val.front() == ' ') val.remove_prefix(1);
    if (key == "processor") {
      if (std::from_chars(val.data(), val.data() + val.size(), processor).ec != std::errc()) processor = -1;
    }
    if (key == "physical id") phys = std::string(val);
    if (key == "core id" && (!filter || keep.count(processor) != 0)) cores.emplace(phys, std::string(val));
  }
  return static_cast<int>(cores.size());
}

int physical_cores() {
  // Distinct (physical id, core id) pairs; the logical CPU count when /proc/cpuinfo has none.
  static const int n = clamp_online(count_cores(read_text("/proc/cpuinfo"), ""));
  return n;
}

int default_threads() {
  // Linux lists a hybrid Intel CPU's performance cores (and SMT siblings) under the cpu_core PMU.
  static const int n = [] {
    const std::string p_cores = read_text("/sys/devices/cpu_core/cpus");
    const int p = p_cores.empty() ? 0 : count_cores(read_text("/proc/cpuinfo"), p_cores);
    return p > 0 ? clamp_online(p) : physical_cores();
  }();
  return n;
}

}  // namespace smolvlm::kernels
