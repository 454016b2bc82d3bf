// PROOF that `quantize` reproduces llama.cpp's `llama-quantize IN OUT TYPE` byte for byte: the
// golden files of ../shared/golden/{tiny512,tiny384}/gguf were made by llama-quantize (llama.cpp
// 34af94cd) from text-F32.gguf / mmproj-F32.gguf. No metadata key differs: the whole files match.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "convert/quantize_model.h"
#include "io/gguf.h"
#include "support/testing.h"

namespace smolvlm {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

struct Case {
  std::string model, kind, type;  // kind: "text" or "mmproj"
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.model << " " << c.kind << " " << c.type; }

std::string case_name(const ::testing::TestParamInfo<Case>& i) {
  return i.param.model + "_" + i.param.kind + "_" + i.param.type;
}

std::vector<Case> golden_cases() {
  std::vector<Case> c;
  for (const char* m : {"tiny512", "tiny384"}) {
    for (const char* t : {"F16", "Q8_0", "Q4_0", "Q4_K_M", "Q5_K_M"}) c.push_back({m, "text", t});
    c.push_back({m, "mmproj", "F16"});
  }
  c.push_back({"tiny512", "mmproj", "Q8_0"});
  return c;
}

// First differing byte, described, or "" when equal.
std::string first_difference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return cat("first difference at byte ", i, " (ours ", int(a[i]), ", golden ", int(b[i]), ")");
  }
  if (a.size() != b.size()) return cat("sizes differ: ours ", a.size(), ", golden ", b.size());
  return {};
}

class QuantizeGolden : public ::testing::TestWithParam<Case> {};

TEST_P(QuantizeGolden, ByteIdenticalToLlamaQuantize) {
  const Case& c = GetParam();
  const std::string dir = "golden/" + c.model + "/gguf/";
  SMOLVLM_REQUIRE_SHARED(dir + c.kind + "-" + c.type + ".gguf");
  TempDir tmp;
  QuantizeOptions o;
  o.input = testing::shared_path(dir + c.kind + "-F32.gguf").string();
  o.output = (tmp / "out.gguf").string();
  o.target = *parse_quant_target(c.type);
  o.threads = 2;
  o.progress = 0;
  quantize_model(o);
  const auto ours = testing::read_file(o.output);
  const auto golden = testing::read_file(testing::shared_path(dir + c.kind + "-" + c.type + ".gguf"));
  EXPECT_EQ(first_difference(ours, golden), "");
  EXPECT_EQ(testing::sha256_hex(ours), testing::sha256_hex(golden));
}

// The plan alone (no file written) gives every golden file's tensor types, in its order, and the
// golden general.file_type (tensor_types.json lists them).
TEST_P(QuantizeGolden, PlanMatchesTensorTypesJson) {
  const Case& c = GetParam();
  const std::string dir = "golden/" + c.model + "/gguf/";
  SMOLVLM_REQUIRE_SHARED(dir + "tensor_types.json");
  std::ifstream f(testing::shared_path(dir + "tensor_types.json"));
  const auto j = nlohmann::json::parse(f).at(c.kind + "-" + c.type + ".gguf");
  const GgufFile in = GgufFile::open(testing::shared_path(dir + c.kind + "-F32.gguf").string());
  const QuantizeReport r = plan_model_quantization(in, *parse_quant_target(c.type));
  EXPECT_EQ(quant_target_info(r.target).file_type, j.at("general.file_type").get<uint32_t>());
  const auto& tensors = j.at("tensors");
  ASSERT_EQ(r.plan.size(), tensors.size());
  for (size_t i = 0; i < r.plan.size(); ++i) {
    EXPECT_EQ(r.plan[i].name, tensors[i].at("name").get<std::string>()) << i;
    EXPECT_EQ(ggml_type_name(r.plan[i].to), tensors[i].at("type").get<std::string>()) << r.plan[i].name;
    EXPECT_EQ(r.plan[i].ne, tensors[i].at("ne").get<std::vector<int64_t>>()) << r.plan[i].name;
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, QuantizeGolden, ::testing::ValuesIn(golden_cases()), case_name);

// llama-quantize refuses tiny384's mmproj as Q8_0 ("no tensor type fallback is defined for type
// q8_0": rows of 648, 72, 144 are not multiples of 32); so do we, naming the tensor, the row
// width and the type, and nothing is written.
TEST(QuantizeGoldenErrors, Tiny384MmprojQ8_0FailsAndWritesNothing) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny384/gguf/mmproj-F32.gguf");
  TempDir tmp;
  QuantizeOptions o;
  o.input = testing::shared_path("golden/tiny384/gguf/mmproj-F32.gguf").string();
  o.output = (tmp / "mmproj-Q8_0.gguf").string();
  o.target = QuantTarget::Q8_0;
  o.progress = 0;
  try {
    quantize_model(o);
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("'mm.model.fc.weight'"), std::string::npos) << m;
    EXPECT_NE(m.find("648"), std::string::npos) << m;
    EXPECT_NE(m.find("Q8_0"), std::string::npos) << m;
    EXPECT_NE(m.find("multiple of 32"), std::string::npos) << m;
  }
  EXPECT_TRUE(fs::is_empty(tmp.path()));
}

// Re-quantizing a golden file to its own type copies every tensor: the output is the input.
TEST(QuantizeGoldenErrors, SameTypeIsIdentity) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/text-Q4_K_M.gguf");
  TempDir tmp;
  QuantizeOptions o;
  o.input = testing::shared_path("golden/tiny512/gguf/text-Q4_K_M.gguf").string();
  o.output = (tmp / "out.gguf").string();
  o.target = QuantTarget::Q4_K_M;
  o.progress = 0;
  const QuantizeReport r = quantize_model(o);
  for (const auto& e : r.plan) EXPECT_FALSE(e.convert()) << e.name;
  EXPECT_EQ(testing::read_file(o.output), testing::read_file(o.input));
}

// Inputs already quantized are dequantized first (Q8_0 -> Q4_K_M; llama-quantize would need
// --allow-requantize); an F16 input to F16 is a pure copy.
TEST(QuantizeGoldenErrors, ConvertsF16AndQuantizedInputs) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/text-Q8_0.gguf");
  TempDir tmp;
  QuantizeOptions o;
  o.progress = 0;
  o.input = testing::shared_path("golden/tiny512/gguf/text-Q8_0.gguf").string();
  o.output = (tmp / "q4km.gguf").string();
  o.target = QuantTarget::Q4_K_M;
  const QuantizeReport r = quantize_model(o);
  const GgufFile out = GgufFile::open(o.output);
  EXPECT_EQ(out.tensor("blk.1.ffn_down.weight").type, GgmlType::Q6_K);
  EXPECT_EQ(out.tensor("blk.0.ffn_down.weight").type, GgmlType::Q4_K);
  EXPECT_EQ(out.get("general.file_type").as_u32(), 15u);
  EXPECT_EQ(out.metadata().back().key, "general.file_type");
  EXPECT_EQ(out.metadata()[out.metadata().size() - 2].key, "general.quantization_version");

  o.input = testing::shared_path("golden/tiny512/gguf/text-F16.gguf").string();
  o.output = (tmp / "from_f16.gguf").string();
  o.target = QuantTarget::F16;
  quantize_model(o);  // F16 -> F16: copies; metadata order unchanged
  EXPECT_EQ(testing::read_file(o.output), testing::read_file(o.input));
}

}  // namespace
}  // namespace smolvlm
