// Converter error cases: every one is a clear smolvlm::Error (or exit code 1 with the message on
// stderr through the CLI) naming the file / field / tensors, and no output or temporary file is
// left behind.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>

#include "base/error.h"
#include "convert/hf_convert.h"
#include "test_convert_util.h"

namespace smolvlm {
namespace {

using namespace smolvlm::testing;

ConvertOptions opts(const fs::path& hf, const fs::path& out, OutType t = OutType::F32) {
  ConvertOptions o;
  o.hf_dir = hf.string();
  o.out_dir = out.string();
  o.outtype = t;
  o.threads = 2;
  o.progress = 0;
  return o;
}

// The message of the Error the conversion throws ("" when it succeeds).
std::string convert_error(const ConvertOptions& o) {
  try {
    convert_hf_checkpoint(o);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// No GGUF output and no temporary file in dir.
void expect_no_outputs(const fs::path& dir) {
  EXPECT_TRUE(temp_leftovers(dir).empty()) << joined(temp_leftovers(dir));
  if (!fs::exists(dir)) return;
  for (const auto& e : fs::directory_iterator(dir)) {
    EXPECT_NE(e.path().extension(), ".gguf") << e.path();
  }
}

class ConvertErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(shared_path("golden/tiny512/hf"))) GTEST_SKIP() << "../shared/golden is not available";
    hf_ = copy_golden_hf(tmp_.path(), "tiny512");
    out_ = tmp_ / "out";
  }
  void edit_config(const std::function<void(nlohmann::json&)>& fn) {
    auto cfg = read_json(hf_ / "config.json");
    fn(cfg);
    write_json(hf_ / "config.json", cfg);
  }
  TempDir tmp_;
  fs::path hf_, out_;
};

TEST_F(ConvertErrors, UnknownModelTypeIsNamedWithTheSupportedOnes) {
  edit_config([](auto& c) { c["model_type"] = "llava_next"; });
  const std::string e = convert_error(opts(hf_, out_));
  EXPECT_TRUE(has(e, "config.json: model_type 'llava_next' is not supported")) << e;
  EXPECT_TRUE(has(e, "smolvlm") && has(e, "idefics3")) << e;
  expect_no_outputs(out_);
}

TEST_F(ConvertErrors, InvalidConfigJsonNamesTheFile) {
  write_text(hf_ / "config.json", "{\"model_type\": \"smolvlm\", ");
  const std::string e = convert_error(opts(hf_, out_));
  EXPECT_TRUE(has(e, "config.json: invalid JSON")) << e;
  expect_no_outputs(out_);
}

TEST_F(ConvertErrors, MissingOrMistypedFieldsAreNamed) {
  edit_config([](auto& c) { c["text_config"].erase("hidden_size"); });
  std::string e = convert_error(opts(hf_, out_));
  EXPECT_TRUE(has(e, "config.json: field 'text_config.hidden_size' is missing")) << e;

  edit_config([](auto& c) { c["text_config"]["hidden_size"] = "256"; });
  e = convert_error(opts(hf_, out_));
  EXPECT_TRUE(has(e, "config.json: field 'text_config.hidden_size' must be an integer")) << e;

  edit_config([](auto& c) {
    c["text_config"]["hidden_size"] = 256;
    c["vision_config"].erase("patch_size");
  });
  e = convert_error(opts(hf_, out_));
  EXPECT_TRUE(has(e, "config.json: field 'vision_config.patch_size' is missing")) << e;

  edit_config([](auto& c) {
    c["vision_config"]["patch_size"] = 16;
    c.erase("vision_config");
  });
  e = convert_error(opts(hf_, out_));
  EXPECT_TRUE(has(e, "config.json: field 'vision_config' is missing")) << e;

  edit_config([](auto& c) { c.erase("model_type"); });
  e = convert_error(opts(hf_, out_));
  EXPECT_TRUE(has(e, "config.json: field 'model_type' is missing")) << e;
  expect_no_outputs(out_);
}

TEST_F(ConvertErrors, ShapeMismatchWithTheConfigNamesTheTensor) {
  edit_config([](auto& c) { c["text_config"]["intermediate_size"] = 1024; });
  const std::string e = convert_error(opts(hf_, out_));
  EXPECT_TRUE(has(e, "model.text_model.layers.0.mlp.gate_proj.weight' has shape [512, 256], expected [1024, 256]"))
      << e;
  expect_no_outputs(out_);
}

TEST_F(ConvertErrors, EveryMissingTensorIsListed) {
  std::vector<StTensor> ts = load_st(hf_ / "model.safetensors");
  const std::vector<std::string> drop{"lm_head.weight", "model.text_model.layers.1.self_attn.k_proj.weight",
                                      "model.vision_model.encoder.layers.0.mlp.fc2.bias",
                                      "model.connector.modality_projection.proj.weight"};
  std::erase_if(ts, [&](const StTensor& t) { return std::find(drop.begin(), drop.end(), t.name) != drop.end(); });
  write_st(hf_ / "model.safetensors", ts);
  const std::string e = convert_error(opts(hf_, out_));
  EXPECT_TRUE(has(e, "lacks 4 tensor(s)")) << e;
  for (const auto& n : drop) EXPECT_TRUE(has(e, n)) << n << " not in: " << e;
  expect_no_outputs(out_);
}

TEST_F(ConvertErrors, UnsupportedDtypeIsNamed) {
  std::vector<StTensor> ts = load_st(hf_ / "model.safetensors");
  StTensor* t = find_st(ts, "model.text_model.norm.weight");
  t->dtype = "I32";
  write_st(hf_ / "model.safetensors", ts);
  const std::string e = convert_error(opts(hf_, out_));
  EXPECT_TRUE(has(e, "tensor 'model.text_model.norm.weight' has dtype I32")) << e;
}

// Shards: the safetensors layer's message (naming the shard) reaches the user through the CLI.
class ConvertShardErrors : public ConvertErrors {
 protected:
  void SetUp() override {
    ConvertErrors::SetUp();
    if (IsSkipped()) return;
    std::vector<StTensor> all = load_st(hf_ / "model.safetensors");
    fs::remove(hf_ / "model.safetensors");
    std::vector<StTensor> a(all.begin(), all.begin() + long(all.size() / 2)), b(all.begin() + long(all.size() / 2), all.end());
    nlohmann::json wm = nlohmann::json::object();
    for (const auto& t : a) wm[t.name] = "model-00001-of-00002.safetensors";
    for (const auto& t : b) wm[t.name] = "model-00002-of-00002.safetensors";
    write_st(hf_ / "model-00001-of-00002.safetensors", a);
    write_st(hf_ / "model-00002-of-00002.safetensors", b);
    write_json(hf_ / "model.safetensors.index.json", {{"weight_map", wm}});
  }
  RunResult run() { return run_smolvlm({"convert", hf_.string(), "-o", out_.string(), "--outtype", "f16"}); }
};

TEST_F(ConvertShardErrors, ShardedCheckpointConverts) {
  const RunResult r = run();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(out_ / "tiny512-F16.gguf"));
  EXPECT_TRUE(fs::exists(out_ / "mmproj-tiny512-F16.gguf"));
}

