// The vision model's pieces and its CLI: the pixel shuffle against transformers' reshape/permute
// sequence and spec §4.1's index map, the hyper-parameters of both golden towers, invariance of
// the output under tiles-per-pass and thread count, and `smolvlm dev embed` end to end.
#include <cstring>
#include <random>

#include "kernels/layout.h"
#include "test_vision_model_util.h"

namespace smolvlm {
namespace {

using testing::vision::golden;
using testing::vision::golden_tiles;
using testing::vision::rel_diff;
using testing::vision::run_vision;
using testing::vision::tile_of;
using testing::vision::VisionRun;

// transformers' SmolVLMConnector.pixel_shuffle, step by step: view [B, h, w, D] -> view
// [B, h, w/s, D*s] -> permute(0, 2, 1, 3) -> reshape [B, w/s, h/s, D*s*s] -> permute(0, 2, 1, 3)
// -> reshape [B, N/s^2, D*s^2]. Views of contiguous arrays are free; each permute is materialized.
std::vector<float> hf_pixel_shuffle(const std::vector<float>& x, int64_t B, int64_t side, int64_t D, int64_t s) {
  // swap axes 1 and 2 of a contiguous [B, a, b, c] array
  auto permute = [](const std::vector<float>& in, int64_t B_, int64_t a, int64_t b, int64_t c) {
    std::vector<float> out(in.size());
    for (int64_t i = 0; i < B_; ++i)
      for (int64_t j = 0; j < a; ++j)
        for (int64_t k = 0; k < b; ++k)
          for (int64_t l = 0; l < c; ++l) out[((i * b + k) * a + j) * c + l] = in[((i * a + j) * b + k) * c + l];
    return out;
  };
  const int64_t h = side, w = side;
  std::vector<float> y = permute(x, B, h, w / s, D * s);  // [B, w/s, h, D*s]
  return permute(y, B, w / s, h / s, D * s * s);          // [B, h/s, w/s, D*s*s]
}

TEST(VisionConnector, PixelShuffleMatchesTransformersAndTheSpecIndexMap) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1, 1);
  for (const auto& [B, side, D, s] : {std::tuple<int64_t, int64_t, int64_t, int64_t>{2, 8, 3, 4}, {1, 6, 5, 3},
                                      {3, 4, 2, 2}, {1, 32, 7, 4}, {1, 27, 4, 3}}) {
    SCOPED_TRACE(::testing::Message() << "B " << B << " side " << side << " D " << D << " s " << s);
    std::vector<float> x(static_cast<size_t>(B * side * side * D));
    for (auto& v : x) v = u(rng);
    std::vector<float> out(x.size());
    kernels::pixel_shuffle(x.data(), B, side, D, s, out.data());
    EXPECT_EQ(out, hf_pixel_shuffle(x, B, side, D, s));
    // spec §4.1: out[b, ib*(w/s) + jb, (ir*s + jr)*D + d] = x[b, (s*ib + ir)*w + (s*jb + jr), d]
    const int64_t cw = side / s, N = side * side, No = N / (s * s);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t ib = 0; ib < cw; ++ib)
        for (int64_t jb = 0; jb < cw; ++jb)
          for (int64_t ir = 0; ir < s; ++ir)
            for (int64_t jr = 0; jr < s; ++jr)
              for (int64_t d = 0; d < D; ++d)
                ASSERT_EQ(out[static_cast<size_t>((b * No + ib * cw + jb) * D * s * s + (ir * s + jr) * D + d)],
                          x[static_cast<size_t>((b * N + (s * ib + ir) * side + (s * jb + jr)) * D + d)]);
  }
  float x[4] = {}, y[4];
  TEXT_EXPECT_THROW_MSG(kernels::pixel_shuffle(x, 1, 2, 1, 3, y), "not divisible by 3");
}

