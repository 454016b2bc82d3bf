// The offload planner on fake budgets (8 GiB, 2 GiB, 512 MiB) for 2.2B- and 256M-shaped models,
// explicit layer counts, and Ollama's PROCESSOR strings.
#include <gtest/gtest.h>

#include "backend/offload_plan.h"

namespace smolvlm::backend {
namespace {

constexpr uint64_t MiB = 1ull << 20, GiB = 1ull << 30;

// 2.2B at Q4_K_M-like sizes: 24 layers of 40 MiB, 83 MiB tables, a 4096-token F16 KV cache.
OffloadNeeds model_2b() {
  OffloadNeeds n;
  n.layers.assign(24, 40 * MiB);
  n.input = n.output = 83 * MiB;
  n.kv_per_layer = 32 * MiB;
  n.compute = 50 * MiB;
  return n;
}

TEST(OffloadPlan, AutoFitsEverythingInEightGiB) {
  const OffloadPlan p = plan_offload(model_2b(), kNumGpuAuto, 8 * GiB, "Test GPU");
  EXPECT_EQ(p.gpu_layers, 24);
  EXPECT_TRUE(p.output);
  EXPECT_TRUE(p.input);
  EXPECT_EQ(p.gpu_bytes, p.total_bytes);
  EXPECT_EQ(processor_string(p.total_bytes, p.gpu_bytes), "100% GPU");
  EXPECT_NE(p.summary.find("24/24 layers, output, input on Test GPU"), std::string::npos) << p.summary;
}

TEST(OffloadPlan, AutoTakesTheOutputThenLayersFromTheLastInTwoGiB) {
  const OffloadNeeds n = model_2b();
  const OffloadPlan p = plan_offload(n, kNumGpuAuto, 2 * GiB, "Test GPU");
  // avail = 2 GiB - (102 MiB + 256 MiB headroom) - 50 MiB compute; output 83 MiB; 72 MiB a layer
  const uint64_t avail = 2 * GiB - offload_headroom(2 * GiB) - n.compute;
  const auto expect = static_cast<int64_t>((avail - n.output) / (72 * MiB));
  EXPECT_EQ(p.gpu_layers, expect);
  EXPECT_LT(p.gpu_layers, 24);
  EXPECT_TRUE(p.output);
  EXPECT_FALSE(p.input);
  EXPECT_LE(p.gpu_bytes, 2 * GiB - offload_headroom(2 * GiB));
  EXPECT_EQ(p.gpu_bytes, n.compute + n.output + uint64_t(p.gpu_layers) * 72 * MiB);
  const std::string proc = processor_string(p.total_bytes, p.gpu_bytes);
  EXPECT_NE(proc.find("% CPU/GPU"), std::string::npos) << proc;
  EXPECT_NE(p.summary.find(std::to_string(24 - p.gpu_layers) + " layers on the CPU"), std::string::npos) << p.summary;
}

TEST(OffloadPlan, AutoInHalfAGiBTakesOneLayerOrNone) {
  const OffloadPlan p = plan_offload(model_2b(), kNumGpuAuto, 512 * MiB, "Test GPU");
  EXPECT_EQ(p.gpu_layers, 1);  // 512 - 281 headroom - 50 compute = 181 MiB: output 83 + one layer 72
  EXPECT_TRUE(p.output);
  const OffloadPlan none = plan_offload(model_2b(), kNumGpuAuto, 256 * MiB, "Test GPU");
  EXPECT_EQ(none.gpu_layers, 0);
  EXPECT_FALSE(none.output);
  EXPECT_EQ(none.gpu_bytes, 0u);
  EXPECT_EQ(processor_string(none.total_bytes, none.gpu_bytes), "100% CPU");
  EXPECT_NE(none.summary.find("not even one layer fits"), std::string::npos) << none.summary;
}

TEST(OffloadPlan, TheProjectorComesBeforeAnyLayer) {
  OffloadNeeds n = model_2b();
  n.projector = 400 * MiB;
  const OffloadPlan p = plan_offload(n, kNumGpuAuto, 768 * MiB, "Test GPU");
  EXPECT_TRUE(p.projector);   // 768 - 294 - 50 = 424 MiB: the projector, then no room for a layer
  EXPECT_EQ(p.gpu_layers, 0);
  EXPECT_EQ(p.gpu_bytes, n.compute + n.projector);
}

TEST(OffloadPlan, AProjectorTooLargeStaysOnTheCpuAndTheLayersStillGo) {
  OffloadNeeds n = model_2b();
  n.projector = 3 * GiB;
  const OffloadPlan p = plan_offload(n, kNumGpuAuto, 2 * GiB, "Test GPU");
  EXPECT_FALSE(p.projector);
  EXPECT_GT(p.gpu_layers, 0);
  EXPECT_EQ(p.gpu_bytes, n.compute + n.output + uint64_t(p.gpu_layers) * 72 * MiB);
  EXPECT_EQ(p.summary.find("projector"), std::string::npos) << p.summary;
  // size_vram counts the projector when it is on the GPU
  n.projector = 100 * MiB;
  const OffloadPlan all = plan_offload(n, kNumGpuAuto, 8 * GiB, "Test GPU");
  EXPECT_TRUE(all.projector);
  EXPECT_EQ(all.gpu_bytes, all.total_bytes);
  EXPECT_NE(all.summary.find("projector on Test GPU"), std::string::npos) << all.summary;
  EXPECT_FALSE(plan_offload(n, 0, 8 * GiB, "Test GPU").projector);  // num_gpu 0: everything on the CPU
}

TEST(OffloadPlan, ExplicitCountsAreTakenAsAsked) {
  const OffloadNeeds n = model_2b();
  const OffloadPlan zero = plan_offload(n, 0, 8 * GiB, "Test GPU");
  EXPECT_EQ(zero.gpu_layers, 0);
  EXPECT_EQ(zero.gpu_bytes, 0u);
  EXPECT_NE(zero.summary.find("num_gpu 0"), std::string::npos);
  const OffloadPlan some = plan_offload(n, 5, 8 * GiB, "Test GPU");
  EXPECT_EQ(some.gpu_layers, 5);
  EXPECT_TRUE(some.output);
  EXPECT_FALSE(some.input);
  const OffloadPlan all = plan_offload(n, 999, 8 * GiB, "Test GPU");
  EXPECT_EQ(all.gpu_layers, 24);
  EXPECT_TRUE(all.input && all.output);
  const OffloadPlan too_many = plan_offload(n, 24, 512 * MiB, "Test GPU");
  EXPECT_EQ(too_many.gpu_layers, 24);  // asked for: tried, and said
  EXPECT_FALSE(too_many.fits);
  EXPECT_NE(too_many.summary.find("lower num_gpu or num_ctx"), std::string::npos);
}

TEST(OffloadPlan, ProcessorStringsAreOllamas) {
  EXPECT_EQ(processor_string(1000, 0), "100% CPU");
  EXPECT_EQ(processor_string(1000, 1000), "100% GPU");
  EXPECT_EQ(processor_string(1000, 520), "48%/52% CPU/GPU");
  EXPECT_EQ(processor_string(1000, 995), "1%/99% CPU/GPU");
  EXPECT_EQ(processor_string(1000, 1001), "Unknown");
}

}  // namespace
}  // namespace smolvlm::backend
