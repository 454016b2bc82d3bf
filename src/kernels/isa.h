// CPU instruction-set detection and the one dispatch point. The active ISA is the best one the CPU
// supports, unless SMOLVLM_FORCE_ISA=scalar|avx2|avx512 (read once, at first use) or force_isa()
// (tests, benchmarks) says otherwise. Forcing an ISA the CPU lacks is an Error.
#pragma once

#include <optional>
#include <string_view>

namespace smolvlm::kernels {

enum class Isa { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;             // the AVX2 path needs all three
  bool avx_vnni = false;                                     // VEX-encoded VNNI (Alder Lake, Zen 5)
  bool avx512f = false, avx512bw = false, avx512vl = false;  // the AVX-512 path needs F, BW, VL
  bool avx512dq = false, avx512_vnni = false, avx512_bf16 = false;
};

const CpuFeatures& cpu_features();
bool isa_supported(Isa isa);
Isa best_isa();                        // best supported by this CPU
Isa active_isa();                      // what kernels use now
void force_isa(Isa isa);               // throws Error if unsupported
std::optional<Isa> parse_isa(std::string_view name);  // "scalar", "avx2", "avx512"
const char* isa_name(Isa isa);
// Physical cores (not SMT siblings) of this machine.
int physical_cores();
// The default thread count: the physical cores, only the performance ones on a hybrid CPU (an Intel
// Core's P-cores, which Linux lists in /sys/devices/cpu_core/cpus), as Ollama's default num_thread:
// decode splits its rows evenly over the threads, so an efficiency core would hold the others up.
int default_threads();
// The count behind both: distinct (physical id, core id) pairs of a /proc/cpuinfo text, only of the
// logical CPUs of `cpus` (a Linux CPU list such as "0-15,32") when that parses.
int count_cores(std::string_view cpuinfo, std::string_view cpus);

}  // namespace smolvlm::kernels
