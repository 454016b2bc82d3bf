// Pull names → repositories, the GGUF file choice, the SmolVLM2 defaults (which must equal the shipped
// modelfiles/), and the hub configuration from the environment.
#include <cstdlib>
#include <filesystem>

#include "base/error.h"
#include "base/file_util.h"
#include "store/hub_client.h"
#include "store/modelfile.h"
#include "store/pull.h"
#include "support/testing.h"

namespace fs = std::filesystem;
using namespace smolvlm;

namespace {

TEST(PullNames, HfCoNamesKeepTheTagAsQuant) {
  auto s = resolve_pull_name("hf.co/ggml-org/SmolVLM2-2.2B-Instruct-GGUF:Q8_0");
  EXPECT_EQ(s.repo, "ggml-org/SmolVLM2-2.2B-Instruct-GGUF");
  EXPECT_EQ(s.quant, "Q8_0");
  EXPECT_EQ(s.model_name, "hf.co/ggml-org/SmolVLM2-2.2B-Instruct-GGUF:Q8_0");
  s = resolve_pull_name("huggingface.co/ggml-org/X-GGUF");
  EXPECT_EQ(s.repo, "ggml-org/X-GGUF");
  EXPECT_EQ(s.quant, "");  // latest: the default choice
}

TEST(PullNames, OurNamesMapToGgmlOrgRepos) {
  EXPECT_EQ(resolve_pull_name("smolvlm2:256m").repo, "ggml-org/SmolVLM2-256M-Video-Instruct-GGUF");
  EXPECT_EQ(resolve_pull_name("smolvlm2:500m").repo, "ggml-org/SmolVLM2-500M-Video-Instruct-GGUF");
  EXPECT_EQ(resolve_pull_name("smolvlm2:2.2b").repo, "ggml-org/SmolVLM2-2.2B-Instruct-GGUF");
  EXPECT_EQ(resolve_pull_name("smolvlm2").repo, "ggml-org/SmolVLM2-2.2B-Instruct-GGUF");
  const auto s = resolve_pull_name("smolvlm2:2.2b-q4_K_M");
  EXPECT_EQ(s.repo, "ggml-org/SmolVLM2-2.2B-Instruct-GGUF");
  EXPECT_EQ(s.quant, "q4_K_M");
  EXPECT_EQ(s.model_name, "smolvlm2:2.2b-q4_K_M");
  EXPECT_EQ(resolve_pull_name("SmolVLM2:256M-Q8_0").quant, "Q8_0");
}

TEST(PullNames, BadNamesAreRejectedClearly) {
  EXPECT_THROW(resolve_pull_name("smolvlm2:7b"), Error);
  EXPECT_THROW(resolve_pull_name("llama3.2"), Error);
  EXPECT_THROW(resolve_pull_name("hf.co/../etc:x"), Error);
  EXPECT_THROW(resolve_pull_name("hf.co/a/b/c"), Error);
  EXPECT_THROW(check_repo_id("a/.."), Error);
  EXPECT_THROW(check_repo_id("noslash"), Error);
  try {
    resolve_pull_name("llama3.2");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("hf.co/ORG/REPO"), std::string::npos) << e.what();
  }
}

TEST(PullNames, QuantOfAFileName) {
  EXPECT_EQ(gguf_file_quant("SmolVLM2-2.2B-Instruct-Q4_K_M.gguf"), "Q4_K_M");
  EXPECT_EQ(gguf_file_quant("sub/model.q8_0.GGUF"), "Q8_0");
  EXPECT_EQ(gguf_file_quant("mmproj-SmolVLM2-2.2B-Instruct-f16.gguf"), "F16");
}

TEST(PullNames, ChoosesQuantAndF16Projector) {
  const std::vector<HubFile> files{
      {"README.md", 10, "", ""},
      {"SmolVLM2-2.2B-Instruct-Q8_0.gguf", 1, "a", ""},
      {"SmolVLM2-2.2B-Instruct-Q4_K_M.gguf", 1, "b", ""},
      {"SmolVLM2-2.2B-Instruct-f16.gguf", 1, "c", ""},
      {"mmproj-SmolVLM2-2.2B-Instruct-Q8_0.gguf", 1, "d", ""},
      {"mmproj-SmolVLM2-2.2B-Instruct-f16.gguf", 1, "e", ""},
  };
  auto c = choose_gguf_files(files, "", "r");
  EXPECT_EQ(c.model.path, "SmolVLM2-2.2B-Instruct-Q4_K_M.gguf");
  ASSERT_TRUE(c.projector);
  EXPECT_EQ(c.projector->path, "mmproj-SmolVLM2-2.2B-Instruct-f16.gguf");
  EXPECT_EQ(choose_gguf_files(files, "q8_0", "r").model.path, "SmolVLM2-2.2B-Instruct-Q8_0.gguf");
  EXPECT_EQ(choose_gguf_files(files, "F16", "r").model.path, "SmolVLM2-2.2B-Instruct-f16.gguf");
  // Without Q4_K_M the default is Q8_0; without a projector there is none.
  c = choose_gguf_files({files[1], files[3]}, "", "r");
  EXPECT_EQ(c.model.path, "SmolVLM2-2.2B-Instruct-Q8_0.gguf");
  EXPECT_FALSE(c.projector);
  EXPECT_THROW(choose_gguf_files({files[0], files[4]}, "", "r"), Error);  // only a projector
}

