// `smolvlm pull` against a local stand-in for the Hugging Face Hub (cpp-httplib on 127.0.0.1): the
// hub's URL layout (api/models/<repo>/tree/<rev>, <repo>/resolve/<rev>/<file> answering 302 to a
// /cdn/ path with X-Linked-Etag / X-Linked-Size), Range requests, transfers cut off mid-way, a
// wrong ETag, 404 and 401, with the golden tiny GGUF pair presented as a repository.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "convert/hf_convert.h"
#include "store/hub_download.h"
#include "store/hub_snapshot.h"
#include "store/manifest.h"
#include "store/pull.h"
#include "hub_fixture.h"
#include "support/testing.h"

namespace fs = std::filesystem;
using namespace smolvlm;
using smolvlm::testing::FakeHub;
using smolvlm::testing::HubEntry;
using smolvlm::testing::ScopedEnv;
using smolvlm::testing::TempDir;
constexpr const char* kCommit = smolvlm::testing::kHubCommit;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

std::string hex_of(const std::string& bytes) { return sha256_digest(bytes).substr(7); }


class PullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(smolvlm::testing::shared_path("golden/tiny512/gguf/text-Q8_0.gguf"))) {
      GTEST_SKIP() << "../shared/golden/tiny512/gguf is not available";
    }
    text_ = slurp(smolvlm::testing::shared_path("golden/tiny512/gguf/text-Q8_0.gguf"));
    text_q4_ = slurp(smolvlm::testing::shared_path("golden/tiny512/gguf/text-Q4_K_M.gguf"));
    mmproj_ = slurp(smolvlm::testing::shared_path("golden/tiny512/gguf/mmproj-F32.gguf"));
    mmproj_q8_ = slurp(smolvlm::testing::shared_path("golden/tiny512/gguf/mmproj-Q8_0.gguf"));
    auto& repo = hub_.repos["ggml-org/Tiny-GGUF"];
    repo["Tiny-Q8_0.gguf"] = {text_, hex_of(text_)};
    repo["Tiny-Q4_K_M.gguf"] = {text_q4_, hex_of(text_q4_)};
    repo["mmproj-Tiny-F32.gguf"] = {mmproj_, hex_of(mmproj_)};
    repo["mmproj-Tiny-Q8_0.gguf"] = {mmproj_q8_, hex_of(mmproj_q8_)};
    repo["README.md"] = {"# Tiny\n", ""};
    cfg_.endpoint = hub_.endpoint();
    cfg_.cache_dir = (tmp_ / "hf-cache").string();
    cfg_.retry_delay_ms = 10;
  }

  std::vector<PullEvent> pull(const std::string& name) {
    ModelStore store(store_dir());
    std::vector<PullEvent> events;
    pull_model(store, name, cfg_, [&](const PullEvent& e) { events.push_back(e); });
    return events;
  }
  std::string store_dir() const { return (tmp_ / "models").string(); }
  // Every file under blobs/ (names only).
  std::vector<std::string> blob_files() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::directory_iterator it(tmp_ / "models" / "blobs", ec), end; !ec && it != end; it.increment(ec)) {
      out.push_back(it->path().filename().string());
    }
    return out;
  }

  FakeHub hub_;
  TempDir tmp_;
  HubConfig cfg_;
  std::string text_, text_q4_, mmproj_, mmproj_q8_;
};

std::vector<std::string> statuses(const std::vector<PullEvent>& ev) {
  std::vector<std::string> out;
  for (const auto& e : ev) {
    if (out.empty() || out.back() != e.status) out.push_back(e.status);
  }
  return out;
}