TEST(VisionConfig, ReadsBothGoldenTowers) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny384/gguf/mmproj-F32.gguf");
  const VisionConfig a = read_vision_config(GgufFile::open(golden("tiny512", "gguf/mmproj-F32.gguf")));
  EXPECT_EQ(a.image_size, 512);
  EXPECT_EQ(a.patch_size, 16);
  EXPECT_EQ(a.n_embd, 64);
  EXPECT_EQ(a.n_ff, 256);
  EXPECT_EQ(a.n_layer, 2);
  EXPECT_EQ(a.n_head, 4);
  EXPECT_EQ(a.head_dim(), 16);
  EXPECT_EQ(a.scale_factor, 4);
  EXPECT_EQ(a.projection_dim, 256);
  EXPECT_EQ(a.n_patches(), 1024);
  EXPECT_EQ(a.tokens_per_tile(), 64);
  EXPECT_EQ(a.connector_dim(), 1024);
  EXPECT_EQ(a.preproc_image_size, 2048);
  EXPECT_FLOAT_EQ(a.eps, 1e-6f);
  EXPECT_EQ(a.image_mean, (std::array<float, 3>{0.5f, 0.5f, 0.5f}));
  const VisionConfig b = read_vision_config(GgufFile::open(golden("tiny384", "gguf/mmproj-F32.gguf")));
  EXPECT_EQ(b.image_size, 384);
  EXPECT_EQ(b.patch_size, 14);
  EXPECT_EQ(b.patches_per_side(), 27);
  EXPECT_EQ(b.n_embd, 72);
  EXPECT_EQ(b.head_dim(), 36);
  EXPECT_EQ(b.scale_factor, 3);
  EXPECT_EQ(b.tokens_per_tile(), 81);
  EXPECT_EQ(b.connector_dim(), 648);
  EXPECT_EQ(b.patch_dim(), 588);
  EXPECT_EQ(b.preproc_image_size, 1536);
}

TEST(VisionModel, SameResultWhateverTheTilesPerPassAndThreads) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/mmproj-F32.gguf");
  const VisionModel m = VisionModel::open(golden("tiny512", "gguf/mmproj-F32.gguf"));
  const std::vector<float> tiles = golden_tiles("tiny512");
  const VisionRun both = run_vision(m, tiles, 2, 2, 4);
  const VisionRun one_by_one = run_vision(m, tiles, 2, 1, 1);
  const std::vector<float> second(tiles.begin() + static_cast<long>(tiles.size() / 2), tiles.end());
  const VisionRun alone = run_vision(m, second, 1, 3, 4);
  // Every output element is one dot product whose order does not depend on the batch.
  EXPECT_LE(rel_diff(both.emb, one_by_one.emb), 1e-6);
  EXPECT_LE(rel_diff(both.post_ln, one_by_one.post_ln), 1e-6);
  EXPECT_LE(rel_diff(tile_of(both.emb, 2, 1), alone.emb), 1e-6);
  // The span overload gives the same embeddings and checks the size.
  kernels::ThreadPool pool(2);
  EXPECT_EQ(m.encode(tiles, 2, pool), both.emb);
  TEXT_EXPECT_THROW_MSG(m.encode(std::span<const float>(tiles).first(tiles.size() - 1), 2, pool),
                        "floats given for 2 tiles of 3x512x512");
}

TEST(VisionModel, FlopsPerTileCountsMatmulsAttentionConvAndConnector) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/mmproj-F32.gguf");
  const VisionModel m = VisionModel::open(golden("tiny512", "gguf/mmproj-F32.gguf"));
  // tiny512: conv 2*1024*768*64, per layer 2*1024*(4*64*64 + 2*64*256) + 4*1024^2*64, connector 2*64*1024*256
  const double want = 2.0 * 1024 * 768 * 64 + 2 * (2.0 * 1024 * (4 * 64 * 64 + 2 * 64 * 256) + 4.0 * 1024 * 1024 * 64) +
                      2.0 * 64 * 1024 * 256;
  EXPECT_DOUBLE_EQ(m.flops_per_tile(), want);
}

// ---- `smolvlm dev embed` ----

void write_f32_npy(const std::filesystem::path& p, const std::vector<int64_t>& shape, const std::vector<float>& v,
                   const std::string& descr = "<f4") {
  std::string dims;
  for (size_t i = 0; i < shape.size(); ++i) dims += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) dims += ",";
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  const size_t n = descr == "|u1" ? v.size() : v.size() * sizeof(float);
  if (descr == "|u1") {
    for (float f : v) bytes += static_cast<char>(static_cast<uint8_t>(f));
  } else {
    bytes.append(reinterpret_cast<const char*>(v.data()), n);
  }
  testing::write_file(p, bytes.data(), bytes.size());
}

