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

TEST(Isa, PhysicalCoresPositive) { EXPECT_GE(kernels::physical_cores(), 1); }

}  // namespace
}  // namespace smolvlm
