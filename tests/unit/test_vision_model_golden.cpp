// Parity of the vision encoder + connector with the golden files of tiny512 and tiny384
// (golden/README.md §3-5, §7), on the scalar kernels and on every SIMD ISA this CPU has (forced
// one by one, weights bound inside the scope). "rel" = max|x - ref| / max|ref| over one tile's
// tensor (the README's definition).
//
// What is compared, per model, for both golden tiles (0 "gradient", 1 "noise"):
//  * F32 mmproj vs ref/ (float64 transformers semantics stored as float32):
//      vision_tileN_embeddings (encoder input), vision_tileN_post_ln, vision_tileN_emb;
//    bound 1e-4 rel (the issue's); an exact float32 engine is expected at ~1e-5 (README §7; numpy
//    float32 measured 1.6e-6).
//  * F32 mmproj vs llamacpp/vision/F32: emb_tile{0,1}, and embeddings_tile1 / post_ln_tile1;
//    bound 2e-3 rel (README §7: llama.cpp's fp16 im2col in the patch convolution and its fp16 GELU
//    table put it ~5e-4 from any exact implementation).
//  * F16 and Q8_0 mmproj vs llamacpp/vision/<variant>/emb_tile{0,1} (bounds and their reasons at
//    kF16Tol / kQ8Tol below).
#include <cstdio>
#include <tuple>

#include "model/numerics.h"
#include "support/isa_scope.h"
#include "test_vision_model_util.h"