TEST_F(ConvertShardErrors, MissingShardIsReported) {
  fs::remove(hf_ / "model-00002-of-00002.safetensors");
  const RunResult r = run();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "smolvlm: error:")) << r.err;
  EXPECT_TRUE(has(r.err, "model-00002-of-00002.safetensors")) << r.err;
  expect_no_outputs(out_);
}

TEST_F(ConvertShardErrors, TruncatedShardIsReported) {
  const fs::path shard = hf_ / "model-00001-of-00002.safetensors";
  fs::resize_file(shard, fs::file_size(shard) - 1000);
  const RunResult r = run();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "model-00001-of-00002.safetensors")) << r.err;
  expect_no_outputs(out_);
}

TEST_F(ConvertErrors, ExistingOutputNeedsForce) {
  fs::create_directories(out_);
  write_text(out_ / "mmproj-tiny512-F32.gguf", "keep me");
  const std::string e = convert_error(opts(hf_, out_));
  EXPECT_TRUE(has(e, "mmproj-tiny512-F32.gguf: output exists; pass --force to overwrite it")) << e;
  EXPECT_FALSE(fs::exists(out_ / "tiny512-F32.gguf"));  // checked before anything is written
  EXPECT_EQ(read_file(out_ / "mmproj-tiny512-F32.gguf").size(), 7u);
  ConvertOptions o = opts(hf_, out_);
  o.force = true;
  EXPECT_EQ(convert_error(o), "");
  EXPECT_EQ(read_file(out_ / "mmproj-tiny512-F32.gguf"), read_file(shared_path("golden/tiny512/gguf/mmproj-F32.gguf")));
}

