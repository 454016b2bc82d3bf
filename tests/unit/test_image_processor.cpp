// SmolVLM's image processor against the Pillow/transformers goldens in ../shared/golden/preprocess:
// the geometry of every case, the prompt expansion text of every key (and its token ids with the real
// tokenizer), the normalization table, and bit-exact uint8 / float32 output (sha256 of step A, step B,
// every frame, pixel_values; sampled float bits) for every `rgb` case — from the .npy step-A dumps and
// the one-pixel image without a decoder, and from the decoded golden images via load_image.
#include <gtest/gtest.h>

#include <map>

#include "base/error.h"
#include "media/image_processor.h"
#include "media/image_prompt.h"
#include "test_preprocess_util.h"
#include "test_tokenizer_util.h"

namespace smolvlm {
namespace {

using namespace smolvlm::testing;
using nlohmann::json;

ImageProcessorConfig config_of(const json& c) {
  ImageProcessorConfig cfg;
  cfg.longest_edge = c["longest_edge"];
  cfg.tile = c["max_image_size"];
  cfg.split = c["do_image_splitting"];
  return cfg;
}

ImageSize hw(const json& j) { return {j[0].get<int>(), j[1].get<int>()}; }

const json& cases() {
  static const json c = preprocess_json("cases.json")["cases"];
  return c;
}

// Runs the pipeline on `input` and compares every hash of case `c`; true when all are bit-exact.
bool check_pixels(const json& c, const RgbImage& input) {
  const std::string id = c["case_id"];
  const ProcessedImage r = preprocess_image(input, config_of(c), 0, /*keep_intermediates=*/true);
  bool ok = true;
  auto expect = [&](bool cond, const std::string& what) {
    EXPECT_TRUE(cond) << id << ": " << what;
    ok = ok && cond;
  };
  expect(ImageSize{r.step_a.height, r.step_a.width} == hw(c["step_a_hw"]), "step A size");
  expect(sha256_of(r.step_a) == c["step_a_sha256"], "step A sha256");
  if (!c["step_b_hw"].is_null()) {
    expect(ImageSize{r.step_b.height, r.step_b.width} == hw(c["step_b_hw"]), "step B size");
    expect(sha256_of(r.step_b) == c["step_b_sha256"], "step B sha256");
  }
  const json& frames = c["frames"];
  expect(r.plan.rows == c["rows"] && r.plan.cols == c["cols"], "rows/cols");
  if (r.frames.size() != frames.size()) {
    expect(false, cat("frame count ", r.frames.size(), " != ", frames.size()));
    return false;
  }
  const std::vector<float> pv = r.pixel_values(0);
  const size_t per = static_cast<size_t>(r.tile) * r.tile * 3;
  for (size_t f = 0; f < frames.size(); ++f) {
    expect(sha256_of(r.frames[f]) == frames[f]["u8_hwc_sha256"], cat("frame ", f, " uint8 sha256"));
    expect(sha256_of(pv.data() + f * per, per) == frames[f]["f32_chw_sha256"], cat("frame ", f, " float32 sha256"));
  }
  expect(sha256_of(pv.data(), pv.size()) == c["pixel_values_f32_sha256"], "pixel_values sha256");
  for (const json& s : c["pixel_values_samples"]) {
    const size_t at = s["frame"].get<size_t>() * per + (s["c"].get<size_t>() * r.tile + s["y"].get<size_t>()) * r.tile +
                      s["x"].get<size_t>();
    expect(f32_bits(pv[at]) == parse_hex_bits(s["f32_bits"]), cat("sample ", s.dump()));
  }
  return ok;
}

TEST(ImageProcessor, GeometryOfEveryCase) {
  SMOLVLM_REQUIRE_SHARED("golden/preprocess/cases.json");
  ASSERT_EQ(cases().size(), 87u);
  for (const json& c : cases()) {
    const std::string id = c["case_id"];
    ImageSize in = hw(c["input_hw"]);
    // transformers reads the 1x1 RGB image channels-first: a 1 x 3 gray image (golden README).
    if (c["variant"] == "hf_channel_ambiguity") in = {1, 3};
    const ImagePlan p = plan_image(in.height, in.width, config_of(c));
    EXPECT_EQ(p.step_a, hw(c["step_a_hw"])) << id;
    EXPECT_EQ(p.longest_edge, c["longest_edge"].get<int>()) << id;
    if (c["step_b_hw"].is_null()) {
      EXPECT_FALSE(c["do_image_splitting"].get<bool>()) << id;
      EXPECT_EQ(p.step_b, ImageSize{}) << id;
    } else {
      EXPECT_EQ(p.step_b, hw(c["step_b_hw"])) << id;
    }
    EXPECT_EQ(p.rows, c["rows"].get<int>()) << id;
    EXPECT_EQ(p.cols, c["cols"].get<int>()) << id;
    EXPECT_EQ(p.num_frames, c["num_frames"].get<int>()) << id;
    const int seq = c["image_seq_len"];
    EXPECT_EQ(image_prompt_num_tokens(p.rows, p.cols, seq), c["prompt_num_tokens"].get<int64_t>()) << id;
    EXPECT_EQ(cat("R", p.rows, "_C", p.cols, "_S", seq), c["prompt_key"].get<std::string>()) << id;
  }
}

TEST(ImageProcessor, PromptTextOfEveryKey) {
  SMOLVLM_REQUIRE_SHARED("golden/preprocess/prompts.json");
  const json prompts = preprocess_json("prompts.json")["prompts"];
  ASSERT_GE(prompts.size(), 14u);
  for (const auto& [key, p] : prompts.items()) {
    const std::string text = image_prompt_text(p["rows"], p["cols"], p["image_seq_len"]);
    EXPECT_EQ(text, p["text"].get<std::string>()) << key;
    EXPECT_EQ(sha256_hex(std::vector<uint8_t>(text.begin(), text.end())), p["text_sha256"].get<std::string>()) << key;
    EXPECT_EQ(image_prompt_num_tokens(p["rows"], p["cols"], p["image_seq_len"]), p["num_tokens"].get<int64_t>()) << key;
    EXPECT_EQ(p["ids"].size(), p["num_tokens"].get<size_t>()) << key;
  }
}

TEST(ImageProcessor, PromptTokenIdsWithRealTokenizer) {
  SMOLVLM_REQUIRE_SHARED("golden/preprocess/prompts.json");
  SMOLVLM_REQUIRE_SHARED(kRealTokenizerDir);
  const json prompts = preprocess_json("prompts.json")["prompts"];
  for (const auto& [key, p] : prompts.items()) {
    const std::string text = image_prompt_text(p["rows"], p["cols"], p["image_seq_len"]);
    EXPECT_EQ(real_tokenizer().encode(text), p["ids"].get<std::vector<int32_t>>()) << key;
  }
}

TEST(ImageProcessor, ExpandPlaceholders) {
  const std::string one = image_prompt_text(1, 2, 3), unsplit = single_image_prompt_text(3);
  EXPECT_EQ(expand_image_placeholders("A<image>B<image>C", {{1, 2}, {0, 0}}, 3), "A" + one + "B" + unsplit + "C");
  EXPECT_EQ(expand_image_placeholders("no images", {}, 64), "no images");
  EXPECT_THROW(expand_image_placeholders("<image><image>", {{0, 0}}, 64), Error);
  EXPECT_THROW(expand_image_placeholders("<image>", {{0, 0}, {0, 0}}, 64), Error);
  EXPECT_THROW(image_prompt_text(1, 0, 64), Error);
  EXPECT_THROW(image_prompt_text(-1, -1, 64), Error);
  EXPECT_THROW(image_prompt_text(0, 0, 0), Error);
  EXPECT_EQ(image_prompt_num_tokens(0, 0, 81), 84);
}

TEST(ImageProcessor, NormalizationTable) {
  SMOLVLM_REQUIRE_SHARED("golden/preprocess/cases.json");
  const json bits = preprocess_json("cases.json")["_meta"]["normalize_lut_f32_bits"];
  ASSERT_EQ(bits.size(), 256u);
  for (int x = 0; x < 256; ++x) EXPECT_EQ(f32_bits(normalize_lut()[x]), parse_hex_bits(bits[x])) << x;
  EXPECT_EQ(normalize_lut()[0], -1.0f);
  EXPECT_EQ(normalize_lut()[255], 1.0f);
}

// No decoder needed: the step-A .npy dumps are fed back in (step A of a step-A image is a copy).
TEST(ImageProcessor, BitExactFromStepADumps) {
  SMOLVLM_REQUIRE_SHARED("golden/preprocess/tiles");
  int n = 0;
  for (const json& c : cases()) {
    if (c["step_a_npy"].is_null()) continue;
    ++n;
    const RgbImage a =
        npy_images(load_npy(shared_path(std::string(kPreprocessDir) + "/" + c["step_a_npy"].get<std::string>())))[0];
    ASSERT_EQ(sha256_of(a), c["step_a_sha256"].get<std::string>());
    const ImagePlan p = plan_image(a.height, a.width, config_of(c));
    ASSERT_EQ(p.step_a, (ImageSize{a.height, a.width})) << "step A of the step-A image must be a copy";
    EXPECT_TRUE(check_pixels(c, a));
    const auto tiles =
        npy_images(load_npy(shared_path(std::string(kPreprocessDir) + "/" + c["tiles_npy"].get<std::string>())));
    const ProcessedImage r = preprocess_image(a, config_of(c));
    ASSERT_EQ(r.frames.size(), tiles.size());
    for (size_t f = 0; f < tiles.size(); ++f)
      EXPECT_EQ(r.frames[f].pixels, tiles[f].pixels) << c["case_id"] << " frame " << f;
  }
  EXPECT_EQ(n, 2);
}

// No decoder needed: the 1x1 image is a known colour (200, 100, 50).
TEST(ImageProcessor, BitExactOnePixelImage) {
  SMOLVLM_REQUIRE_SHARED("golden/preprocess/cases.json");
  RgbImage px(1, 1);
  px.pixels = {200, 100, 50};
  int n = 0;
  for (const json& c : cases()) {
    if (c["image"] != "images/pixel_1x1.png" || c["variant"] != "rgb") continue;
    ++n;
    ASSERT_EQ(sha256_of(px), c["input_array_sha256"].get<std::string>());
    EXPECT_TRUE(check_pixels(c, px));
  }
  EXPECT_EQ(n, 4);
}

// Every `rgb` case of one config from the decoded golden image. Lossy files whose decoded pixels
// differ from Pillow's are reported and skipped; their `_decoded` replay cases must pass.
void check_config(const std::string& config) {
  SMOLVLM_REQUIRE_SHARED("golden/preprocess/cases.json");
  int n = 0, exact = 0, decoder_differs = 0;
  for (const json& c : cases()) {
    if (c["config"] != config || c["variant"] != "rgb") continue;
    ++n;
    const std::string image = c["image"];
    const RgbImage in = load_golden_image(image);
    if (sha256_of(in) != c["input_array_sha256"]) {
      if (image.ends_with(".jpg") || image.ends_with(".webp")) {
        ++decoder_differs;
        std::printf("[ note ] %s: decoded pixels differ from Pillow's; covered by the _decoded case\n", image.c_str());
        continue;
      }
      ADD_FAILURE() << c["case_id"] << ": decoded input differs from the golden array";
      continue;
    }
    exact += check_pixels(c, in);
  }
  std::printf("[ info ] %s: %d of %d rgb cases bit-exact, %d lossy inputs decoded differently\n", config.c_str(), exact,
              n, decoder_differs);
  EXPECT_GT(n, 0);
  EXPECT_EQ(exact + decoder_differs, n);
}

TEST(ImageProcessor, BitExactL2048Split) { check_config("L2048_M512_split"); }
TEST(ImageProcessor, BitExactL2048NoSplit) { check_config("L2048_M512_nosplit"); }
TEST(ImageProcessor, BitExactL1536Split) { check_config("L1536_M384_split"); }
TEST(ImageProcessor, BitExactL1536NoSplit) { check_config("L1536_M384_nosplit"); }

const json& case_by_id(const std::string& id) {
  for (const json& c : cases())
    if (c["case_id"] == id) return c;
  throw Error("no golden case " + id);
}

// `smolvlm dev preprocess`: the .npy (uint8 and --float) and the printed geometry and prompt.
TEST(ImageProcessor, DevPreprocessCommand) {
  SMOLVLM_REQUIRE_SHARED("golden/preprocess/cases.json");
  const std::string dir = shared_path(kPreprocessDir).string();
  TempDir tmp;
  const json& split = case_by_id("synth_1000x100__L1536_M384_split__rgb");
  RunResult r = run_smolvlm({"dev", "preprocess", dir + "/images/synth_1000x100.png", "--size", "1536", "--tile", "384",
                             "--out", (tmp / "t.npy").string(), "--threads", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto frames = npy_images(load_npy(tmp / "t.npy"));
  ASSERT_EQ(frames.size(), split["frames"].size());
  for (size_t f = 0; f < frames.size(); ++f)
    EXPECT_EQ(sha256_of(frames[f]), split["frames"][f]["u8_hwc_sha256"].get<std::string>()) << f;
  const std::string head =
      "input 1000x100\nstep_a 1536x154\nstep_b 1536x384\nlongest_edge 1536\nrows 1\ncols 4\nframes 5\n"
      "tokens 417\nprompt:\n";
  ASSERT_EQ(r.out.substr(0, head.size()), head);
  const json prompts = preprocess_json("prompts.json")["prompts"];
  EXPECT_EQ(r.out.substr(head.size()), prompts["R1_C4_S81"]["text"].get<std::string>());

  const json& nosplit = case_by_id("synth_300x200__L2048_M512_nosplit__rgb");
  r = run_smolvlm({"dev", "preprocess", dir + "/images/synth_300x200.png", "--no-split", "--float", "--out",
                   (tmp / "f.npy").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Npy f = load_npy(tmp / "f.npy");
  EXPECT_EQ(f.descr, "<f4");
  EXPECT_EQ(f.shape, (std::vector<int64_t>{1, 3, 512, 512}));
  EXPECT_EQ(sha256_hex(f.data), nosplit["pixel_values_f32_sha256"].get<std::string>());
  EXPECT_NE(r.out.find("step_b none\nlongest_edge 2048\nrows 0\ncols 0\nframes 1\ntokens 67\n"), std::string::npos)
      << r.out;

  r = run_smolvlm({"dev", "preprocess", dir + "/images/synth_1920x1080.png", "--max-tiles", "4", "--out",
                   (tmp / "m.npy").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("rows 2\ncols 2\nframes 5\n"), std::string::npos) << r.out;
  EXPECT_EQ(load_npy(tmp / "m.npy").shape, (std::vector<int64_t>{5, 512, 512, 3}));

  // No default image_seq_len for an unusual tile; a file that is not an image.
  r = run_smolvlm(
      {"dev", "preprocess", dir + "/images/pixel_1x1.png", "--tile", "100", "--out", (tmp / "x.npy").string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--seq"), std::string::npos) << r.err;
  r = run_smolvlm({"dev", "preprocess", dir + "/cases.json", "--out", (tmp / "x.npy").string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(tmp / "x.npy"));
}

TEST(ImageProcessor, MaxTilesNeverExceedsAndPicksTheLargestEdge) {
  const std::vector<ImageSize> sizes = {{512, 512}, {480, 640}, {640, 480},   {1080, 1920}, {200, 300}, {100, 1000},
                                        {1500, 37}, {1, 1},     {2049, 2049}, {427, 640},   {777, 333}, {5, 7}};
  for (const auto& [L, M] : {std::pair{2048, 512}, {1536, 384}}) {
    for (const ImageSize s : sizes) {
      const ImagePlan full = plan_image(s.height, s.width, {L, M, true, 0});
      for (int max_tiles = 1; max_tiles <= 20; ++max_tiles) {
        const ImagePlan p = plan_image(s.height, s.width, {L, M, true, max_tiles});
        const std::string what = cat(s.width, "x", s.height, " L", L, " max_tiles ", max_tiles);
        EXPECT_LE(p.rows * p.cols, max_tiles) << what;
        EXPECT_EQ(p.num_frames, p.rows == 0 ? 1 : p.rows * p.cols + 1) << what;
        EXPECT_EQ(p.longest_edge % M, 0) << what;
        if (full.rows * full.cols <= max_tiles) {
          EXPECT_EQ(p.longest_edge, L) << what;  // no reduction when the default already fits
          EXPECT_EQ(p.step_b, full.step_b) << what;
        } else {
          EXPECT_LT(p.longest_edge, L) << what;
          // The next larger candidate edge would not fit.
          const ImagePlan bigger = plan_image(s.height, s.width, {p.longest_edge + M, M, true, 0});
          EXPECT_GT(bigger.rows * bigger.cols, max_tiles) << what;
          // Same geometry as transformers with size.longest_edge = the chosen edge.
          const ImagePlan same = plan_image(s.height, s.width, {p.longest_edge, M, true, 0});
          EXPECT_EQ(same.step_b, p.step_b) << what;
        }
      }
    }
  }
  // 640x480 at the default: 3x4; at most 6 tiles -> edge 1024: 2x2... whatever fits, never 12.
  EXPECT_EQ(plan_image(480, 640, {2048, 512, true, 12}).rows, 3);
  EXPECT_EQ(plan_image(480, 640, {2048, 512, true, 11}).longest_edge, 1536);
  const ImagePlan one = plan_image(480, 640, {2048, 512, true, 1});
  EXPECT_EQ(one.num_frames, 1);
  EXPECT_EQ(one.step_b, (ImageSize{512, 512}));
}

TEST(ImageProcessor, MaxTilesPipelineFrames) {
  RgbImage im(64, 48);
  for (size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = static_cast<uint8_t>(i * 7);
  const ProcessedImage r = preprocess_image(im, {2048, 512, true, 4});
  EXPECT_LE(r.plan.rows * r.plan.cols, 4);
  ASSERT_EQ(r.frames.size(), static_cast<size_t>(r.plan.num_frames));
  for (const RgbImage& f : r.frames) EXPECT_EQ(f.width * 1000 + f.height, 512 * 1000 + 512);
  EXPECT_EQ(r.pixel_values().size(), r.frames.size() * 3 * 512 * 512);
  const ProcessedImage one = preprocess_image(im, {2048, 512, true, 1});
  ASSERT_EQ(one.frames.size(), 1u);
  // One frame without splitting is the same image as the no-split path at tile size.
  EXPECT_EQ(one.frames[0].pixels, preprocess_image(im, {512, 512, false, 0}).frames[0].pixels);
}

TEST(ImageProcessor, BadInputThrows) {
  EXPECT_THROW(plan_image(0, 10, {}), Error);
  EXPECT_THROW(plan_image(10, -1, {}), Error);
  EXPECT_THROW(plan_image(10, 10, {0, 512, true, 0}), Error);
  EXPECT_THROW(plan_image(10, 10, {2048, 0, true, 0}), Error);
  EXPECT_THROW(plan_image(10, 10, {8192, 512, true, 0}), Error);
  EXPECT_THROW(plan_image(10, 10, {2048, 512, true, -1}), Error);
  EXPECT_THROW(preprocess_image(RgbImage(), {}), Error);
  EXPECT_THROW(step_a_size(0, 5, 2048), Error);
  EXPECT_THROW(step_b_size(5, 5, 0), Error);
}

}  // namespace
}  // namespace smolvlm