TEST_F(PullTest, GgufRepoPullsQuantAndProjectorThroughRedirects) {
  const auto ev = pull("hf.co/ggml-org/Tiny-GGUF:Q8_0");
  ModelStore store(store_dir());
  const ResolvedModel m = store.resolve("hf.co/ggml-org/Tiny-GGUF:Q8_0");
  EXPECT_EQ(slurp(m.text_path), text_);
  EXPECT_EQ(slurp(m.mmproj_path), mmproj_);  // F32 preferred over Q8_0 when there is no F16
  EXPECT_EQ(m.template_text, "");            // not a SmolVLM repository: no template attached
  const auto st = statuses(ev);
  ASSERT_GE(st.size(), 5u);
  EXPECT_EQ(st.front(), "pulling manifest");
  EXPECT_EQ(st[1], "pulling " + hex_of(text_).substr(0, 12));
  EXPECT_NE(std::find(st.begin(), st.end(), "verifying sha256 digest"), st.end());
  EXPECT_EQ(st[st.size() - 2], "writing manifest");
  EXPECT_EQ(st.back(), "success");
  bool full = false;
  for (const auto& e : ev) full |= e.digest == "sha256:" + hex_of(text_) && e.completed == e.total && e.total == int64_t(text_.size());
  EXPECT_TRUE(full);
  // Downloads went through the resolve redirect to the CDN; the other quantizations were not fetched.
  EXPECT_EQ(hub_.cdn_ranges("Tiny-Q8_0.gguf").size(), 1u);
  EXPECT_TRUE(hub_.cdn_ranges("Tiny-Q4_K_M.gguf").empty());
  for (const auto& f : blob_files()) EXPECT_EQ(f.find("partial"), std::string::npos) << f;

  // Pulling again reuses the blobs: nothing is downloaded.
  pull("hf.co/ggml-org/Tiny-GGUF:Q8_0");
  EXPECT_EQ(hub_.cdn_ranges("Tiny-Q8_0.gguf").size(), 1u);
}

TEST_F(PullTest, DefaultQuantIsQ4KM) {
  pull("hf.co/ggml-org/Tiny-GGUF");
  ModelStore store(store_dir());
  EXPECT_EQ(slurp(store.resolve("hf.co/ggml-org/Tiny-GGUF:latest").text_path), text_q4_);
}

TEST_F(PullTest, CutTransferIsResumedWithRange) {
  hub_.cut["Tiny-Q8_0.gguf"] = 1;
  pull("hf.co/ggml-org/Tiny-GGUF:Q8_0");
  ModelStore store(store_dir());
  EXPECT_EQ(slurp(store.resolve("hf.co/ggml-org/Tiny-GGUF:Q8_0").text_path), text_);
  const auto ranges = hub_.cdn_ranges("Tiny-Q8_0.gguf");
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0], "");  // the first transfer asked for the whole file
  ASSERT_EQ(ranges[1].rfind("bytes=", 0), 0u);
  const long from = std::atol(ranges[1].c_str() + 6);
  EXPECT_GT(from, 0);
  EXPECT_LT(from, long(text_.size()));
}

TEST_F(PullTest, FailedPullLeavesPartialThatALaterPullResumes) {
  cfg_.retries = 0;
  hub_.cut["Tiny-Q8_0.gguf"] = 1;
  EXPECT_THROW(pull("hf.co/ggml-org/Tiny-GGUF:Q8_0"), Error);
  ModelStore store(store_dir());
  EXPECT_FALSE(store.find("hf.co/ggml-org/Tiny-GGUF:Q8_0").has_value());
  const std::string partial = store.blobs().path("sha256:" + hex_of(text_)) + "-partial";
  ASSERT_TRUE(fs::exists(partial));
  EXPECT_FALSE(store.blobs().exists("sha256:" + hex_of(text_)));

  pull("hf.co/ggml-org/Tiny-GGUF:Q8_0");
  EXPECT_EQ(slurp(store.resolve("hf.co/ggml-org/Tiny-GGUF:Q8_0").text_path), text_);
  const auto ranges = hub_.cdn_ranges("Tiny-Q8_0.gguf");
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_GT(std::atol(ranges[1].c_str() + 6), 0) << ranges[1];
  EXPECT_FALSE(fs::exists(partial));
}

