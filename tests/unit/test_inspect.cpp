// `smolvlm inspect` on the golden GGUF and safetensors files: JSON shape (parsed and compared with
// the readers), abbreviation of long arrays, --all, text tables, format detection by content.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "io/gguf.h"
#include "io/safetensors.h"
#include "test_convert_util.h"

namespace smolvlm {
namespace {

using namespace smolvlm::testing;
using json = nlohmann::ordered_json;  // keeps the key order of the output

json inspect_json(const std::vector<std::string>& extra) {
  std::vector<std::string> args{"inspect"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back("--json");
  const RunResult r = run_smolvlm(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out);
}

TEST(Inspect, GgufJsonMatchesTheReader) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/text-F32.gguf");
  const std::string path = shared_path("golden/tiny512/gguf/text-F32.gguf").string();
  const json j = inspect_json({path});
  const GgufFile f = GgufFile::open(path);
  EXPECT_EQ(j["format"], "gguf");
  EXPECT_EQ(j["version"], 3);
  EXPECT_EQ(j["alignment"], 32);
  EXPECT_EQ(j["data_offset"], f.data_offset());
  const json& md = j["metadata"];
  ASSERT_EQ(md.size(), f.metadata().size());
  size_t i = 0;
  for (auto it = md.begin(); it != md.end(); ++it, ++i) EXPECT_EQ(it.key(), f.metadata()[i].key);  // file order
  EXPECT_EQ(md["general.architecture"], "llama");
  EXPECT_EQ(md["llama.block_count"], 2);
  EXPECT_EQ(md["llama.rope.freq_base"], 100000.0);
  EXPECT_EQ(md["llama.attention.layer_norm_rms_epsilon"].dump(), "1e-05");  // shortest float32 text
  EXPECT_EQ(md["tokenizer.ggml.add_space_prefix"], false);
  EXPECT_EQ(md["tokenizer.ggml.eos_token_id"], 599);
  const json& tokens = md["tokenizer.ggml.tokens"];
  EXPECT_EQ(tokens["type"], "arr[str]");
  EXPECT_EQ(tokens["count"], 600);
  EXPECT_EQ(tokens["head"], json({"<|endoftext|>", "<|im_start|>", "<|im_end|>", "!", "\"", "#", "$", "%"}));
  EXPECT_EQ(md["tokenizer.ggml.token_type"]["type"], "arr[i32]");
  EXPECT_EQ(md["tokenizer.ggml.token_type"]["head"][0], 3);
  EXPECT_EQ(md["tokenizer.chat_template"], f.get("tokenizer.chat_template").as_str());
  const json& ts = j["tensors"];
  ASSERT_EQ(ts.size(), f.tensors().size());
  for (size_t k = 0; k < ts.size(); ++k) {
    const auto& t = f.tensors()[k];
    EXPECT_EQ(ts[k]["name"], t.name);
    EXPECT_EQ(ts[k]["type"], "F32");
    EXPECT_EQ(ts[k]["shape"].get<std::vector<int64_t>>(), t.ne);
    EXPECT_EQ(ts[k]["bytes"], t.nbytes);
    EXPECT_EQ(ts[k]["offset"], f.data_offset() + t.offset);
  }
  EXPECT_EQ(ts[0]["name"], "token_embd.weight");
  EXPECT_EQ(ts[0]["shape"], json({256, 600}));
}

TEST(Inspect, AllPrintsWholeArrays) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/text-Q8_0.gguf");
  const std::string path = shared_path("golden/tiny512/gguf/text-Q8_0.gguf").string();
  const json j = inspect_json({path, "--all"});
  const GgufFile f = GgufFile::open(path);
  ASSERT_TRUE(j["metadata"]["tokenizer.ggml.tokens"].is_array());
  EXPECT_EQ(j["metadata"]["tokenizer.ggml.tokens"].get<std::vector<std::string>>(),
            f.get("tokenizer.ggml.tokens").as_str_array());
  EXPECT_EQ(j["metadata"]["tokenizer.ggml.merges"].size(), 301u);
  EXPECT_EQ(j["metadata"]["general.file_type"], 7);
  EXPECT_EQ(j["tensors"][0]["name"], "output.weight");
  EXPECT_EQ(j["tensors"][0]["type"], "Q8_0");
  EXPECT_EQ(j["tensors"][0]["bytes"], 600 * 8 * 34);
}

TEST(Inspect, MmprojShortArraysStayArrays) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny384/gguf/mmproj-F16.gguf");
  const json j = inspect_json({shared_path("golden/tiny384/gguf/mmproj-F16.gguf").string()});
  EXPECT_EQ(j["metadata"]["clip.vision.image_mean"], json({0.5, 0.5, 0.5}));
  EXPECT_EQ(j["metadata"]["clip.has_vision_encoder"], true);
  EXPECT_EQ(j["metadata"]["clip.vision.attention.layer_norm_epsilon"].dump(), "1e-06");
  EXPECT_EQ(j["metadata"]["clip.projector_type"], "idefics3");
  EXPECT_EQ(j["tensors"].size(), 38u);
}

