// `smolvlm bench --sweep-depth / --sweep-edge`: the cost curves (decode speed against context depth
// with its bound; tiles, image tokens, encode time and TTFT against the image's edge), and
// scripts/bench_report.py's tables and plots of them (--curves).
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/testing.h"
#include "test_text_model_util.h"

namespace smolvlm {
namespace {

namespace fs = std::filesystem;
using testing::run_smolvlm;
using testing::TempDir;
using testing::text::golden;

using testing::read_text;
using testing::repo_root;

TEST(BenchSweep, CurvesInTheJsonTheTableAndTheReport) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/mmproj-F32.gguf");
  TempDir tmp;
  const auto r = run_smolvlm({"bench", golden("tiny512", "gguf/text-Q8_0.gguf"), "--mmproj",
                              golden("tiny512", "gguf/mmproj-F32.gguf"), "-p", "8", "-n", "4", "-r", "1", "-t", "1",
                              "--image-repeats", "1", "--sweep-depth=0,64", "--sweep-edge=64,600", "--sweep-max-tiles",
                              "0,1", "--json=" + (tmp / "b.json").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("tg4 @ d64"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("image 600x600 max 1"), std::string::npos) << r.out;

  const auto doc = nlohmann::json::parse(read_text(tmp / "b.json"));
  EXPECT_EQ(doc["settings"]["sweep_depth"], "0,64");
  const auto& m = doc["models"][0];
  // Depth: both rows timed; the KV bytes a step reads grow by exactly 64 positions of every layer's K and V
  // (tiny512: 2 layers, 2 KV heads x 64, f16), so the bound falls.
  const auto& depth = m["sweep_depth"];
  ASSERT_EQ(depth.size(), 2u);
  EXPECT_EQ(depth[0]["depth"], 0);
  EXPECT_EQ(depth[1]["depth"], 64);
  for (const auto& d : depth) EXPECT_GT(d["tg"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(depth[1]["kv_bytes_per_token"].get<double>() - depth[0]["kv_bytes_per_token"].get<double>(),
                   64.0 * 2 * 2 * 128 * 2);
  EXPECT_LT(depth[1]["bound_tg"].get<double>(), depth[0]["bound_tg"].get<double>());
  EXPECT_GT(depth[1]["pp"].get<double>(), 0.0);

  // Images: every edge with every max_tiles setting. SmolVLM's processor scales every image to its longest
  // edge setting first, so at full resolution a 64 px and a 600 px square cost the same 4 x 4 tiles + the
  // global view; max_tiles 1 makes one frame.
  const auto& img = m["sweep_image"];
  ASSERT_EQ(img.size(), 4u);
  for (const auto& e : img) {
    EXPECT_EQ(e["width"], e["edge"]);
    EXPECT_EQ(e["height"], e["edge"]);
    EXPECT_EQ(e["image_tokens"].get<int64_t>(), e["tiles"].get<int64_t>() * 64) << e.dump();
    EXPECT_GT(e["prompt_tokens"].get<int64_t>(), e["image_tokens"].get<int64_t>());
    EXPECT_GT(e["ttft_s"].get<double>(), e["encode_s"].get<double>()) << e.dump();
    EXPECT_EQ(e["tiles"].get<int64_t>(), e["max_tiles"] == 1 ? 1 : 17) << e.dump();
  }

  // The report takes the curves from a document of their own (--curves).
  const fs::path md = tmp / "docs" / "BENCHMARKS.md";
  const std::string cmd = "python3 '" + (repo_root() / "scripts" / "bench_report.py").string() + "' '" +
                          (tmp / "b.json").string() + "' --curves '" + (tmp / "b.json").string() + "' --out '" +
                          md.string() + "' > '" + (tmp / "log.txt").string() + "' 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << read_text(tmp / "log.txt");
  const std::string text = read_text(md);
  for (const char* s : {"## Cost curves", "### Decode speed against context depth", "| 1.49M Q8_0 | 64 |",
                        "### Image size against cost", "| 1.49M Q8_0 | 600x600 | 1 | 1 (1 frame) | 64 |",
                        "| 1.49M Q8_0 | 64x64 | 0 | 17 (4 x 4) | 1088 |", "(cost curves only)"})
    EXPECT_NE(text.find(s), std::string::npos) << s << "\n" << text;
  if (std::system("command -v gnuplot > /dev/null 2>&1") == 0)
    for (const char* png : {"depth_tg.png", "image_edge_ttft.png"}) {
      EXPECT_TRUE(fs::exists(tmp / "docs" / "bench" / png)) << png;
      EXPECT_NE(text.find(std::string("](bench/") + png + ")"), std::string::npos) << png;
    }

  // Bad lists fail before any work, naming the option.
  const auto bad = run_smolvlm({"bench", golden("tiny512", "gguf/text-Q8_0.gguf"), "--sweep-depth=0,abc"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("--sweep-depth: 'abc'"), std::string::npos) << bad.err;
  // The synthetic images take --image's aspect ratio: at the golden 300 x 200 image's own edge, the
  // same grid as the processor gives that image (3 x 4 tiles + the global view).
  const auto asp = run_smolvlm({"bench", golden("tiny512", "gguf/text-Q8_0.gguf"), "--mmproj",
                                golden("tiny512", "gguf/mmproj-F32.gguf"), "--image",
                                golden("tiny512", "inputs/image.png"), "-p", "0", "-n", "0", "-r", "1", "-t", "1",
                                "--image-repeats", "1", "--sweep-edge=300", "--json"});
  ASSERT_EQ(asp.exit_code, 0) << asp.err;
  const auto adoc = nlohmann::json::parse(asp.out);
  // A tile's arithmetic is measured against the peak of the instruction its matrices run on.
  EXPECT_EQ(adoc["vision_matmul_type"], "F32");
  EXPECT_EQ(adoc["peak_kind"], "FMA");
  EXPECT_GT(adoc["tile_of_peak"].get<double>(), 0.0);
  const auto e = adoc["sweep_image"][0];
  EXPECT_EQ(e["width"], 300);
  EXPECT_EQ(e["height"], 200);
  EXPECT_EQ(e["rows"], 3);
  EXPECT_EQ(e["cols"], 4);
  EXPECT_EQ(e["tiles"], 13);

  const auto q8 = run_smolvlm({"bench", golden("tiny512", "gguf/text-Q8_0.gguf"), "--mmproj",
                               golden("tiny512", "gguf/mmproj-Q8_0.gguf"), "--image",
                               golden("tiny512", "inputs/image.png"), "-p", "0", "-n", "0", "-r", "1", "-t", "1",
                               "--image-repeats", "1", "--json"});
  ASSERT_EQ(q8.exit_code, 0) << q8.err;
  const auto q8doc = nlohmann::json::parse(q8.out);
  EXPECT_EQ(q8doc["vision_matmul_type"], "Q8_0");
  if (q8doc.value("isa", std::string()) != "scalar") {
    EXPECT_EQ(q8doc["peak_kind"], "int8") << q8doc.dump();
  }

  const auto no_proj = run_smolvlm({"bench", golden("tiny512", "gguf/text-Q8_0.gguf"), "--sweep-edge=64"});
  EXPECT_NE(no_proj.exit_code, 0);
  EXPECT_NE(no_proj.err.find("--sweep-edge needs a vision projector"), std::string::npos) << no_proj.err;
}

}  // namespace
}  // namespace smolvlm