TEST_F(PullTest, ThrowingProgressCancelsAndALaterPullResumes) {
  struct Cancelled {};
  hub_.slow_ms = 5;  // ~0.5 s per file: progress is reported while the transfer runs
  ModelStore store(store_dir());
  EXPECT_THROW(pull_model(store, "hf.co/ggml-org/Tiny-GGUF:Q8_0", cfg_,
                          [](const PullEvent& e) {
                            if (e.completed > 0 && e.completed < e.total) throw Cancelled{};
                          }),
               Cancelled);
  EXPECT_TRUE(store.names().empty());
  hub_.slow_ms = 0;
  pull("hf.co/ggml-org/Tiny-GGUF:Q8_0");
  EXPECT_EQ(slurp(store.resolve("hf.co/ggml-org/Tiny-GGUF:Q8_0").text_path), text_);
  const auto ranges = hub_.cdn_ranges("Tiny-Q8_0.gguf");
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_GT(std::atol(ranges[1].c_str() + 6), 0) << ranges[1];
}

TEST_F(PullTest, LargeFilesAreFetchedInParallelRanges) {
  cfg_.parallel = 4;
  cfg_.parallel_min_size = 64 * 1024;
  hub_.cut["Tiny-Q8_0.gguf"] = 1;  // one of the ranges is cut and resumed
  pull("hf.co/ggml-org/Tiny-GGUF:Q8_0");
  ModelStore store(store_dir());
  EXPECT_EQ(slurp(store.resolve("hf.co/ggml-org/Tiny-GGUF:Q8_0").text_path), text_);
  EXPECT_EQ(slurp(store.resolve("hf.co/ggml-org/Tiny-GGUF:Q8_0").mmproj_path), mmproj_);
  const auto ranges = hub_.cdn_ranges("Tiny-Q8_0.gguf");
  EXPECT_EQ(ranges.size(), 5u);  // 4 ranges + 1 resume
  for (const auto& r : ranges) EXPECT_EQ(r.rfind("bytes=", 0), 0u) << r;
}

TEST_F(PullTest, WrongEtagIsAVerificationErrorAndLeavesNothing) {
  hub_.repos["ggml-org/Tiny-GGUF"]["mmproj-Tiny-F32.gguf"].sha256 = hex_of("something else");
  try {
    pull("hf.co/ggml-org/Tiny-GGUF:Q8_0");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sha256 mismatch"), std::string::npos) << e.what();
  }
  ModelStore store(store_dir());
  EXPECT_TRUE(store.names().empty());
  EXPECT_TRUE(blob_files().empty()) << blob_files().front();
}

TEST_F(PullTest, WrongEtagOnTheModelFileLeavesNothingEither) {
  hub_.repos["ggml-org/Tiny-GGUF"]["Tiny-Q8_0.gguf"].sha256 = hex_of("something else");
  EXPECT_THROW(pull("hf.co/ggml-org/Tiny-GGUF:Q8_0"), Error);
  EXPECT_TRUE(blob_files().empty()) << blob_files().front();
}

TEST_F(PullTest, FailedParallelPullResumesEachRange) {
  cfg_.parallel = 4;
  cfg_.parallel_min_size = 64 * 1024;
  cfg_.retries = 0;
  hub_.cut["Tiny-Q8_0.gguf"] = 4;  // every range is cut half-way
  EXPECT_THROW(pull("hf.co/ggml-org/Tiny-GGUF:Q8_0"), Error);
  const size_t first = hub_.cdn_ranges("Tiny-Q8_0.gguf").size();
  hub_.cut["Tiny-Q8_0.gguf"] = 0;  // ranges stopped before they reached the server left cuts unused
  pull("hf.co/ggml-org/Tiny-GGUF:Q8_0");
  ModelStore store(store_dir());
  EXPECT_EQ(slurp(store.resolve("hf.co/ggml-org/Tiny-GGUF:Q8_0").text_path), text_);
  // The second run asks only for what is missing: no range starts at a planned boundary (N*i/4)
  // unless that range had not started at all.
  const auto ranges = hub_.cdn_ranges("Tiny-Q8_0.gguf");
  ASSERT_GT(ranges.size(), first);
  int resumed = 0;
  for (size_t i = first; i < ranges.size(); ++i) {
    const long from = std::atol(ranges[i].c_str() + 6);
    bool boundary = false;
    for (int k = 0; k < 4; ++k) boundary |= from == long(text_.size() * k / 4);
    resumed += !boundary;
  }
  EXPECT_GT(resumed, 0);
}

