// The vision tower and connector on the test GPU (lavapipe in CI): both golden models' tiles
// through every projector type (F32, F16, BF16 — the F32 file rewritten —, Q8_0), several tiles per
// pass, against the CPU path and the float64 reference in ref/. rel = max|x - ref| / max|ref| per
// tile (the golden README's). The GPU keeps activations in f32 (fp16 in the prefill tiles of F16
// and Q8_0 weights, with shaderFloat16); the CPU rounds them to fp16 / bf16 / Q8_0 blocks for
// F16 / BF16 / Q8_0 weights, as ggml does. Bounds (measured on lavapipe in the comments):
//   F32  vs ref 1e-4 (the CPU's bound; measured 1.6e-6), vs the CPU 1e-4 (1.6e-6)
//   F16  vs ref 2e-3 (the file's rounding, the CPU's F16 bound; 6.2e-4), vs the CPU 2e-3 (3.6e-4)
//   BF16 vs ref 1e-2 (bf16 weights: 2^-9 relative each; 3.7e-3), vs the CPU 1e-2 (4.3e-3)
//   Q8_0 vs ref 3e-2 (the file's rounding: llama.cpp's own output is 2e-2 from ref/; 1.2e-2), vs the
//        CPU 2e-2 (1.3e-2)
// Also: encode_on_device leaves the same embeddings on the device.
#include <algorithm>
#include <cstdio>
#include <tuple>

#include "support/gpu.h"
#include "support/isa_scope.h"
#include "test_vision_model_util.h"

namespace smolvlm {
namespace {

using testing::load_npy;
using testing::vision::edit_mmproj;
using testing::vision::golden;
using testing::vision::golden_tiles;
using testing::vision::rel_diff;
using testing::vision::run_vision;
using testing::vision::tile_of;

struct Bound {
  double ref, cpu;
};
Bound bound(const std::string& variant) {
  if (variant == "F32") return {1e-4, 1e-4};
  if (variant == "F16") return {2e-3, 2e-3};
  if (variant == "BF16") return {1e-2, 1e-2};
  return {3e-2, 2e-2};
}

// The mmproj of `variant`; BF16 is the F32 file with every matrix stored as BF16.
GgufFile mmproj(const std::string& model, const std::string& variant, std::vector<uint8_t>& keep) {
  if (variant != "BF16") return GgufFile::open(golden(model, "gguf/mmproj-" + variant + ".gguf"));
  const GgufFile f32 = GgufFile::open(golden(model, "gguf/mmproj-F32.gguf"));
  keep = edit_mmproj(f32, {.retype = [](const GgufTensorInfo& t) {
                             return t.ne.size() >= 2 && t.name.find("position") == std::string::npos ? GgmlType::BF16
                                                                                                     : t.type;
                           }});
  return GgufFile::parse(keep, "mmproj-BF16.gguf");
}

using Param = std::tuple<std::string, std::string>;  // model, projector type

class VisionModelGpu : public ::testing::TestWithParam<Param> {};

TEST_P(VisionModelGpu, MatchesTheCpuAndTheReference) {
  const auto& [model_name, variant] = GetParam();
  const std::string file = variant == "BF16" ? "F32" : variant;
  SMOLVLM_REQUIRE_SHARED("golden/" + model_name + "/gguf/mmproj-" + file + ".gguf");
  SMOLVLM_REQUIRE_GPU(gpu);
  const testing::F16AsBf16Scope f16(0);  // the CPU's F16 arithmetic, not bf16 where the CPU has vdpbf16ps
  std::vector<uint8_t> bytes_cpu, bytes_gpu;
  const VisionModel cpu(mmproj(model_name, variant, bytes_cpu));
  const VisionModel model(mmproj(model_name, variant, bytes_gpu), *gpu, gpu);
  const std::vector<float> tiles = golden_tiles(model_name);
  // three tiles (the two golden ones, then the first again): passes of 2 and of 1 tile
  std::vector<float> three = tiles;
  three.insert(three.end(), tiles.begin(), tiles.begin() + tiles.size() / 2);
  const auto want = run_vision(cpu, three, 3, 2, 1);
  const auto got = run_vision(model, three, 3, 2, 2);
  const Bound b = bound(variant);
  for (int t = 0; t < 3; ++t) {
    const std::string what = model_name + " " + variant + " tile " + std::to_string(t);
    const double vs_cpu = rel_diff(tile_of(got.emb, 3, t), tile_of(want.emb, 3, t));
    const double post_cpu = rel_diff(tile_of(got.post_ln, 3, t), tile_of(want.post_ln, 3, t));
    const auto ref = load_npy(golden(model_name, "ref/vision_tile" + std::to_string(t % 2) + "_emb.npy")).f32();
    const double vs_ref = rel_diff(tile_of(got.emb, 3, t), ref);
    std::printf("  %s: emb vs CPU %.2e (post_ln %.2e), vs ref %.2e\n", what.c_str(), vs_cpu, post_cpu, vs_ref);
    EXPECT_LE(vs_cpu, b.cpu) << what;
    EXPECT_LE(post_cpu, b.cpu) << what;
    EXPECT_LE(vs_ref, b.ref) << what;
    EXPECT_LE(rel_diff(tile_of(got.embeddings, 3, t), tile_of(want.embeddings, 3, t)), b.cpu) << what;
  }
  // the same rows left on the device (the first tile)
  kernels::ThreadPool pool(2);
  const DeviceEmbeddings d = model.encode_on_device(three.data(), 1, pool);
  EXPECT_EQ(d.device, gpu.get());
  std::vector<float> back(got.emb.size() / 3);
  auto ops = gpu->begin(pool);
  ops->read(d.rows, back.data());
  ops->finish();
  EXPECT_TRUE(std::equal(back.begin(), back.end(), got.emb.begin()));
}

INSTANTIATE_TEST_SUITE_P(Golden, VisionModelGpu,
                         ::testing::Values(Param{"tiny512", "F32"}, Param{"tiny512", "F16"}, Param{"tiny512", "BF16"},
                                           Param{"tiny512", "Q8_0"}, Param{"tiny384", "F32"}, Param{"tiny384", "F16"},
                                           Param{"tiny384", "BF16"}),
                         [](const auto& p) { return std::get<0>(p.param) + "_" + std::get<1>(p.param); });

}  // namespace
}  // namespace smolvlm
