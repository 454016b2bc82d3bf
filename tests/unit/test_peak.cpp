// The peak probes (kernels/peak.h): on every ISA this CPU has, each probe the ISA has runs and
// measures something, the ones it lacks report 0, and peak_for picks the instruction a matmul over
// each kind of weight runs on. Speeds themselves belong to the benchmarks, not here.
#include <gtest/gtest.h>

#include "kernels/isa.h"
#include "kernels/peak.h"

namespace smolvlm::kernels {
namespace {

TEST(Peaks, EachIsaMeasuresTheInstructionsItHas) {
  const Isa saved = active_isa();
  ThreadPool pool(2);
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (!isa_supported(isa)) continue;
    force_isa(isa);
    const Peaks p = measure_peaks(pool);
    SCOPED_TRACE(isa_name(isa));
    std::printf("  %s: FMA %.1f GFLOP/s, int8 %.1f GOP/s, bf16 %.1f GFLOP/s\n", isa_name(isa), p.fma / 1e9,
                p.int8 / 1e9, p.bf16 / 1e9);
    EXPECT_GT(p.fma, 0.0);
    if (isa == Isa::kScalar)
      EXPECT_EQ(p.int8, 0.0);
    else
      EXPECT_GT(p.int8, 0.0);
    const bool bf16 = isa == Isa::kAvx512 && cpu_features().avx512_bf16;
    if (bf16)
      EXPECT_GT(p.bf16, 0.0);
    else
      EXPECT_EQ(p.bf16, 0.0);
  }
  force_isa(saved);
}

TEST(Peaks, EachWeightKindIsMeasuredAgainstItsInstruction) {
  const Peaks all{100, 400, 200}, fma_only{100, 0, 0};
  EXPECT_EQ(peak_for(all, false, false), 100);  // F32 / F16
  EXPECT_EQ(peak_for(all, true, false), 400);   // integer-quantized
  EXPECT_EQ(peak_for(all, false, true), 200);   // BF16 on vdpbf16ps
  EXPECT_EQ(peak_for(fma_only, true, false), 100);
  EXPECT_EQ(peak_for(fma_only, false, true), 100);
}

}  // namespace
}  // namespace smolvlm::kernels