TEST(VisionDevEmbed, WritesEmbeddingsAndIntermediatesThatMatchRef) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/mmproj-F32.gguf");
  testing::TempDir dir;
  write_f32_npy(dir / "tiles.npy", {2, 3, 512, 512}, golden_tiles("tiny512"));
  const auto r = testing::run_smolvlm({"dev", "embed", golden("tiny512", "gguf/mmproj-F32.gguf"), "--tiles",
                                       (dir / "tiles.npy").string(), "--out", (dir / "emb.npy").string(), "--post-ln",
                                       (dir / "pl.npy").string(), "--embeddings", (dir / "e.npy").string(),
                                       "--threads", "2", "--tiles-per-pass", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("[2, 64, 256] float32"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("s per tile"), std::string::npos) << r.out;
  const testing::Npy emb = testing::load_npy(dir / "emb.npy");
  EXPECT_EQ(emb.shape, (std::vector<int64_t>{2, 64, 256}));
  const testing::Npy pl = testing::load_npy(dir / "pl.npy");
  const testing::Npy e = testing::load_npy(dir / "e.npy");
  EXPECT_EQ(pl.shape, (std::vector<int64_t>{2, 1024, 64}));
  EXPECT_EQ(e.shape, (std::vector<int64_t>{2, 1024, 64}));
  for (int t = 0; t < 2; ++t) {
    const std::string p = "ref/vision_tile" + std::to_string(t) + "_";
    EXPECT_LE(rel_diff(tile_of(emb.f32(), 2, t), testing::load_npy(golden("tiny512", p + "emb.npy")).f32()), 1e-4);
    EXPECT_LE(rel_diff(tile_of(pl.f32(), 2, t), testing::load_npy(golden("tiny512", p + "post_ln.npy")).f32()), 1e-4);
    EXPECT_LE(rel_diff(tile_of(e.f32(), 2, t), testing::load_npy(golden("tiny512", p + "embeddings.npy")).f32()),
              1e-4);
  }
}

TEST(VisionDevEmbed, RejectsWrongTilesClearly) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/mmproj-F32.gguf");
  testing::TempDir dir;
  const std::string mmproj = golden("tiny512", "gguf/mmproj-F32.gguf");
  auto embed = [&](const std::string& tiles) {
    return testing::run_smolvlm({"dev", "embed", mmproj, "--tiles", tiles, "--out", (dir / "o.npy").string()});
  };
  // 384-pixel tiles for a 512 tower
  write_f32_npy(dir / "t384.npy", {1, 3, 384, 384}, std::vector<float>(3 * 384 * 384, 0.1f));
  auto r = embed((dir / "t384.npy").string());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("tiles are 384x384 pixels"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("takes 512x512 tiles"), std::string::npos) << r.err;
  // channel-last uint8 tiles (what `dev preprocess` writes without --float)
  write_f32_npy(dir / "u8.npy", {1, 512, 512, 3}, std::vector<float>(3 * 512 * 512, 7), "|u1");
  r = embed((dir / "u8.npy").string());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("expected [n_tiles, 3, 512, 512]"), std::string::npos) << r.err;
  write_f32_npy(dir / "u8c.npy", {1, 3, 512, 512}, std::vector<float>(3 * 512 * 512, 7), "|u1");
  r = embed((dir / "u8c.npy").string());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("expected float32"), std::string::npos) << r.err;
  // truncated data, not an .npy at all
  write_f32_npy(dir / "short.npy", {2, 3, 512, 512}, std::vector<float>(3 * 512 * 512, 0.0f));
  r = embed((dir / "short.npy").string());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(".npy data has"), std::string::npos) << r.err;
  testing::write_file(dir / "junk.npy", "hello", 5);
  r = embed((dir / "junk.npy").string());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("not a NumPy .npy file"), std::string::npos) << r.err;
  // a text GGUF instead of the mmproj
  write_f32_npy(dir / "ok.npy", {1, 3, 512, 512}, std::vector<float>(3 * 512 * 512, 0.0f));
  r = testing::run_smolvlm({"dev", "embed", golden("tiny512", "gguf/text-F32.gguf"), "--tiles",
                            (dir / "ok.npy").string(), "--out", (dir / "o.npy").string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("not an mmproj file (general.architecture is 'llama')"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "o.npy"));
}

}  // namespace
}  // namespace smolvlm