TEST_F(PullTest, NotFoundAndMissingQuantAreClear) {
  try {
    pull("hf.co/ggml-org/Nope-GGUF");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not found"), std::string::npos) << e.what();
  }
  try {
    pull("hf.co/ggml-org/Tiny-GGUF:Q5_K_M");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("available: Q4_K_M, Q8_0"), std::string::npos) << e.what();
  }
  // A file the listing names but resolve does not have.
  EXPECT_THROW(download_file(cfg_, DownloadRequest{cfg_.endpoint + "/ggml-org/Tiny-GGUF/resolve/main/x.gguf",
                                                   (tmp_ / "x").string(), "", -1}),
               HttpError);
  try {
    download_file(cfg_, DownloadRequest{cfg_.endpoint + "/ggml-org/Tiny-GGUF/resolve/main/x.gguf", (tmp_ / "x").string(), "", -1});
  } catch (const HttpError& e) {
    EXPECT_EQ(e.status(), 404);
    EXPECT_NE(std::string(e.what()).find("repository or file not found"), std::string::npos) << e.what();
  }
}

TEST_F(PullTest, PrivateRepoNeedsHfToken) {
  hub_.repos["me/Private-GGUF"] = hub_.repos["ggml-org/Tiny-GGUF"];
  hub_.tokens["me/Private-GGUF"] = "hf_secret";
  try {
    pull("hf.co/me/Private-GGUF:Q8_0");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("HF_TOKEN"), std::string::npos) << e.what();
  }
  cfg_.token = "hf_secret";
  pull("hf.co/me/Private-GGUF:Q8_0");
  ModelStore store(store_dir());
  EXPECT_EQ(slurp(store.resolve("hf.co/me/Private-GGUF:Q8_0").text_path), text_);
}

TEST_F(PullTest, OurNamesMapToSmolvlmReposWithTemplateAndDefaults) {
  hub_.repos["ggml-org/SmolVLM2-256M-Video-Instruct-GGUF"] = hub_.repos["ggml-org/Tiny-GGUF"];
  pull("smolvlm2:256m-q8_0");
  ModelStore store(store_dir());
  const ResolvedModel m = store.resolve("smolvlm2:256m-q8_0");
  EXPECT_EQ(slurp(m.text_path), text_);
  EXPECT_EQ(m.template_text, smolvlm_defaults("x/SmolVLM2-256M")->template_text);
  EXPECT_EQ(m.params["num_ctx"], 8192);
  EXPECT_EQ(m.params["stop"], nlohmann::json::array({"<end_of_utterance>"}));
  EXPECT_EQ(m.params["temperature"], 0);
}

TEST_F(PullTest, HuggingFaceCacheIsReused) {
  // The layout huggingface_hub writes: blobs/<sha256> and snapshots/<commit>/<file> -> blob.
  const fs::path repo = fs::path(cfg_.cache_dir) / "models--ggml-org--Tiny-GGUF";
  fs::create_directories(repo / "blobs");
  fs::create_directories(repo / "snapshots" / "abc123");
  smolvlm::testing::write_file(repo / "blobs" / hex_of(text_), text_.data(), text_.size());
  fs::create_symlink(fs::path("../../blobs") / hex_of(text_), repo / "snapshots" / "abc123" / "Tiny-Q8_0.gguf");
  // A corrupt cached copy of the projector is not used.
  const std::string bad = mmproj_.substr(0, mmproj_.size() - 1) + "x";
  smolvlm::testing::write_file(repo / "snapshots" / "abc123" / "mmproj-Tiny-F32.gguf", bad.data(), bad.size());
  pull("hf.co/ggml-org/Tiny-GGUF:Q8_0");
  EXPECT_TRUE(hub_.cdn_ranges("Tiny-Q8_0.gguf").empty());
  EXPECT_EQ(hub_.cdn_ranges("mmproj-Tiny-F32.gguf").size(), 1u);
  ModelStore store(store_dir());
  const ResolvedModel m = store.resolve("hf.co/ggml-org/Tiny-GGUF:Q8_0");
  EXPECT_EQ(slurp(m.text_path), text_);
  EXPECT_EQ(slurp(m.mmproj_path), mmproj_);
}

