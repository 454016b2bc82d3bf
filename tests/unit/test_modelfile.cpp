// Modelfile grammar (reference/ollama-contract.md §4): every instruction, quoting, comments, typed
// parameters, and errors that name the line and column.
#include <gtest/gtest.h>

#include <string>

#include "base/error.h"
#include "store/modelfile.h"

namespace smolvlm {
namespace {

std::string error_of(const std::string& text) {
  try {
    parse_modelfile(text, "Modelfile");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Modelfile, EveryInstruction) {
  const Modelfile mf = parse_modelfile(
      "# a comment\n"
      "  # an indented comment\n"
      "FROM ./model.gguf\n"
      "from ./mmproj.gguf\n"
      "\n"
      "PARAMETER temperature 0.7\n"
      "parameter top_k 20\n"
      "PARAMETER use_mmap false\n"
      "PARAMETER stop <|im_end|>\n"
      "PARAMETER stop \"<end of utterance>\"\n"
      "TEMPLATE \"\"\"{{ .System }}\n{{ .Prompt }}\"\"\"\n"
      "SYSTEM You are # not a comment\n"
      "MESSAGE user Hello there\n"
      "MESSAGE assistant \"Hi!\"\n"
      "LICENSE \"\"\"MIT\nline 2\"\"\"\n"
      "License Apache-2.0\n"
      "RENDERER r1\n"
      "PARSER p1\n"
      "REQUIRES v0.14.0\n");
  ASSERT_EQ(mf.from.size(), 2u);
  EXPECT_EQ(mf.from[0], "./model.gguf");
  EXPECT_EQ(mf.from[1], "./mmproj.gguf");
  EXPECT_EQ(mf.parameters["temperature"], 0.7);  // float32 0.7 stored as its shortest decimal
  EXPECT_TRUE(mf.parameters["top_k"].is_number_integer());
  EXPECT_EQ(mf.parameters["top_k"], 20);
  EXPECT_EQ(mf.parameters["use_mmap"], false);
  EXPECT_EQ(mf.parameters["stop"], nlohmann::json::array({"<|im_end|>", "<end of utterance>"}));
  EXPECT_EQ(*mf.template_text, "{{ .System }}\n{{ .Prompt }}");
  EXPECT_EQ(*mf.system, "You are # not a comment");
  ASSERT_EQ(mf.messages.size(), 2u);
  EXPECT_EQ(mf.messages[0], (nlohmann::json{{"role", "user"}, {"content", "Hello there"}}));
  EXPECT_EQ(mf.messages[1]["content"], "Hi!");
  ASSERT_EQ(mf.licenses.size(), 2u);
  EXPECT_EQ(mf.licenses[0], "MIT\nline 2");
  EXPECT_EQ(mf.licenses[1], "Apache-2.0");
  EXPECT_EQ(*mf.renderer, "r1");
  EXPECT_EQ(*mf.parser, "p1");
  EXPECT_EQ(*mf.requires_version, "0.14.0");
  EXPECT_EQ(mf.commands.size(), 16u);
  EXPECT_EQ(mf.commands[0].line, 3);
  EXPECT_EQ(mf.commands[0].column, 1);
}

TEST(Modelfile, QuotingRules) {
  // Single-quoted multi-line value; no escapes; single quotes literal; trimming; CRLF; BOM.
  Modelfile mf = parse_modelfile("\xEF\xBB\xBF" "FROM m\r\nSYSTEM \"line1\r\nline2\"\r\nTEMPLATE   'x'  \r\n");
  EXPECT_EQ(*mf.system, "line1\r\nline2");
  EXPECT_EQ(*mf.template_text, "'x'");
  mf = parse_modelfile("FROM m\nSYSTEM \"\"\"say \"hi\" \\n\"\"\"\n");
  EXPECT_EQ(*mf.system, "say \"hi\" \\n");
  // A quote inside a value that does not start with one is literal.
  mf = parse_modelfile("FROM m\nSYSTEM a \"b\n");
  EXPECT_EQ(*mf.system, "a \"b");
  // Deprecated parameters are dropped with a warning.
  mf = parse_modelfile("FROM m\nPARAMETER mirostat 1\n");
  EXPECT_FALSE(mf.parameters.contains("mirostat"));
  EXPECT_EQ(mf.warnings.size(), 1u);
}

TEST(Modelfile, QuoteRoundTrip) {
  for (const std::string v : {"plain", "two\nlines", " lead", "trail ", "has \"quote\"\nand newline"}) {
    const Modelfile mf = parse_modelfile("FROM m\nSYSTEM " + modelfile_quote(v) + "\n");
    EXPECT_EQ(*mf.system, v);
  }
  EXPECT_EQ(modelfile_quote("a\nb"), "\"a\nb\"");
  EXPECT_EQ(modelfile_quote("a\"\nb"), "\"\"\"a\"\nb\"\"\"");
}

TEST(Modelfile, TypedParameters) {
  EXPECT_EQ(*modelfile_parameter("num_ctx", "4096"), 4096);
  EXPECT_EQ(*modelfile_parameter("seed", "-1"), -1);
  EXPECT_EQ(*modelfile_parameter("top_p", "1"), 1.0);
  EXPECT_TRUE(modelfile_parameter("top_p", "1")->is_number_float());
  EXPECT_EQ(*modelfile_parameter("use_mmap", "T"), true);
  EXPECT_THROW(modelfile_parameter("num_ctx", "4k"), Error);
  EXPECT_THROW(modelfile_parameter("num_ctx", "1.5"), Error);
  EXPECT_THROW(modelfile_parameter("temperature", "hot"), Error);
  EXPECT_THROW(modelfile_parameter("use_mmap", "yes"), Error);
  EXPECT_THROW(modelfile_parameter("numa", "true"), Error);   // removed: unknown in a Modelfile
  EXPECT_THROW(modelfile_parameter("tfs_z", "1.0"), Error);
  EXPECT_FALSE(modelfile_parameter("penalize_newline", "true").has_value());
}

TEST(Modelfile, ErrorsNameLineAndColumn) {
  EXPECT_NE(error_of("FROM m\nFROB x\n").find("(line 2, column 1)"), std::string::npos);
  EXPECT_NE(error_of("FROM m\nFROB x\n").find("command must be one of"), std::string::npos);
  EXPECT_NE(error_of("FROM m\n  PARAMETER  foo 1\n").find("(line 2, column 14): unknown parameter 'foo'"), std::string::npos)
      << error_of("FROM m\n  PARAMETER  foo 1\n");
  EXPECT_NE(error_of("FROM m\nPARAMETER top_k many\n").find("(line 2, column 17): invalid int value [many]"), std::string::npos)
      << error_of("FROM m\nPARAMETER top_k many\n");
  EXPECT_NE(error_of("FROM m\nMESSAGE tool hi\n").find("(line 2, column 9): message role must be one of"), std::string::npos);
  EXPECT_NE(error_of("FROM m\nSYSTEM \"\"\"never\nclosed\n").find("(line 2, column 8): unexpected EOF"), std::string::npos)
      << error_of("FROM m\nSYSTEM \"\"\"never\nclosed\n");
  EXPECT_NE(error_of("FROM m\nADAPTER ./lora.gguf\n").find("(line 2, column 1): ADAPTER is not supported"), std::string::npos);
  EXPECT_NE(error_of("SYSTEM hi\n").find("no FROM line"), std::string::npos);
  EXPECT_NE(error_of("FROM\n").find("(line 1, column 1): FROM needs an argument"), std::string::npos);
  EXPECT_NE(error_of("FROM m\nREQUIRES 1.2\n").find("valid semver"), std::string::npos);
  EXPECT_NE(error_of("FROM m\nFROM2 x\n").find("(line 2, column 1)"), std::string::npos);
  EXPECT_NE(error_of("FROM m\nPARAMETER\n").find("(line 2, column 1)"), std::string::npos);
}

}  // namespace
}  // namespace smolvlm