namespace smolvlm {
namespace {

using testing::load_npy;
using testing::IsaScope;
using testing::vision::golden;
using testing::vision::golden_tiles;
using testing::vision::rel_diff;
using testing::vision::run_vision;
using testing::vision::tile_of;
using testing::vision::VisionRun;

constexpr double kRefTol = 1e-4;
constexpr double kLlamaCppF32Tol = 2e-3;
// F16 mmproj: both sides round the activations entering every F16 matmul to fp16, as ggml does
// (2^-11 relative per value); llama.cpp adds its two F32 shortcuts (fp16 im2col, fp16 GELU table:
// ~5e-4 rel, README §7), which also flip the fp16 rounding of some values downstream (one fp16
// step, 4.9e-4 relative). README §5 measures llama.cpp's F16 output at 8.6e-4 from ref/, weight
// rounding included. Same bound as for F32: 2e-3 (measured 5.6e-4 .. 7.7e-4).
constexpr double kF16Tol = 2e-3;
// Q8_0 mmproj: both sides quantize the activations of every Q8_0 matmul to Q8_0 blocks of 32 like
// ggml (the kernels' tests check that bit for bit against ggml's goldens), so the weight rounding
// cancels out. What remains is llama.cpp's ~5e-4 shortcut noise, amplified wherever it moves an
// activation across a Q8_0 rounding boundary: that value then moves by a whole step (1/127 of its
// block's max), and with rows of 64 and 256 a good share of values sit that close. README §7 puts
// such flips at up to ~2e-2; bound 2e-2 (measured 1.1e-2 .. 1.4e-2; with llama.cpp's two
// shortcuts emulated — an experiment, not shipped — 1.2e-3 and 4.9e-3, which confirms where the
// rest comes from). Both variants: at most 1.5x further from ref/ than llama.cpp's output for the same
// file (index.json; Q8_0: 2.0e-2 and 1.7e-2), i.e. the file's rounding, not more.
constexpr double kQ8Tol = 2e-2;

std::vector<float> ref(const std::string& model, const std::string& rel) {
  return load_npy(golden(model, rel)).f32();
}

using Param = std::tuple<std::string, std::string>;  // model, ISA name
std::string param_name(const ::testing::TestParamInfo<Param>& p) {
  return std::get<0>(p.param) + "_" + std::get<1>(p.param);
}

class VisionGoldenF32 : public ::testing::TestWithParam<Param> {};

TEST_P(VisionGoldenF32, MatchesRefAndLlamaCpp) {
  const auto& [model_name, isa] = GetParam();
  SMOLVLM_REQUIRE_SHARED("golden/" + model_name + "/gguf/mmproj-F32.gguf");
  SMOLVLM_REQUIRE_ISA(isa);
  IsaScope scope(*kernels::parse_isa(isa));
  const VisionModel model = VisionModel::open(golden(model_name, "gguf/mmproj-F32.gguf"));
  const std::vector<float> tiles = golden_tiles(model_name);
  const VisionRun r = run_vision(model, tiles, 2);
  for (int t = 0; t < 2; ++t) {
    SCOPED_TRACE("tile " + std::to_string(t));
    const std::string p = "ref/vision_tile" + std::to_string(t) + "_";
    const double e = rel_diff(tile_of(r.embeddings, 2, t), ref(model_name, p + "embeddings.npy"));
    const double pl = rel_diff(tile_of(r.post_ln, 2, t), ref(model_name, p + "post_ln.npy"));
    const double em = rel_diff(tile_of(r.emb, 2, t), ref(model_name, p + "emb.npy"));
    const double cpp =
        rel_diff(tile_of(r.emb, 2, t), ref(model_name, "llamacpp/vision/F32/emb_tile" + std::to_string(t) + ".npy"));
    std::printf("  %s %s tile %d vs ref: embeddings %.2e, post_ln %.2e, emb %.2e; emb vs llama.cpp F32 %.2e\n",
                model_name.c_str(), isa.c_str(), t, e, pl, em, cpp);
    EXPECT_LE(e, kRefTol);
    EXPECT_LE(pl, kRefTol);
    EXPECT_LE(em, kRefTol);
    EXPECT_LE(cpp, kLlamaCppF32Tol);
  }
  const double e1 = rel_diff(tile_of(r.embeddings, 2, 1), ref(model_name, "llamacpp/vision/F32/embeddings_tile1.npy"));
  const double p1 = rel_diff(tile_of(r.post_ln, 2, 1), ref(model_name, "llamacpp/vision/F32/post_ln_tile1.npy"));
  std::printf("  %s %s tile 1 vs llama.cpp F32: embeddings %.2e, post_ln %.2e\n", model_name.c_str(), isa.c_str(), e1,
              p1);
  EXPECT_LE(e1, kLlamaCppF32Tol);
  EXPECT_LE(p1, kLlamaCppF32Tol);
}

INSTANTIATE_TEST_SUITE_P(Vision, VisionGoldenF32,
                         ::testing::Combine(::testing::Values("tiny512", "tiny384"),
                                            ::testing::Values("scalar", "avx2", "avx512")),
                         param_name);

using VariantParam = std::tuple<std::string, std::string, std::string>;  // model, variant, ISA
std::string variant_name(const ::testing::TestParamInfo<VariantParam>& p) {
  return std::get<0>(p.param) + "_" + std::get<1>(p.param) + "_" + std::get<2>(p.param);
}

class VisionGoldenVariant : public ::testing::TestWithParam<VariantParam> {};

TEST_P(VisionGoldenVariant, MatchesLlamaCppForTheSameFile) {
  const auto& [model_name, variant, isa] = GetParam();
  SMOLVLM_REQUIRE_SHARED("golden/" + model_name + "/gguf/mmproj-" + variant + ".gguf");
  SMOLVLM_REQUIRE_ISA(isa);
  IsaScope scope(*kernels::parse_isa(isa));
  const testing::F16AsBf16Scope f16(0);  // F16 as F16 (VisionGoldenBf16 below runs it as bf16)
  const VisionModel model = VisionModel::open(golden(model_name, "gguf/mmproj-" + variant + ".gguf"));
  const std::vector<float> tiles = golden_tiles(model_name);
  const VisionRun r = run_vision(model, tiles, 2);
  const nlohmann::json measured = testing::vision::golden_index(model_name)["ref"]["vs_llamacpp"]["vision"][variant];
  for (int t = 0; t < 2; ++t) {
    SCOPED_TRACE("tile " + std::to_string(t));
    const std::string T = std::to_string(t);
    const auto cpp_emb = ref(model_name, "llamacpp/vision/" + variant + "/emb_tile" + T + ".npy");
    const double cpp = rel_diff(tile_of(r.emb, 2, t), cpp_emb);
    const double vs_ref = rel_diff(tile_of(r.emb, 2, t), ref(model_name, "ref/vision_tile" + T + "_emb.npy"));
    std::printf("  %s %s %s tile %d: emb vs llama.cpp %s %.2e, vs ref %.2e\n", model_name.c_str(), variant.c_str(),
                isa.c_str(), t, variant.c_str(), cpp, vs_ref);
    EXPECT_LE(cpp, variant == "F16" ? kF16Tol : kQ8Tol);
    // The file's own rounding: no further from ref/ than llama.cpp's output for it (index.json).
    const double cpp_vs_ref = measured["tile" + T]["emb"].get<double>();
    EXPECT_LE(vs_ref, 1.5 * cpp_vs_ref) << "llama.cpp's " << variant << " output is " << cpp_vs_ref << " from ref/";
  }
}

INSTANTIATE_TEST_SUITE_P(Vision, VisionGoldenVariant,
                         ::testing::Combine(::testing::Values("tiny512"), ::testing::Values("F16", "Q8_0"),
                                            ::testing::Values("scalar", "avx2", "avx512")),
                         variant_name);
// tiny384 has no Q8_0 mmproj (llama-quantize refuses its 72- and 648-wide rows, README §2).
INSTANTIATE_TEST_SUITE_P(Vision384, VisionGoldenVariant,
                         ::testing::Combine(::testing::Values("tiny384"), ::testing::Values("F16"),
                                            ::testing::Values("scalar", "avx2", "avx512")),
                         variant_name);

// The fast mode's bf16 path for an F16 mmproj (kernels/matmul.h PackOptions::f16_as_bf16): where
// the CPU has AVX512_BF16 every F16 matrix runs on vdpbf16ps with its weights rounded to bf16 and its
// activations rounded to bf16 per call, the precision of the published SmolVLM2 weights and of
// transformers' bf16 runs. Forced here on every ISA. Each bf16 rounding is 2^-9 relative, 8 times
// fp16's, and the F16 path sits ~6e-4 from ref/, so ~5e-3 is expected: bound 1e-2 from ref/ and
// from the F16 path of the same file (measured on scalar and AVX2: 3.9e-3 .. 4.9e-3 for both).
constexpr double kBf16Tol = 1e-2;

class VisionGoldenBf16 : public ::testing::TestWithParam<Param> {};

TEST_P(VisionGoldenBf16, StaysWithinBf16RoundingOfRef) {
  const auto& [model_name, isa] = GetParam();
  SMOLVLM_REQUIRE_SHARED("golden/" + model_name + "/gguf/mmproj-F16.gguf");
  SMOLVLM_REQUIRE_ISA(isa);
  IsaScope scope(*kernels::parse_isa(isa));
  const ScopedNumerics fast(Numerics::kFast);
  const std::vector<float> tiles = golden_tiles(model_name);
  const auto run = [&](int bf16) {
    const testing::F16AsBf16Scope f16(bf16);
    return run_vision(VisionModel::open(golden(model_name, "gguf/mmproj-F16.gguf")), tiles, 2);
  };
  const VisionRun b = run(1), f = run(0);
  for (int t = 0; t < 2; ++t) {
    SCOPED_TRACE("tile " + std::to_string(t));
    const auto want = ref(model_name, "ref/vision_tile" + std::to_string(t) + "_emb.npy");
    const double vs_ref = rel_diff(tile_of(b.emb, 2, t), want), vs_f16 = rel_diff(tile_of(b.emb, 2, t), tile_of(f.emb, 2, t));
    std::printf("  %s %s tile %d, F16 mmproj as bf16: emb vs ref %.2e (as F16: %.2e), vs the F16 path %.2e\n",
                model_name.c_str(), isa.c_str(), t, vs_ref, rel_diff(tile_of(f.emb, 2, t), want), vs_f16);
    EXPECT_LE(vs_ref, kBf16Tol);
    EXPECT_LE(vs_f16, kBf16Tol);
    EXPECT_GT(vs_f16, 0.0) << "the bf16 path gave the F16 path's bits: nothing was rounded to bf16";
  }
}

INSTANTIATE_TEST_SUITE_P(Vision, VisionGoldenBf16,
                         ::testing::Combine(::testing::Values("tiny512", "tiny384"),
                                            ::testing::Values("scalar", "avx2", "avx512")),
                         param_name);

}  // namespace
}  // namespace smolvlm
