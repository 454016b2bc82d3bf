// Bad input to the vision model: files that are not clip/idefics3 projectors, missing or
// inconsistent keys, missing tensors, wrong shapes and types; wrong tiles. Every error names what
// is wrong. Also the legitimate variations a reader of third-party files must accept: the legacy
// swapped ffn_up/ffn_down names, non-F32 vectors, a file without the layer-norm eps key.
#include "kernels/matmul.h"
#include "test_vision_model_util.h"

namespace smolvlm {
namespace {

using testing::vision::edit_mmproj;
using testing::vision::golden;
using testing::vision::golden_tiles;
using testing::vision::MmprojEdit;
using testing::vision::rel_diff;
using testing::vision::run_vision;

const char* kMmproj = "golden/tiny512/gguf/mmproj-F32.gguf";

GgufFile golden_mmproj() { return GgufFile::open(testing::shared_path(kMmproj).string()); }

// Loads the tiny512 F32 mmproj rewritten by `e`.
void load_edited(const MmprojEdit& e) {
  const auto bytes = edit_mmproj(golden_mmproj(), e);
  const VisionModel m(GgufFile::parse(bytes, "edited.gguf"));
}

TEST(VisionModelErrors, RejectsFilesThatAreNotIdefics3Projectors) {
  SMOLVLM_REQUIRE_SHARED(kMmproj);
  TEXT_EXPECT_THROW_MSG(VisionModel::open(golden("tiny512", "gguf/text-F32.gguf")),
                        "not an mmproj file (general.architecture is 'llama')");
  TEXT_EXPECT_THROW_MSG(
      load_edited({.edit_kv = [](GgufWriter& w) { w.set("clip.projector_type", GgufValue::str("mlp")); }}),
      "projector type 'mlp' is not supported (only 'idefics3'");
  TEXT_EXPECT_THROW_MSG(load_edited({.edit_kv = [](GgufWriter& w) { w.remove("clip.projector_type"); }}),
                        "missing key 'clip.projector_type'");
  TEXT_EXPECT_THROW_MSG(
      load_edited({.edit_kv = [](GgufWriter& w) { w.set("clip.has_vision_encoder", GgufValue::boolean(false)); }}),
      "the file has no vision encoder");
  TEXT_EXPECT_THROW_MSG(
      load_edited({.edit_kv = [](GgufWriter& w) { w.set("general.architecture", GgufValue::str("llama")); }}),
      "not an mmproj file (general.architecture is 'llama')");
}

TEST(VisionModelErrors, RejectsMissingAndInconsistentKeys) {
  SMOLVLM_REQUIRE_SHARED(kMmproj);
  TEXT_EXPECT_THROW_MSG(load_edited({.edit_kv = [](GgufWriter& w) { w.remove("clip.vision.block_count"); }}),
                        "missing key 'clip.vision.block_count' (required for a clip vision encoder)");
  TEXT_EXPECT_THROW_MSG(
      load_edited({.edit_kv = [](GgufWriter& w) { w.set("clip.vision.patch_size", GgufValue::str("16")); }}),
      "key 'clip.vision.patch_size': GGUF value has type str, expected an integer");
  TEXT_EXPECT_THROW_MSG(
      load_edited({.edit_kv = [](GgufWriter& w) { w.set("clip.vision.attention.head_count", GgufValue::u32(5)); }}),
      "embedding_length 64 is not a multiple of the 5 attention heads");
  TEXT_EXPECT_THROW_MSG(load_edited({.edit_kv =
                                         [](GgufWriter& w) {
                                           w.set("clip.vision.projector.scale_factor", GgufValue::u32(5));
                                         }}),
                        "32x32 patch grid (image_size 512 / patch_size 16) is not divisible by the pixel-shuffle "
                        "scale_factor 5");
  TEXT_EXPECT_THROW_MSG(load_edited({.edit_kv =
                                         [](GgufWriter& w) {
                                           w.set("clip.vision.attention.layer_norm_epsilon", GgufValue::f32(-1.0f));
                                         }}),
                        "'clip.vision.attention.layer_norm_epsilon' has the invalid value -1");
  TEXT_EXPECT_THROW_MSG(load_edited({.edit_kv =
                                         [](GgufWriter& w) {
                                           w.set("clip.vision.image_mean", GgufValue::f32_array({0.5f, 0.5f}));
                                         }}),
                        "'clip.vision.image_mean' has 2 values, expected 3");
}

TEST(VisionModelErrors, RejectsMissingTensorsWrongShapesAndTypes) {
  SMOLVLM_REQUIRE_SHARED(kMmproj);
  TEXT_EXPECT_THROW_MSG(load_edited({.rename = [](const std::string& n) {
                          return n == "v.blk.1.attn_k.weight" ? std::string() : n;
                        }}),
                        "missing tensor 'v.blk.1.attn_k.weight' (the SmolVLM vision encoder needs it)");
  TEXT_EXPECT_THROW_MSG(load_edited({.rename = [](const std::string& n) {
                          return n == "mm.model.fc.weight" ? std::string() : n;
                        }}),
                        "missing tensor 'mm.model.fc.weight'");
  // hyper-parameters that disagree with the tensors
  TEXT_EXPECT_THROW_MSG(
      load_edited({.edit_kv = [](GgufWriter& w) { w.set("clip.vision.feed_forward_length", GgufValue::u32(128)); }}),
      "tensor 'v.blk.0.ffn_up.weight' has shape [64, 256], expected [64, 128]");
  TEXT_EXPECT_THROW_MSG(
      load_edited({.edit_kv = [](GgufWriter& w) { w.set("clip.vision.projector.scale_factor", GgufValue::u32(2)); }}),
      "tensor 'mm.model.fc.weight' has shape [1024, 256], expected [256, 256]");
  TEXT_EXPECT_THROW_MSG(
      load_edited({.edit_kv = [](GgufWriter& w) { w.set("clip.vision.projection_dim", GgufValue::u32(576)); }}),
      "tensor 'mm.model.fc.weight' has shape [1024, 256], expected [1024, 576]");
  TEXT_EXPECT_THROW_MSG(
      load_edited({.edit_kv = [](GgufWriter& w) { w.set("clip.vision.image_size", GgufValue::u32(384)); }}),
      "tensor 'v.position_embd.weight' has shape [64, 1024], expected [64, 576]");
  // a matrix type the kernels lack
  GgmlType bad = GgmlType::F32;
  for (uint32_t id = 0; id < 64 && bad == GgmlType::F32; ++id) {
    const GgmlTypeInfo* info = ggml_type_info(id);
    if (info != nullptr && !kernels::matmul_supports(info->type) && can_quantize(info->type) &&
        64 % info->block_size == 0)
      bad = info->type;
  }
  if (bad != GgmlType::F32) {
    TEXT_EXPECT_THROW_MSG(load_edited({.retype = [&](const GgufTensorInfo& t) {
                            return t.name == "v.blk.0.attn_q.weight" ? bad : t.type;
                          }}),
                          "tensor 'v.blk.0.attn_q.weight' has type " + ggml_type_name(bad) +
                              ", which the matmul kernels do not support");
  }
}

TEST(VisionModelErrors, RejectsWrongTiles) {
  SMOLVLM_REQUIRE_SHARED(kMmproj);
  const VisionModel m = VisionModel::open(testing::shared_path(kMmproj).string());
  const std::vector<int64_t> ok{2, 3, 512, 512}, small{1, 3, 384, 384}, hwc{1, 512, 512, 3}, flat{3, 512, 512},
      none{0, 3, 512, 512};
  EXPECT_NO_THROW(m.check_tiles_shape(ok));
  TEXT_EXPECT_THROW_MSG(m.check_tiles_shape(small),
                        "vision tiles are 384x384 pixels (shape [1, 3, 384, 384]), but this vision encoder takes "
                        "512x512 tiles");
  TEXT_EXPECT_THROW_MSG(m.check_tiles_shape(hwc), "expected [n_tiles, 3, 512, 512]");
  TEXT_EXPECT_THROW_MSG(m.check_tiles_shape(flat), "expected [n_tiles, 3, 512, 512]");
  TEXT_EXPECT_THROW_MSG(m.check_tiles_shape(none), "no tiles");
  kernels::ThreadPool pool(1);
  float x = 0;
  TEXT_EXPECT_THROW_MSG(m.encode(&x, 0, &x, pool), "no tiles");
}

// Files llama.cpp's loader accepts and that must give the same embeddings.
TEST(VisionModelVariants, LegacySwappedFfnNamesAreDetectedByShape) {
  SMOLVLM_REQUIRE_SHARED(kMmproj);
  const auto swapped = edit_mmproj(golden_mmproj(), {.rename = [](const std::string& n) {
                                     auto swap = [&](const std::string& a, const std::string& b) {
                                       const size_t at = n.find(a);
                                       return at == std::string::npos ? std::string() : n.substr(0, at) + b +
                                                                                            n.substr(at + a.size());
                                     };
                                     if (auto s = swap(".ffn_up.", ".ffn_down."); !s.empty()) return s;
                                     if (auto s = swap(".ffn_down.", ".ffn_up."); !s.empty()) return s;
                                     return n;
                                   }});
  const VisionModel legacy(GgufFile::parse(swapped, "legacy.gguf"));
  const VisionModel modern = VisionModel::open(testing::shared_path(kMmproj).string());
  EXPECT_TRUE(legacy.weights().ffn_swapped);
  EXPECT_FALSE(modern.weights().ffn_swapped);
  const std::vector<float> tiles = golden_tiles("tiny512");
  EXPECT_EQ(run_vision(legacy, tiles, 2).emb, run_vision(modern, tiles, 2).emb);
}

TEST(VisionModelVariants, HalfPrecisionVectorsAndMissingEpsKey) {
  SMOLVLM_REQUIRE_SHARED(kMmproj);
  // Position table, biases and norms stored F16 (dequantized at load), no eps key (1e-6 default).
  const auto bytes = edit_mmproj(golden_mmproj(), {.edit_kv =
                                                       [](GgufWriter& w) {
                                                         w.remove("clip.vision.attention.layer_norm_epsilon");
                                                       },
                                                   .retype = [](const GgufTensorInfo& t) {
                                                     return t.ne.size() == 1 || t.name == "v.position_embd.weight"
                                                                ? GgmlType::F16
                                                                : t.type;
                                                   }});
  const VisionModel m(GgufFile::parse(bytes, "f16-vectors.gguf"));
  EXPECT_FLOAT_EQ(m.config().eps, 1e-6f);
  EXPECT_FALSE(m.weights().owned.empty());
  const auto r = run_vision(m, golden_tiles("tiny512"), 2);
  // fp16 vectors: each value moves by <= 2^-11 relative; the output by about as much.
  for (int t = 0; t < 2; ++t) {
    const auto ref = testing::load_npy(golden("tiny512", "ref/vision_tile" + std::to_string(t) + "_emb.npy")).f32();
    const double d = rel_diff(testing::vision::tile_of(r.emb, 2, t), ref);
    EXPECT_LE(d, 2e-3);
    EXPECT_GT(d, 1e-6);  // the rounding did reach the output
  }
}

}  // namespace
}  // namespace smolvlm
