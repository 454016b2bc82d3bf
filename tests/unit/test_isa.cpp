// ISA selection: names parse and print, forcing a supported ISA switches active_isa(), forcing an
// unsupported one throws, and the support relation is ordered (avx512 implies avx2).
#include "base/error.h"
#include "kernels/isa.h"
#include "support/testing.h"
#include "test_ops_util.h"

namespace smolvlm {
namespace {

using kernels::Isa;

TEST(Isa, ParseAndName) {
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    const auto parsed = kernels::parse_isa(kernels::isa_name(isa));
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, isa);
  }
  EXPECT_FALSE(kernels::parse_isa("AVX2").has_value());
  EXPECT_FALSE(kernels::parse_isa("").has_value());
  EXPECT_FALSE(kernels::parse_isa("sse4").has_value());
}

TEST(Isa, ForceSwitchesActiveIsa) {
  EXPECT_TRUE(kernels::isa_supported(Isa::kScalar));
  if (kernels::isa_supported(Isa::kAvx512)) {
    EXPECT_TRUE(kernels::isa_supported(Isa::kAvx2));
  }
  EXPECT_TRUE(kernels::isa_supported(kernels::best_isa()));
  for (Isa isa : testing::supported_isas()) {
    testing::ForceIsa force(isa);
    EXPECT_EQ(kernels::active_isa(), isa);
  }
}

TEST(Isa, ForcingUnknownIsaThrows) {
  const Isa before = kernels::active_isa();
  EXPECT_FALSE(kernels::isa_supported(static_cast<Isa>(7)));
  EXPECT_THROW(kernels::force_isa(static_cast<Isa>(7)), Error);
  EXPECT_EQ(kernels::active_isa(), before);
}

TEST(Isa, ForcingUnsupportedThrows) {
  const auto& f = kernels::cpu_features();
  if (kernels::isa_supported(Isa::kAvx512)) {
    EXPECT_TRUE(f.avx512f && f.avx512bw && f.avx512vl && f.avx2 && f.fma && f.f16c);
    GTEST_SKIP() << "every ISA is supported here; nothing to refuse";
  }
  const Isa before = kernels::active_isa();
  EXPECT_THROW(kernels::force_isa(Isa::kAvx512), Error);
  EXPECT_EQ(kernels::active_isa(), before);
}

TEST(Isa, PhysicalCoresPositive) {
  EXPECT_GE(kernels::physical_cores(), 1);
  EXPECT_GE(kernels::default_threads(), 1);
  EXPECT_LE(kernels::default_threads(), kernels::physical_cores());
}

// /proc/cpuinfo of an i9-13900HX-like hybrid CPU: logical CPUs 0-15 are 8 P-cores with two SMT
// threads each (core ids 0, 4, 8, ..., 28), 16-31 are 16 E-cores (core ids 32 .. 47), one socket.
std::string hybrid_cpuinfo() {
  std::string text;
  for (int cpu = 0; cpu < 32; ++cpu) {
    const int core = cpu < 16 ? (cpu / 2) * 4 : 32 + (cpu - 16);
    text += "processor\t: " + std::to_string(cpu) + "\nvendor_id\t: GenuineIntel\nphysical id\t: 0\nsiblings\t: 32\n" +
            "core id\t\t: " + std::to_string(core) + "\ncpu cores\t: 24\nflags\t\t: fpu avx2\n\n";
  }
  return text;
}

// The default thread count keeps to the performance cores of a hybrid CPU, as Ollama's does.
TEST(Isa, CountCoresKeepsToTheListedCpus) {
  const std::string info = hybrid_cpuinfo();
  EXPECT_EQ(kernels::count_cores(info, ""), 24);            // every physical core
  EXPECT_EQ(kernels::count_cores(info, "0-15\n"), 8);       // /sys/devices/cpu_core/cpus: the P-cores
  EXPECT_EQ(kernels::count_cores(info, "16-31"), 16);       // cpu_atom: the E-cores
  EXPECT_EQ(kernels::count_cores(info, "0,2,4-5,31"), 4);   // cores 0, 4 and 8 (4 and 5 share 8), one E-core
  EXPECT_EQ(kernels::count_cores(info, "garbage"), 24);     // an unreadable list filters nothing
  EXPECT_EQ(kernels::count_cores(info, "5-3"), 24);
  EXPECT_EQ(kernels::count_cores("", "0-3"), 0);
  // Two sockets with the same core ids count twice.
  const std::string two = "processor : 0\nphysical id : 0\ncore id : 0\n\nprocessor : 1\nphysical id : 1\ncore id : 0\n";
  EXPECT_EQ(kernels::count_cores(two, ""), 2);
  EXPECT_EQ(kernels::count_cores(two, "1"), 1);
}

}  // namespace
}  // namespace smolvlm
