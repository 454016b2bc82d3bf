// `smolvlm bench` with several models (one child process each) and --json=FILE, and
// scripts/bench_report.py's markdown report of that file (with llama.cpp figures beside ours).
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

// The matmul weights of tiny512 incl. lm_head (see test_dev_logits.cpp).
constexpr int64_t kMatmulWeights = 2 * (256 * 256 * 2 + 128 * 256 * 2 + 512 * 256 * 3) + 600 * 256;

using testing::read_text;
using testing::repo_root;

// Runs bench on the golden Q8_0 and F32 tiny models with small tests, writing `json`.
testing::RunResult bench_two(const fs::path& json, const std::string& extra_model = "") {
  std::vector<std::string> a = {"bench", golden("tiny512", "gguf/text-Q8_0.gguf"), golden("tiny512", "gguf/text-F32.gguf")};
  if (!extra_model.empty()) a.push_back(extra_model);
  for (const char* s : {"-p", "32", "-n", "8", "-r", "1", "-t", "1"}) a.push_back(s);
  a.push_back("--json=" + json.string());
  return run_smolvlm(a);
}

TEST(CliBench, SeveralModelsWriteOneDocumentWithMachineAndPerModelPeakRss) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/text-F32.gguf");
  TempDir tmp;
  const auto r = bench_two(tmp / "bench.json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // One table with both models' rows.
  EXPECT_NE(r.out.find("| text-Q8_0.gguf | Q8_0 |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| text-F32.gguf  | F32  |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("peak rss"), std::string::npos) << r.out;

  const auto doc = nlohmann::json::parse(read_text(tmp / "bench.json"));
  const auto& mc = doc["machine"];
  EXPECT_FALSE(mc["cpu"].get<std::string>().empty());
  EXPECT_GT(mc["cores"].get<int>(), 0);
  EXPECT_EQ(mc["threads"], 1);
  EXPECT_TRUE(mc["isa"] == "scalar" || mc["isa"] == "avx2" || mc["isa"] == "avx512") << mc["isa"];
  EXPECT_GT(mc["bandwidth_gbs"].get<double>(), 0.0);
  EXPECT_GT(mc["peak_gflops"].get<double>(), 0.0);
  if (mc["isa"] != "scalar") {
    EXPECT_GT(mc["peak_int8_gops"].get<double>(), 0.0);
  }
  EXPECT_GE(mc["peak_bf16_gflops"].get<double>(), 0.0);
  EXPECT_EQ(doc["settings"]["n_prompt"], 32);

  ASSERT_EQ(doc["models"].size(), 2u);
  const auto& q8 = doc["models"][0];
  const auto& f32 = doc["models"][1];
  EXPECT_EQ(q8["file"], "text-Q8_0.gguf");
  EXPECT_EQ(q8["type"], "Q8_0");
  EXPECT_EQ(f32["type"], "F32");
  EXPECT_EQ(q8["name"], golden("tiny512", "gguf/text-Q8_0.gguf"));
  EXPECT_EQ(q8["size_bytes"].get<uint64_t>(), fs::file_size(golden("tiny512", "gguf/text-Q8_0.gguf")));
  EXPECT_EQ(f32["size_bytes"].get<uint64_t>(), fs::file_size(golden("tiny512", "gguf/text-F32.gguf")));
  EXPECT_GT(q8["params"].get<int64_t>(), kMatmulWeights);  // + token_embd and the norms
  EXPECT_EQ(q8["params"], f32["params"]);                  // same shapes, other type
  EXPECT_EQ(q8["weight_bytes_per_token"].get<int64_t>(), kMatmulWeights / 32 * 34);
  EXPECT_EQ(f32["weight_bytes_per_token"].get<int64_t>(), kMatmulWeights * 4);
  for (const auto& m : doc["models"]) {
    for (const char* key : {"pp32", "tg8", "bound_tg", "bandwidth_gbs", "peak_rss_mib"}) {
      ASSERT_TRUE(m.contains(key)) << m.dump();
      EXPECT_GT(m[key].get<double>(), 0.0) << key;
    }
    EXPECT_EQ(m["n_prompt"], 32);
    EXPECT_EQ(m["n_gen"], 8);
    EXPECT_LE(m["pp_min_max"][0].get<double>(), m["pp32"].get<double>());
    // The bound's bandwidth: the median of 5 passes before, 2 after the one timed decode run, 5 after.
    EXPECT_EQ(m["bandwidth_passes"], 12);
    EXPECT_LE(m["bandwidth_min_max_gbs"][0].get<double>(), m["bandwidth_gbs"].get<double>());
    EXPECT_GE(m["bandwidth_min_max_gbs"][1].get<double>(), m["bandwidth_gbs"].get<double>());
    EXPECT_NEAR(m["tg_of_bound"].get<double>(), m["tg8"].get<double>() / m["bound_tg"].get<double>(), 1e-9);
    // Each child's own peak, without the 512 MiB bandwidth buffer it freed before the model ran.
    if (m["peak_rss_reset"].get<bool>()) {
      EXPECT_LT(m["peak_rss_mib"].get<double>(), 400.0) << m.dump();
    }
  }
}

TEST(CliBench, JsonToStdoutWithSeveralModelsAndAFailingOne) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/text-F32.gguf");
  TempDir tmp;
  // Several models and plain --json: the document on stdout.
  const auto r = run_smolvlm({"bench", golden("tiny512", "gguf/text-Q8_0.gguf"), golden("tiny512", "gguf/text-F32.gguf"),
                              "-p", "8", "-n", "4", "-r", "1", "-t", "1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["models"].size(), 2u);
  EXPECT_GT(doc["models"][1]["tg4"].get<double>(), 0.0);

  // A broken model: its row says why, the others are measured, the exit status is 1.
  const std::string bad = (tmp / "broken.gguf").string();
  std::ofstream(bad) << "not a gguf";
  const auto b = bench_two(tmp / "b.json", bad);
  EXPECT_EQ(b.exit_code, 1) << b.err;
  EXPECT_NE(b.err.find("broken.gguf"), std::string::npos) << b.err;
  const auto bd = nlohmann::json::parse(read_text(tmp / "b.json"));
  ASSERT_EQ(bd["models"].size(), 3u);
  EXPECT_GT(bd["models"][1]["tg8"].get<double>(), 0.0);
  EXPECT_TRUE(bd["models"][2].contains("error")) << bd["models"][2].dump();

  // --json followed by a second model would overwrite it: refused.
  const auto o = run_smolvlm(
      {"bench", golden("tiny512", "gguf/text-Q8_0.gguf"), "--json", golden("tiny512", "gguf/text-F32.gguf")});
  EXPECT_NE(o.exit_code, 0);
  EXPECT_NE(o.err.find("--json=FILE"), std::string::npos) << o.err;
}

TEST(BenchReport, MarkdownHasTheMetricTablesAndLlamaCppBesideOurs) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/text-F32.gguf");
  if (std::system("python3 --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "python3 is not available";
  TempDir tmp;
  const auto r = bench_two(tmp / "bench.json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto doc = nlohmann::json::parse(read_text(tmp / "bench.json"));
  // The Q8_0 model as if benched with --image (its image figures set to round numbers), and
  // llama.cpp's figures in the small format for it only, image ones (llama-mtmd-cli's) included.
  doc["models"][0]["encode_tile_s"] = 1.0;
  doc["models"][0]["ttft_s"] = 10.0;
  std::ofstream(tmp / "bench.json") << doc.dump();
  nlohmann::json llama = {{"source", "llama.cpp"},
                          {"machine", "test"},
                          {"models", {{{"type", "Q8_0"}, {"params", doc["models"][0]["params"]}, {"pp32", 1234.5},
                                       {"tg8", 67.25}, {"encode_tile_s", 2.0}, {"ttft_s", 30.0}}}}};
  std::ofstream(tmp / "llama.json") << llama.dump();

  const fs::path md = tmp / "docs" / "BENCHMARKS.md";
  const std::string cmd = "python3 '" + (repo_root() / "scripts" / "bench_report.py").string() + "' '" +
                          (tmp / "bench.json").string() + "' --llamacpp '" + (tmp / "llama.json").string() +
                          "' --out '" + md.string() + "' --note 'test run' > '" + (tmp / "log.txt").string() + "' 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << read_text(tmp / "log.txt");
  const std::string text = read_text(md);
  for (const char* s : {"## Machine", "### Prompt processing (pp32), tokens/s", "### Generation (tg8), tokens/s",
                        "### Peak RSS, MiB", "| model size | F32 | Q8_0 |", "(llama.cpp 1234.5)", "(llama.cpp 67.2)",
                        "### smolvlm vs llama.cpp", "| encode one tile, s | 1.000 | 2.000 | 2.00 |",
                        "| time to first token, image, s | 10.000 | 30.000 | 3.00 |", "1.000 (llama.cpp 2.000)",
                        "**Note:** test run"})
    EXPECT_NE(text.find(s), std::string::npos) << s << "\n" << text;
  // llama-bench's own `-o json` rows (one per test) are read directly; "Q8_0 - ..." names mapped.
  const std::string params = doc["models"][0]["params"].dump();
  std::ofstream(tmp / "llama-bench.json")
      << "[{\"model_type\": \"llama ?B Q8_0\", \"model_n_params\": " << params
      << ", \"n_prompt\": 32, \"n_gen\": 0, \"avg_ts\": 555.5, \"cpu_info\": \"cpu\", \"n_threads\": 1},"
      << " {\"model_type\": \"llama ?B F32\", \"model_n_params\": " << params
      << ", \"n_prompt\": 0, \"n_gen\": 8, \"avg_ts\": 44.5, \"cpu_info\": \"cpu\", \"n_threads\": 1}]";
  const fs::path md2 = tmp / "B2.md";
  const std::string cmd2 = "python3 '" + (repo_root() / "scripts" / "bench_report.py").string() + "' '" +
                           (tmp / "bench.json").string() + "' --llamacpp '" + (tmp / "llama-bench.json").string() +
                           "' --out '" + md2.string() + "' > '" + (tmp / "log2.txt").string() + "' 2>&1";
  ASSERT_EQ(std::system(cmd2.c_str()), 0) << read_text(tmp / "log2.txt");
  const std::string text2 = read_text(md2);
  for (const char* s : {"(llama.cpp 555.5)", "(llama.cpp 44.5)", "- llama.cpp: cpu, 1 threads"})
    EXPECT_NE(text2.find(s), std::string::npos) << s << "\n" << text2;

  // Plots when gnuplot is installed, else a note saying they were skipped.
  if (std::system("command -v gnuplot > /dev/null 2>&1") == 0) {
    for (const char* png : {"pp_tokens_per_s.png", "tg_tokens_per_s.png", "peak_rss.png"}) {
      const auto bytes = testing::read_file(tmp / "docs" / "bench" / png);
      ASSERT_GT(bytes.size(), 8u) << png;
      EXPECT_EQ(bytes[1], 'P');
      EXPECT_EQ(bytes[2], 'N');
      EXPECT_NE(text.find(std::string("](bench/") + png + ")"), std::string::npos) << png;
    }
  } else {
    EXPECT_NE(text.find("Plots skipped: gnuplot is not installed"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace smolvlm
