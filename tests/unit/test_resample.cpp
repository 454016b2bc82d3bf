// Pillow-exact LANCZOS: the per-axis fixed-point kernels against Pillow's own (lanczos_coeffs.json),
// the two-pass resampler against a direct evaluation of those kernels (pass order, the horizontal
// pass covering only the rows the vertical pass reads, skipped passes, threads), and bad input.
// Bit-exact whole-pipeline checks against Pillow's output are in test_image_processor.cpp.
#include <gtest/gtest.h>

#include <random>

#include "base/error.h"
#include "media/resample.h"
#include "test_preprocess_util.h"

namespace smolvlm {
namespace {

using namespace smolvlm::testing;

RgbImage random_image(int w, int h, uint32_t seed) {
  RgbImage im(w, h);
  std::mt19937 rng(seed);
  for (auto& p : im.pixels) p = static_cast<uint8_t>(rng() >> 24);
  return im;
}

// Straightforward evaluation of the recipe: horizontal pass over every input row, then vertical.
RgbImage reference_resize(const RgbImage& src, int out_w, int out_h) {
  auto apply = [](int32_t acc) -> uint8_t {
    const int32_t v = acc >> 22;
    return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
  };
  RgbImage h = src;
  if (out_w != src.width) {
    const LanczosKernel k = lanczos_kernel(src.width, out_w);
    h = RgbImage(out_w, src.height);
    for (int y = 0; y < src.height; ++y)
      for (int x = 0; x < out_w; ++x)
        for (int c = 0; c < 3; ++c) {
          int32_t acc = 1 << 21;
          for (int t = 0; t < k.taps[x]; ++t) acc += src.row(y)[(k.xmin[x] + t) * 3 + c] * k.row(x)[t];
          h.row(y)[x * 3 + c] = apply(acc);
        }
  }
  if (out_h == h.height) return h;
  const LanczosKernel k = lanczos_kernel(h.height, out_h);
  RgbImage v(out_w, out_h);
  for (int y = 0; y < out_h; ++y)
    for (int x = 0; x < out_w * 3; ++x) {
      int32_t acc = 1 << 21;
      for (int t = 0; t < k.taps[y]; ++t) acc += h.row(k.xmin[y] + t)[x] * k.row(y)[t];
      v.row(y)[x] = apply(acc);
    }
  return v;
}

TEST(Resample, KernelsMatchPillow) {
  SMOLVLM_REQUIRE_SHARED("golden/preprocess/lanczos_coeffs.json");
  const nlohmann::json axes = preprocess_json("lanczos_coeffs.json")["axes"];
  ASSERT_GE(axes.size(), 8u);
  for (const auto& a : axes) {
    const int in = a["in"], out = a["out"];
    const LanczosKernel k = lanczos_kernel(in, out);
    const std::string what = cat(in, " -> ", out);
    EXPECT_EQ(k.ksize, a["ksize"].get<int>()) << what;
    ASSERT_EQ(k.xmin, a["xmin"].get<std::vector<int32_t>>()) << what;
    ASSERT_EQ(k.taps, a["taps"].get<std::vector<int32_t>>()) << what;
    const auto& q = a["k_fixed_q22"];
    ASSERT_EQ(q.size(), static_cast<size_t>(out)) << what;
    for (int i = 0; i < out; ++i) {
      const auto want = q[static_cast<size_t>(i)].get<std::vector<int32_t>>();
      ASSERT_EQ(want.size(), static_cast<size_t>(k.taps[i])) << what << " output " << i;
      const std::vector<int32_t> got(k.row(i), k.row(i) + k.taps[i]);
      ASSERT_EQ(got, want) << what << " output " << i;
      for (int t = k.taps[i]; t < k.ksize; ++t) EXPECT_EQ(k.row(i)[t], 0) << what;
    }
  }
}

TEST(Resample, IdentityKernelAndWeightSums) {
  const LanczosKernel id = lanczos_kernel(37, 37);  // scale 1: integer offsets -> a unit impulse
  for (int i = 0; i < 37; ++i) {
    int32_t sum = 0, peak = 0;
    for (int t = 0; t < id.taps[i]; ++t) sum += id.row(i)[t], peak = std::max(peak, id.row(i)[t]);
    EXPECT_EQ(peak, 1 << 22);
    EXPECT_EQ(sum, 1 << 22);
  }
  for (auto [in, out] : {std::pair{2048, 512}, {480, 1536}, {3, 682}, {1500, 2048}}) {
    const LanczosKernel k = lanczos_kernel(in, out);
    for (int i = 0; i < out; ++i) {
      int64_t sum = 0;
      for (int t = 0; t < k.taps[i]; ++t) sum += k.row(i)[t];
      EXPECT_NEAR(static_cast<double>(sum), 1 << 22, k.taps[i]) << in << "->" << out;  // rounding only
    }
  }
}

TEST(Resample, TwoPassesMatchDirectEvaluation) {
  const RgbImage src = random_image(61, 47, 7);
  for (auto [w, h] : {std::pair{200, 150}, {17, 13}, {61, 120}, {150, 47}, {13, 90}, {90, 9}, {1, 1}, {61, 1}}) {
    const RgbImage want = reference_resize(src, w, h);
    for (int threads : {1, 3}) {
      const RgbImage got = resize_lanczos(src, w, h, threads);
      ASSERT_EQ(got.width, w);
      ASSERT_EQ(got.height, h);
      EXPECT_EQ(got.pixels, want.pixels) << w << "x" << h << " threads " << threads;
    }
  }
}

TEST(Resample, UnchangedSizeIsAnExactCopy) {
  const RgbImage src = random_image(33, 21, 3);
  EXPECT_EQ(resize_lanczos(src, 33, 21).pixels, src.pixels);
  // A skipped axis leaves that axis' samples untouched: one row / column in, one out.
  const RgbImage row = random_image(50, 1, 4);
  const RgbImage up = resize_lanczos(row, 50, 9);
  for (int y = 0; y < 9; ++y) EXPECT_EQ(std::vector<uint8_t>(up.row(y), up.row(y) + 150), row.pixels) << y;
}

TEST(Resample, ConstantImageStaysConstantAndExtremesClip) {
  RgbImage flat(40, 30);
  for (size_t i = 0; i < flat.pixels.size(); ++i)
    flat.pixels[i] = static_cast<uint8_t>(i % 3 == 0 ? 0 : i % 3 == 1 ? 255 : 77);
  const RgbImage r = resize_lanczos(flat, 123, 11);
  for (size_t i = 0; i < r.pixels.size(); ++i) ASSERT_EQ(r.pixels[i], flat.pixels[i % 3]) << i;
  // A hard black/white edge overshoots (negative lobes) and must clip, not wrap.
  RgbImage edge(8, 1);
  for (int x = 0; x < 8; ++x) edge.row(0)[x * 3] = edge.row(0)[x * 3 + 1] = edge.row(0)[x * 3 + 2] = x < 4 ? 0 : 255;
  const RgbImage e = resize_lanczos(edge, 64, 1);
  EXPECT_EQ(e.row(0)[0], 0);
  EXPECT_EQ(e.row(0)[63 * 3], 255);
  for (int x = 0; x < 24; ++x) EXPECT_LT(e.row(0)[x * 3], 64) << x;    // a wrapped -1 would read 255
  for (int x = 40; x < 64; ++x) EXPECT_GT(e.row(0)[x * 3], 192) << x;  // a wrapped 256 would read 0
}

TEST(Resample, BadInputThrows) {
  EXPECT_THROW(lanczos_kernel(0, 5), Error);
  EXPECT_THROW(lanczos_kernel(5, 0), Error);
  const RgbImage src = random_image(4, 4, 1);
  EXPECT_THROW(resize_lanczos(RgbImage(), 4, 4), Error);
  EXPECT_THROW(resize_lanczos(src, 0, 4), Error);
  EXPECT_THROW(resize_lanczos(src, 4, -1), Error);
  EXPECT_THROW(resize_lanczos(src, 1 << 16, 1 << 16), Error);
  RgbImage bad = src;
  bad.pixels.resize(5);
  EXPECT_THROW(resize_lanczos(bad, 2, 2), Error);
}

}  // namespace
}  // namespace smolvlm