// A failure while the file is written (the output path is a directory: the final rename fails
// after all data went to the temporary file) leaves no temporary file behind.
TEST_F(ConvertErrors, OutputPathIsADirectory) {
  fs::create_directories(out_ / "tiny512-F32.gguf" / "x");
  ConvertOptions o = opts(hf_, out_);
  o.force = true;
  const std::string e = convert_error(o);
  EXPECT_TRUE(has(e, "tiny512-F32.gguf")) << e;
  EXPECT_TRUE(temp_leftovers(out_).empty()) << joined(temp_leftovers(out_));
  EXPECT_FALSE(fs::exists(out_ / "mmproj-tiny512-F32.gguf"));
  EXPECT_TRUE(fs::is_directory(out_ / "tiny512-F32.gguf"));
}

// The output folder is a file: the temporary file cannot be created.
TEST_F(ConvertErrors, OutputFolderIsAFile) {
  write_text(tmp_ / "not-a-dir", "x");
  const std::string e = convert_error(opts(hf_, tmp_ / "not-a-dir"));
  EXPECT_FALSE(e.empty());
  EXPECT_TRUE(temp_leftovers(tmp_.path()).empty());
}

TEST_F(ConvertErrors, ReadOnlyOutputFolder) {
  if (::geteuid() == 0) {  // root ignores directory permissions; /proc refuses new files even to root
    const std::string e = convert_error(opts(hf_, "/proc"));
    EXPECT_TRUE(has(e, "cannot create a temporary file in /proc")) << e;
    EXPECT_FALSE(fs::exists("/proc/tiny512-F32.gguf"));
    return;
  }
  fs::create_directories(out_);
  fs::permissions(out_, fs::perms::owner_read | fs::perms::owner_exec);
  const std::string e = convert_error(opts(hf_, out_));
  fs::permissions(out_, fs::perms::owner_all);
  EXPECT_TRUE(has(e, "cannot create a temporary file")) << e;
  expect_no_outputs(out_);
}

// A tensor that cannot be converted (NaN into Q8_0) fails mid-write: the error names the tensor,
// the text file (already complete) stays, the mmproj leaves nothing, no temporary files.
TEST_F(ConvertErrors, ConversionFailureMidWriteLeavesNoPartialFile) {
  std::vector<StTensor> ts = load_st(hf_ / "model.safetensors");
  StTensor* t = find_st(ts, "model.vision_model.encoder.layers.1.mlp.fc1.weight");
  const float nan = std::nanf("");
  std::memcpy(t->data.data() + 4 * 100, &nan, 4);
  write_st(hf_ / "model.safetensors", ts);
  const std::string e = convert_error(opts(hf_, out_, OutType::Q8_0));
  EXPECT_TRUE(has(e, "v.blk.1.ffn_up.weight")) << e;
  EXPECT_TRUE(fs::exists(out_ / "tiny512-Q8_0.gguf"));
  EXPECT_FALSE(fs::exists(out_ / "mmproj-tiny512-Q8_0.gguf"));
  EXPECT_TRUE(temp_leftovers(out_).empty()) << joined(temp_leftovers(out_));
}

TEST_F(ConvertErrors, MissingFiles) {
  fs::remove(hf_ / "tokenizer.json");
  std::string e = convert_error(opts(hf_, out_));
  EXPECT_TRUE(has(e, "tokenizer.json: not found")) << e;
  fs::remove(hf_ / "model.safetensors");
  fs::copy_file(shared_path("golden/tiny512/hf/tokenizer.json"), hf_ / "tokenizer.json");
  e = convert_error(opts(hf_, out_));
  EXPECT_TRUE(has(e, "model.safetensors")) << e;
  fs::remove(hf_ / "config.json");
  e = convert_error(opts(hf_, out_));
  EXPECT_TRUE(has(e, "config.json: not found")) << e;
  e = convert_error(opts(tmp_ / "nowhere", out_));
  EXPECT_TRUE(has(e, "nowhere: not a directory")) << e;
  expect_no_outputs(out_);
}

}  // namespace
}  // namespace smolvlm
