// `smolvlm quantize` end to end: dry run, --force, refusals with clear messages, no partial
// output on failure, thread count not affecting the bytes.
#include <filesystem>

#include "support/testing.h"

namespace smolvlm {
namespace {

namespace fs = std::filesystem;
using testing::run_smolvlm;
using testing::TempDir;

const std::string kText = "golden/tiny512/gguf/text-F32.gguf";
const std::string kMmproj = "golden/tiny512/gguf/mmproj-F32.gguf";

std::string shared(const std::string& rel) { return testing::shared_path(rel).string(); }

bool has(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

TEST(QuantizeCli, DryRunPrintsThePlanAndWritesNothing) {
  SMOLVLM_REQUIRE_SHARED(kText);
  TempDir tmp;
  const auto out = tmp / "out.gguf";
  const auto r = run_smolvlm({"quantize", shared(kText), out.string(), "Q4_K_M", "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_TRUE(fs::is_empty(tmp.path()));
  // one line per tensor, in output order, with shapes, types and reasons
  EXPECT_TRUE(has(r.out, "[   1/  21] output.weight")) << r.out;
  EXPECT_TRUE(has(r.out, "[256, 600]")) << r.out;
  EXPECT_TRUE(has(r.out, "F32 -> Q6_K     output tensor")) << r.out;
  EXPECT_TRUE(has(r.out, "blk.1.ffn_down.weight")) << r.out;
  EXPECT_TRUE(has(r.out, "use_more_bits layer (ffn_down 1 of 2)")) << r.out;
  EXPECT_TRUE(has(r.out, "use_more_bits layer (attn_v 1 of 2)")) << r.out;
  EXPECT_TRUE(has(r.out, "F32 -> F32      kept: 1-D")) << r.out;
  EXPECT_TRUE(has(r.out, "21 tensors (16 converted, 5 copied)")) << r.out;
  EXPECT_TRUE(has(r.out, "general.file_type 15")) << r.out;
}

TEST(QuantizeCli, ForceIsNeededToOverwrite) {
  SMOLVLM_REQUIRE_SHARED(kText);
  TempDir tmp;
  const auto out = tmp / "out.gguf";
  testing::write_file(out, "old", 3);
  auto r = run_smolvlm({"quantize", shared(kText), out.string(), "Q8_0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "--force")) << r.err;
  EXPECT_EQ(fs::file_size(out), 3u);  // untouched
  r = run_smolvlm({"quantize", shared(kText), out.string(), "Q8_0", "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(testing::read_file(out), testing::read_file(testing::shared_path("golden/tiny512/gguf/text-Q8_0.gguf")));
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator{}), 1);
}

TEST(QuantizeCli, ThreadCountDoesNotChangeTheBytes) {
  SMOLVLM_REQUIRE_SHARED(kText);
  TempDir tmp;
  ASSERT_EQ(run_smolvlm({"quantize", shared(kText), (tmp / "a.gguf").string(), "Q5_K_M", "--threads", "1"}).exit_code, 0);
  ASSERT_EQ(run_smolvlm({"quantize", shared(kText), (tmp / "b.gguf").string(), "Q5_K_M", "-t", "3"}).exit_code, 0);
  EXPECT_EQ(testing::read_file(tmp / "a.gguf"), testing::read_file(tmp / "b.gguf"));
}

TEST(QuantizeCli, RefusesClearly) {
  SMOLVLM_REQUIRE_SHARED(kMmproj);
  TempDir tmp;
  const auto out = (tmp / "out.gguf").string();
  // unknown type: lists the valid ones
  auto r = run_smolvlm({"quantize", shared(kText), out, "Q3_K_M"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "'Q3_K_M'") && has(r.err, "F16, Q8_0, Q4_0, Q4_K_M, Q5_K_M, Q6_K")) << r.err;
  // a text-only type on an mmproj file
  r = run_smolvlm({"quantize", shared(kMmproj), out, "Q4_K_M"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "mmproj") && has(r.err, "F16, Q8_0")) << r.err;
  // not a GGUF file
  testing::write_file(tmp / "junk.gguf", "not a gguf file", 15);
  r = run_smolvlm({"quantize", (tmp / "junk.gguf").string(), out, "Q8_0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "not a GGUF file")) << r.err;
  // a truncated GGUF: the reader's error, no crash
  const auto golden = testing::read_file(testing::shared_path(kText));
  testing::write_file(tmp / "cut.gguf", golden.data(), 5000);
  r = run_smolvlm({"quantize", (tmp / "cut.gguf").string(), out, "Q8_0"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST(QuantizeCli, NoPartialFileOnFailure) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny384/gguf/mmproj-F32.gguf");
  TempDir tmp;
  const auto out = tmp / "mmproj-Q8_0.gguf";
  const auto r = run_smolvlm({"quantize", shared("golden/tiny384/gguf/mmproj-F32.gguf"), out.string(), "Q8_0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "mm.model.fc.weight") && has(r.err, "648") && has(r.err, "Q8_0")) << r.err;
  EXPECT_TRUE(fs::is_empty(tmp.path()));
  // an existing output stays as it was
  testing::write_file(out, "keep", 4);
  EXPECT_EQ(run_smolvlm({"quantize", shared("golden/tiny384/gguf/mmproj-F32.gguf"), out.string(), "Q8_0", "--force"})
                .exit_code,
            1);
  EXPECT_EQ(testing::read_file(out), (std::vector<uint8_t>{'k', 'e', 'e', 'p'}));
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator{}), 1);
}

}  // namespace
}  // namespace smolvlm