TEST(Inspect, SafetensorsJsonMatchesTheReader) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/hf/model.safetensors");
  const std::string path = shared_path("golden/tiny512/hf/model.safetensors").string();
  const json j = inspect_json({path});
  const SafetensorsFile f = SafetensorsFile::open(path);
  EXPECT_EQ(j["format"], "safetensors");
  EXPECT_EQ(j["header_size"], f.header_size());
  ASSERT_EQ(j["tensors"].size(), f.tensors().size());
  for (size_t k = 0; k < f.tensors().size(); ++k) {
    const auto& t = f.tensors()[k];
    EXPECT_EQ(j["tensors"][k]["name"], t.name);
    EXPECT_EQ(j["tensors"][k]["type"], t.dtype);
    EXPECT_EQ(j["tensors"][k]["shape"].get<std::vector<int64_t>>(), t.shape);
    EXPECT_EQ(j["tensors"][k]["bytes"], t.data.size());
    EXPECT_EQ(j["tensors"][k]["offset"], t.file_offset);
  }
}

TEST(Inspect, TextTablesAndDetectionByContent) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/mmproj-F32.gguf");
  TempDir tmp;
  // A GGUF under a misleading name is still read as GGUF.
  fs::copy_file(shared_path("golden/tiny512/gguf/mmproj-F32.gguf"), tmp / "weights.safetensors");
  RunResult r = run_smolvlm({"inspect", (tmp / "weights.safetensors").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("GGUF v3, alignment 32, 20 metadata keys, 38 tensors"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("clip.projector_type"), std::string::npos);
  EXPECT_NE(r.out.find("v.patch_embd.weight"), std::string::npos);
  EXPECT_NE(r.out.find("[16, 16, 3, 64]"), std::string::npos);
  // Safetensors tables.
  r = run_smolvlm({"inspect", shared_path("golden/tiny512/hf/model.safetensors").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("safetensors"), std::string::npos);
  EXPECT_NE(r.out.find("model.connector.modality_projection.proj.weight"), std::string::npos);
  // Neither format.
  write_text(tmp / "model.gguf", "not a model at all");
  r = run_smolvlm({"inspect", (tmp / "model.gguf").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not a GGUF or safetensors file"), std::string::npos) << r.err;
  r = run_smolvlm({"inspect", (tmp / "missing.gguf").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot open"), std::string::npos) << r.err;
}

TEST(Inspect, DamagedGgufGivesTheReadersError) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/mmproj-F32.gguf");
  TempDir tmp;
  auto bytes = read_file(shared_path("golden/tiny512/gguf/mmproj-F32.gguf"));
  bytes.resize(bytes.size() / 2);
  write_file(tmp / "cut.gguf", bytes.data(), bytes.size());
  const RunResult r = run_smolvlm({"inspect", (tmp / "cut.gguf").string(), "--json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cut.gguf"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

}  // namespace
}  // namespace smolvlm
