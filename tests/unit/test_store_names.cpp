// Ollama model names (reference/ollama-contract.md §0): defaults, display form, part rules, and
// every path trick rejected.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "store/names.h"

namespace smolvlm {
namespace {

TEST(StoreNames, DefaultsAndDisplay) {
  ModelName n = ModelName::parse("llama3.2");
  EXPECT_EQ(n.full(), "registry.ollama.ai/library/llama3.2:latest");
  EXPECT_EQ(n.shortest(), "llama3.2:latest");
  EXPECT_EQ(n.relative_path(), "registry.ollama.ai/library/llama3.2/latest");
  n = ModelName::parse("hf.co/ggml-org/SmolVLM-256M-Instruct-GGUF:Q8_0");
  EXPECT_EQ(n.host, "hf.co");
  EXPECT_EQ(n.ns, "ggml-org");
  EXPECT_EQ(n.model, "SmolVLM-256M-Instruct-GGUF");
  EXPECT_EQ(n.tag, "Q8_0");
  EXPECT_EQ(n.shortest(), "hf.co/ggml-org/SmolVLM-256M-Instruct-GGUF:Q8_0");
  EXPECT_EQ(ModelName::parse("myuser/x").shortest(), "myuser/x:latest");
  EXPECT_EQ(ModelName::parse("smolvlm2:256m").full(), "registry.ollama.ai/library/smolvlm2:256m");
  EXPECT_EQ(ModelName::parse("localhost:5000/ns/m:t").host, "localhost:5000");
  EXPECT_EQ(ModelName::parse("https://hf.co/a/b:c").host, "hf.co");
  EXPECT_TRUE(ModelName::parse("SmolVLM2:256M").equal_fold(ModelName::parse("smolvlm2:256m")));
  EXPECT_FALSE(ModelName::parse("smolvlm2:256m").equal_fold(ModelName::parse("smolvlm2:500m")));
}

TEST(StoreNames, RejectsInvalidAndPathTricks) {
  for (const std::string& bad : std::vector<std::string>{"", ":", "../x", "..", "a/../../b", "x:..", "../../etc/passwd", "a/b/c/d", "/abs", "a//b", "x:", "x/",
        "a\\b", "a b", "ns.dot/m", ".hidden", "-dash", "m:t/x", "m:t:u", std::string(81, 'a'),
        "m:" + std::string(81, 't'), "a/b/" + std::string(81, 'm'), std::string(351, 'h') + "/n/m:t", "\xC3\xA9t\xC3\xA9"}) {
    EXPECT_FALSE(ModelName::try_parse(bad).has_value()) << "'" << bad << "'";
    EXPECT_THROW(ModelName::parse(bad), Error) << bad;
  }
  try {
    ModelName::parse("../x");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("invalid model name '../x'"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(ModelName::try_parse(std::string(80, 'a')).has_value());
  EXPECT_TRUE(ModelName::try_parse("_x/y_:z-1.2").has_value());
}

TEST(StoreNames, FromRelativePath) {
  EXPECT_EQ(ModelName::from_relative_path("registry.ollama.ai/library/m/latest")->shortest(), "m:latest");
  EXPECT_FALSE(ModelName::from_relative_path("a/b/c").has_value());
  EXPECT_FALSE(ModelName::from_relative_path("a/b/c/d/e").has_value());
  EXPECT_FALSE(ModelName::from_relative_path("h/n/m/latest.tmp~").has_value());
  EXPECT_FALSE(ModelName::from_relative_path("h/n/../t").has_value());
}

}  // namespace
}  // namespace smolvlm
