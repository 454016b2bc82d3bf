// `smolvlm dev logits` end to end: the .npy it writes (all positions or the last), the greedy line,
// and its errors (exit code 1, message on stderr); and a smoke test of `smolvlm bench --json`.
#include <nlohmann/json.hpp>
#include <sstream>

#include "hub_fixture.h"
#include "support/testing.h"
#include "test_text_model_util.h"

namespace smolvlm {
namespace {

using testing::load_npy;
using testing::run_smolvlm;
using testing::TempDir;
using testing::text::golden;
using testing::text::rel_diff;

std::string ids_arg(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) s += ',';
    s += std::to_string(ids[i]);
  }
  return s;
}

std::vector<int32_t> parse_ids(const std::string& line) {
  std::istringstream in(line);
  std::vector<int32_t> ids;
  for (int32_t id; in >> id;) ids.push_back(id);
  return ids;
}

TEST(DevLogits, WritesAllPositionsAndPrintsTheGreedyContinuation) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny384/gguf/text-F32.gguf");
  TempDir tmp;
  const auto ids = load_npy(golden("tiny384", "inputs/prompt_1.npy")).i32();
  const auto r = run_smolvlm({"dev", "logits", golden("tiny384", "gguf/text-F32.gguf"), "--ids", ids_arg(ids),
                              "--all-positions", "--out", (tmp / "l.npy").string(), "--greedy", "24", "--kv-type",
                              "f32", "--threads", "2", "--batch", "5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto npy = load_npy(tmp / "l.npy");
  EXPECT_EQ(npy.shape, (std::vector<int64_t>{static_cast<int64_t>(ids.size()), 600}));
  EXPECT_LE(rel_diff(npy.f32(), load_npy(golden("tiny384", "ref/logits_prompt_1.npy")).f32()), 1e-4);
  EXPECT_EQ(parse_ids(r.out), load_npy(golden("tiny384", "ref/greedy_prompt_1.npy")).i32());
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1);
}

TEST(DevLogits, WritesTheLastPositionByDefault) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/text-Q8_0.gguf");
  TempDir tmp;
  const auto ids = load_npy(golden("tiny512", "inputs/prompt_0.npy")).i32();
  const auto r = run_smolvlm({"dev", "logits", golden("tiny512", "gguf/text-Q8_0.gguf"), "--ids", ids_arg(ids),
                              "--out", (tmp / "last.npy").string(), "--kv-type", "f32"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  const auto npy = load_npy(tmp / "last.npy");
  EXPECT_EQ(npy.shape, (std::vector<int64_t>{1, 600}));
  const auto all = load_npy(golden("tiny512", "llamacpp/text/Q8_0/logits_p0.npy")).f32();
  EXPECT_LE(rel_diff(npy.f32(), {all.data() + (ids.size() - 1) * 600, 600}), 3e-2);
}

// The default (fast) order stays within the quantized tolerance of llama.cpp's logits (test_numerics.cpp);
// --exact, or SMOLVLM_EXACT=1, gives its bits.
TEST(DevLogits, ExactGivesLlamaCppBitsAndTheDefaultStaysClose) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny384/gguf/text-Q4_0.gguf");
  TempDir tmp;
  const auto ids = load_npy(golden("tiny384", "inputs/prompt_3.npy")).i32();
  const auto ref = load_npy(golden("tiny384", "llamacpp/text/Q4_0/logits_p3.npy")).f32();
  auto logits = [&](const std::vector<std::string>& extra, const std::string& exact_env) {
    const testing::ScopedEnv env({{"SMOLVLM_EXACT", exact_env.empty() ? std::nullopt : std::optional(exact_env)}});
    std::vector<std::string> a = {"dev", "logits", golden("tiny384", "gguf/text-Q4_0.gguf"), "--ids", ids_arg(ids),
                                  "--all-positions", "--out", (tmp / "l.npy").string(), "--kv-type", "f32"};
    a.insert(a.end(), extra.begin(), extra.end());
    const auto r = run_smolvlm(a);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return load_npy(tmp / "l.npy").f32();
  };
  EXPECT_EQ(logits({"--exact"}, ""), ref);
  EXPECT_EQ(logits({}, "1"), ref);
  EXPECT_LE(rel_diff(logits({}, ""), ref), 3e-2);
}

TEST(DevLogits, ReportsBadInputOnStderr) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/mmproj-F32.gguf");
  auto r = run_smolvlm({"dev", "logits", golden("tiny512", "gguf/mmproj-F32.gguf"), "--ids", "1,2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not a llama text model"), std::string::npos) << r.err;

  r = run_smolvlm({"dev", "logits", golden("tiny512", "gguf/text-F32.gguf"), "--ids", "1,600"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("token id 600 (input position 1) is out of range"), std::string::npos) << r.err;

  r = run_smolvlm({"dev", "logits", golden("tiny512", "gguf/text-F32.gguf"), "--ids", "1,2,3", "--ctx", "2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("context overflow"), std::string::npos) << r.err;

  r = run_smolvlm({"dev", "logits", golden("tiny512", "gguf/text-F32.gguf"), "--ids", "1,x"});
  EXPECT_NE(r.exit_code, 0);
  r = run_smolvlm({"dev", "logits", golden("tiny512", "gguf/text-F32.gguf"), "--ids", "1", "--kv-type", "q8"});
  EXPECT_NE(r.exit_code, 0);
}

// `smolvlm bench --json` on a tiny model: the keys the issue asks for, with sane values.
TEST(CliBench, JsonHasSpeedsAndTheBandwidthBound) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/text-Q8_0.gguf");
  const auto r = run_smolvlm({"bench", golden("tiny512", "gguf/text-Q8_0.gguf"), "--json", "-p", "32", "-n", "8",
                              "-r", "1", "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"pp32", "tg8", "bound_tg", "bandwidth_gbs"}) {
    ASSERT_TRUE(j.contains(key)) << r.out;
    EXPECT_GT(j[key].get<double>(), 0.0) << key;
  }
  EXPECT_EQ(j["threads"], 1);
  EXPECT_EQ(j["model"], "text-Q8_0.gguf");
  EXPECT_TRUE(j["isa"] == "scalar" || j["isa"] == "avx2" || j["isa"] == "avx512") << j["isa"];
  // 14 Q8_0 matrices (34 bytes per 32 weights) incl. lm_head
  const int64_t weights = 2 * (256 * 256 * 2 + 128 * 256 * 2 + 512 * 256 * 3) + 600 * 256;
  EXPECT_EQ(j["weight_bytes_per_token"].get<int64_t>(), weights / 32 * 34);
}

}  // namespace
}  // namespace smolvlm