TEST_F(PullTest, CliPullsWithHfEndpointFromTheEnvironment) {
  smolvlm::testing::RunResult r, bad;
  {
    ScopedEnv env({{"HF_ENDPOINT", hub_.endpoint() + "/"}, {"OLLAMA_MODELS", store_dir()}, {"HF_HUB_CACHE", cfg_.cache_dir}});
    r = smolvlm::testing::run_smolvlm({"pull", "hf.co/ggml-org/Tiny-GGUF:Q8_0"});
    bad = smolvlm::testing::run_smolvlm({"pull", "hf.co/ggml-org/Nope-GGUF"});
  }
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("pulling manifest"), std::string::npos) << r.err;
  if (std::getenv("SMOLVLM_TEST_VERBOSE")) std::cerr << r.err << bad.err;
  EXPECT_NE(r.err.find("success"), std::string::npos) << r.err;
  ModelStore store(store_dir());
  EXPECT_EQ(slurp(store.resolve("hf.co/ggml-org/Tiny-GGUF:Q8_0").text_path), text_);
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("not found"), std::string::npos) << bad.err;
}

// A safetensors checkpoint (the golden tiny HF folder) as repository HuggingFaceTB/tiny512.
class PullCheckpointTest : public PullTest {
 protected:
  void SetUp() override {
    PullTest::SetUp();
    if (IsSkipped()) return;
    const fs::path hf = smolvlm::testing::shared_path("golden/tiny512/hf");
    auto& repo = hub_.repos["HuggingFaceTB/tiny512"];
    for (const auto& e : fs::directory_iterator(hf)) {
      const std::string name = e.path().filename().string();
      const std::string bytes = slurp(e.path());
      HubEntry h{bytes, name == "model.safetensors" ? hex_of(bytes) : "", git_blob_id(e.path().string())};
      repo[name] = h;
    }
    repo["onnx/model.onnx"] = {"not wanted", "", "1234"};
  }
  fs::path snapshot() const { return fs::path(cfg_.cache_dir) / "models--HuggingFaceTB--tiny512" / "snapshots" / kCommit; }
};

TEST_F(PullCheckpointTest, DownloadsIntoTheHfCacheThenConvertsAndCreates) {
  std::string seen_dir, seen_quant;
  const CheckpointConverter convert = [&](const std::string& dir, const std::string& quant, const std::string& work) {
    seen_dir = dir;
    EXPECT_EQ(slurp(fs::path(dir) / "config.json"), slurp(snapshot() / "config.json"));
    seen_quant = quant;
    fs::copy_file(smolvlm::testing::shared_path("golden/tiny512/gguf/text-Q8_0.gguf"), fs::path(work) / "t-Q8_0.gguf");
    fs::copy_file(smolvlm::testing::shared_path("golden/tiny512/gguf/mmproj-F16.gguf"), fs::path(work) / "mmproj-t-F16.gguf");
    return std::vector<std::string>{(fs::path(work) / "t-Q8_0.gguf").string(), (fs::path(work) / "mmproj-t-F16.gguf").string()};
  };
  ModelStore store(store_dir());
  EXPECT_THROW(pull_model(store, "HuggingFaceTB/tiny512", cfg_), Error);  // no converter
  pull_model(store, "HuggingFaceTB/tiny512", cfg_, {}, convert);
  EXPECT_EQ(seen_quant, "Q4_K_M");
  EXPECT_EQ(fs::path(seen_dir).filename(), "tiny512");  // a folder named after the repository
  // huggingface_hub's layout: every wanted file linked from the snapshot, refs/main -> commit.
  EXPECT_EQ(slurp(snapshot() / "model.safetensors"), slurp(smolvlm::testing::shared_path("golden/tiny512/hf/model.safetensors")));
  EXPECT_EQ(slurp(snapshot() / "tokenizer.json"), slurp(smolvlm::testing::shared_path("golden/tiny512/hf/tokenizer.json")));
  EXPECT_TRUE(fs::is_symlink(snapshot() / "config.json"));
  EXPECT_FALSE(fs::exists(snapshot() / "onnx"));
  EXPECT_EQ(slurp(snapshot().parent_path().parent_path() / "refs" / "main"), kCommit);
  const ResolvedModel m = store.resolve("HuggingFaceTB/tiny512:latest");
  EXPECT_EQ(slurp(m.text_path), text_);
  EXPECT_FALSE(m.mmproj_path.empty());
  EXPECT_TRUE(fs::is_empty(snapshot().parent_path().parent_path() / "blobs") == false);
  // The scratch folder of the conversion is gone.
  for (const auto& e : fs::directory_iterator(snapshot().parent_path().parent_path())) {
    EXPECT_EQ(e.path().filename().string().find("smolvlm-convert"), std::string::npos);
  }
  // A second pull finds everything in the cache: no transfer.
  const size_t before = hub_.cdn_ranges("model.safetensors").size();
  pull_model(store, "HuggingFaceTB/tiny512:Q8_0", cfg_, {}, convert);
  EXPECT_EQ(hub_.cdn_ranges("model.safetensors").size(), before);
}