// The files of the real ggml-org/SmolVLM2-256M-Video-Instruct-GGUF (as of 2026).
TEST(PullNames, RealSmolvlm2RepoListing) {
  std::vector<HubFile> files;
  for (const char* p : {"SmolVLM2-256M-Video-Instruct-BF16.gguf", "SmolVLM2-256M-Video-Instruct-Q4_K_M.gguf",
                        "SmolVLM2-256M-Video-Instruct-Q8_0.gguf", "SmolVLM2-256M-Video-Instruct-f16.gguf",
                        "mmproj-SmolVLM2-256M-Video-Instruct-BF16.gguf", "mmproj-SmolVLM2-256M-Video-Instruct-Q8_0.gguf",
                        "mmproj-SmolVLM2-256M-Video-Instruct-f16.gguf", "README.md", ".gitattributes"}) {
    files.push_back(HubFile{p, 1, "", ""});
  }
  const auto c = choose_gguf_files(files, "", "ggml-org/SmolVLM2-256M-Video-Instruct-GGUF");
  EXPECT_EQ(c.model.path, "SmolVLM2-256M-Video-Instruct-Q4_K_M.gguf");
  EXPECT_EQ(c.projector->path, "mmproj-SmolVLM2-256M-Video-Instruct-f16.gguf");
  EXPECT_EQ(choose_gguf_files(files, "bf16", "r").model.path, "SmolVLM2-256M-Video-Instruct-BF16.gguf");
  // Split shards are not models.
  const std::vector<HubFile> split{{"X-Q8_0-00001-of-00002.gguf", 1, "", ""}, {"X-Q8_0-00002-of-00002.gguf", 1, "", ""}};
  try {
    choose_gguf_files(split, "", "r");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("split"), std::string::npos) << e.what();
  }
}

// The defaults attached to pulled SmolVLM models are the shipped Modelfiles' TEMPLATE and PARAMETERs.
TEST(PullNames, SmolvlmDefaultsEqualTheShippedModelfiles) {
  const fs::path dir = smolvlm::testing::repo_root() / "modelfiles";
  int checked = 0;
  for (const auto& [file, repo] : std::vector<std::pair<std::string, std::string>>{
           {"smolvlm2-256m-q4_k_m.Modelfile", "ggml-org/SmolVLM2-256M-Video-Instruct-GGUF"},
           {"smolvlm2-500m-q8_0.Modelfile", "ggml-org/SmolVLM2-500M-Video-Instruct-GGUF"},
           {"smolvlm2-2.2b-q5_k_m.Modelfile", "ggml-org/SmolVLM2-2.2B-Instruct-GGUF"}}) {
    if (!fs::exists(dir / file)) continue;
    const Modelfile mf = parse_modelfile(read_file((dir / file).string()), file);
    const auto d = smolvlm_defaults(repo);
    ASSERT_TRUE(d) << repo;
    ASSERT_TRUE(mf.template_text);
    EXPECT_EQ(d->template_text, *mf.template_text) << file;
    EXPECT_EQ(d->parameters, mf.parameters) << file;
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "modelfiles/ not found";
  EXPECT_FALSE(smolvlm_defaults("ggml-org/gemma-3-4b-it-GGUF"));
}

TEST(PullNames, HubConfigFromEnvironment) {
  ::setenv("HF_ENDPOINT", "http://hub.local:8080//", 1);
  ::setenv("HF_TOKEN", "hf_x", 1);
  ::unsetenv("HF_HUB_CACHE");
  ::setenv("HF_HOME", "/tmp/hfhome", 1);
  HubConfig c = HubConfig::from_env();
  EXPECT_EQ(c.endpoint, "http://hub.local:8080");
  EXPECT_EQ(c.token, "hf_x");
  EXPECT_EQ(c.cache_dir, "/tmp/hfhome/hub");
  EXPECT_EQ(hub_file_url(c, "org/repo", "main", "dir/a b.gguf"), "http://hub.local:8080/org/repo/resolve/main/dir/a%20b.gguf");
  ::unsetenv("HF_ENDPOINT");
  ::unsetenv("HF_TOKEN");
  ::unsetenv("HF_HOME");
  c = HubConfig::from_env();
  EXPECT_EQ(c.endpoint, "https://huggingface.co");
  EXPECT_EQ(c.token, "");
}

}  // namespace