TEST_F(PullCheckpointTest, CorruptSmallFileIsRejectedByItsGitId) {
  hub_.repos["HuggingFaceTB/tiny512"]["config.json"].oid = "0000000000000000000000000000000000000000";
  ModelStore store(store_dir());
  const CheckpointConverter never = [](const std::string&, const std::string&, const std::string&) -> std::vector<std::string> {
    ADD_FAILURE() << "converter called";
    return {};
  };
  try {
    pull_model(store, "HuggingFaceTB/tiny512", cfg_, {}, never);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("git blob id mismatch"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(store.names().empty());
}

// The real thing through the CLI: download, convert (F16), create — the golden GGUF pair byte for
// byte; then again with Q8_0 from the cache (no transfer), quantized.
TEST_F(PullCheckpointTest, CliConvertsAndQuantizes) {
  smolvlm::testing::RunResult r, q;
  size_t transfers = 0;
  {
    ScopedEnv env({{"HF_ENDPOINT", hub_.endpoint()}, {"OLLAMA_MODELS", store_dir()}, {"HF_HUB_CACHE", cfg_.cache_dir}});
    r = smolvlm::testing::run_smolvlm({"pull", "HuggingFaceTB/tiny512:F16"});
    transfers = hub_.requests().size();
    q = smolvlm::testing::run_smolvlm({"pull", "HuggingFaceTB/tiny512:Q8_0"});
  }
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("success"), std::string::npos) << r.err;
  ModelStore store(store_dir());
  const ResolvedModel m = store.resolve("HuggingFaceTB/tiny512:F16");
  // The same bytes as `smolvlm convert` of the golden folder itself (tested against the goldens in
  // test_convert.cpp): the pulled snapshot, its file names and the model name all came through.
  ConvertOptions co;
  co.hf_dir = smolvlm::testing::shared_path("golden/tiny512/hf").string();
  co.out_dir = (tmp_ / "direct").string();
  fs::create_directories(co.out_dir);
  const ConvertResult direct = convert_hf_checkpoint(co);
  EXPECT_EQ(hex_of(slurp(m.text_path)), hex_of(slurp(direct.text.path)));
  EXPECT_EQ(hex_of(slurp(m.mmproj_path)), hex_of(slurp(direct.mmproj.path)));
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_EQ(store.show("HuggingFaceTB/tiny512:Q8_0").details.value("quantization_level", ""), "Q8_0");
  for (size_t i = transfers; i < hub_.requests().size(); ++i) {
    EXPECT_EQ(hub_.requests()[i].find("/cdn/"), std::string::npos) << hub_.requests()[i];
  }
}

}  // namespace
