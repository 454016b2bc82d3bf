// `smolvlm dev random-checkpoint`: the C++ generator reproduces the golden tiny checkpoints of
// golden/tools/make_tiny_model.py byte for byte (weights, JSON files, synthetic tokenizer), its
// bf16 output is the round-to-nearest-even of the f32 values, and the CLI behaves.
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/error.h"
#include "convert/model_configs.h"
#include "convert/random_checkpoint.h"
#include "support/testing.h"

namespace smolvlm {
namespace {

namespace fs = std::filesystem;
using testing::read_file;
using testing::sha256_hex;
using testing::shared_path;
using testing::TempDir;

const char* const kMerges = "golden/tools/tiny_merges.txt";
const char* const kJsonFiles[] = {"config.json", "generation_config.json", "preprocessor_config.json",
                                  "processor_config.json"};
const char* const kTokenizerFiles[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                       "added_tokens.json", "vocab.json", "merges.txt"};

nlohmann::json read_json(const fs::path& p) {
  const auto b = read_file(p);
  return nlohmann::json::parse(b.begin(), b.end());
}

// A safetensors file split into header JSON and data section.
struct StFile {
  nlohmann::ordered_json header;
  std::vector<uint8_t> bytes;
  size_t data_start = 0;
  const uint8_t* data(const std::string& name) const {
    return bytes.data() + data_start + header.at(name).at("data_offsets")[0].get<size_t>();
  }
};

StFile read_st(const fs::path& p) {
  StFile f;
  f.bytes = read_file(p);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | f.bytes.at(i);
  f.header = nlohmann::ordered_json::parse(f.bytes.begin() + 8, f.bytes.begin() + 8 + n);
  f.data_start = 8 + n;
  return f;
}

RandomCheckpointOptions tiny_options(const std::string& config, const fs::path& out) {
  RandomCheckpointOptions o;
  o.config = config;
  o.seed = 1;
  o.out_dir = out.string();
  o.merges_file = shared_path(kMerges).string();
  o.threads = 2;
  o.progress = 0;
  return o;
}

class GoldenTiny : public ::testing::TestWithParam<const char*> {};

TEST_P(GoldenTiny, ReproducesTheGoldenCheckpointByteForByte) {
  const std::string cfg = GetParam();
  const std::string golden = "golden/" + cfg + "/hf/";
  SMOLVLM_REQUIRE_SHARED(golden + "model.safetensors");
  SMOLVLM_REQUIRE_SHARED(kMerges);
  TempDir dir;
  const auto res = make_random_checkpoint(tiny_options(cfg, dir.path()));
  EXPECT_EQ(res.n_vocab, 600);
  EXPECT_EQ(res.n_tensors, 59);
  EXPECT_TRUE(res.tokenizer_written);

  // Weights: identical sha256 (all 1.96M float32 values bit-exact, header identical).
  const auto ours = read_file(dir / "model.safetensors");
  const auto gold = read_file(shared_path(golden + "model.safetensors"));
  EXPECT_EQ(ours.size(), gold.size());
  EXPECT_EQ(sha256_hex(ours), sha256_hex(gold));
  EXPECT_EQ(res.safetensors_bytes, gold.size());

  // The JSON files parse to equal values and are byte-equal (Python json.dump formatting).
  for (const char* f : kJsonFiles) {
    EXPECT_EQ(read_json(dir / f), read_json(shared_path(golden + f))) << f;
    EXPECT_EQ(read_file(dir / f), read_file(shared_path(golden + f))) << f << " is not byte-equal";
  }
  // The synthetic tokenizer, chat template and generator record: byte-equal too.
  for (const char* f : kTokenizerFiles) EXPECT_EQ(read_file(dir / f), read_file(shared_path(golden + f))) << f;
  for (const char* f : {"chat_template.json", "golden_weights.json"}) {
    EXPECT_EQ(read_file(dir / f), read_file(shared_path(golden + f))) << f;
  }
}

INSTANTIATE_TEST_SUITE_P(RandomCheckpoint, GoldenTiny, ::testing::Values("tiny512", "tiny384"));

TEST(RandomCheckpoint, StreamKeysMatchGoldenWeightsJson) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny384/hf/golden_weights.json");
  const auto gw = read_json(shared_path("golden/tiny384/hf/golden_weights.json"));
  const auto tensors = checkpoint_tensors(model_config("tiny384"), 600);
  ASSERT_EQ(tensors.size(), gw["tensors"].size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& g = gw["tensors"][i];
    EXPECT_EQ(tensors[i].name, g["name"]);
    EXPECT_EQ(tensors[i].shape, g["shape"].get<std::vector<int64_t>>());
    EXPECT_EQ(tensors[i].mean, g["mean"].get<double>()) << tensors[i].name;
    EXPECT_EQ(tensors[i].std, g["std"].get<double>()) << tensors[i].name;
    EXPECT_EQ(stream_key(tensors[i].name, 1), std::stoull(g["key"].get<std::string>(), nullptr, 16));
  }
}

TEST(RandomCheckpoint, PiecesAtAnyOffsetEqualTheWholeStream) {
  const uint64_t key = stream_key("some.tensor", 42);
  std::vector<float> whole(1001);
  random_values(key, 0, 1001, 0.5, 0.25, whole.data());
  for (int64_t start : {0, 1, 2, 7, 500, 999}) {
    for (int64_t n : {1, 2, 3, 100}) {
      if (start + n > 1001) continue;
      std::vector<float> piece(n);
      random_values(key, start, n, 0.5, 0.25, piece.data());
      EXPECT_EQ(0, std::memcmp(piece.data(), whole.data() + start, 4 * n)) << start << "+" << n;
    }
  }
  // Standard normals: mean ~0, variance ~1 over 1001 values of the raw stream.
  std::vector<double> z(100000);
  stream_normals(key, 0, 100000, z.data());
  double s = 0, s2 = 0;
  for (double v : z) s += v, s2 += v * v;
  EXPECT_NEAR(s / z.size(), 0.0, 0.02);
  EXPECT_NEAR(s2 / z.size(), 1.0, 0.02);
}

// bf16 checkpoint: each value is the float32 value rounded to nearest, ties to even.
TEST(RandomCheckpoint, Bf16IsRoundToNearestEvenOfF32) {
  TempDir dir;
  auto o32 = tiny_options("tiny512", dir / "f32");
  o32.merges_file.clear();
  auto o16 = o32;
  o16.out_dir = (dir / "bf16").string();
  o16.dtype = "bf16";
  o16.threads = 3;
  make_random_checkpoint(o32);
  const auto res = make_random_checkpoint(o16);
  EXPECT_EQ(res.dtype, "BF16");
  const StFile f32 = read_st(dir / "f32/model.safetensors");
  const StFile b16 = read_st(dir / "bf16/model.safetensors");
  size_t n_tensors = 0, n_values = 0, n_rounded_up = 0;
  for (const auto& [name, info] : f32.header.items()) {
    if (name == "__metadata__") continue;
    ++n_tensors;
    ASSERT_EQ(b16.header.at(name).at("dtype"), "BF16");
    ASSERT_EQ(b16.header.at(name).at("shape"), info.at("shape"));
    const size_t n = (info["data_offsets"][1].get<size_t>() - info["data_offsets"][0].get<size_t>()) / 4;
    const uint8_t* a = f32.data(name);
    const uint8_t* b = b16.data(name);
    for (size_t i = 0; i < n; ++i) {
      uint32_t u;
      uint16_t h;
      std::memcpy(&u, a + 4 * i, 4);
      std::memcpy(&h, b + 2 * i, 2);
      const uint32_t want = (uint64_t(u) + 0x7FFF + ((u >> 16) & 1)) >> 16;
      if (h != want) FAIL() << name << "[" << i << "]: bf16 " << h << ", want " << want;
      n_rounded_up += (want != (u >> 16));
      ++n_values;
    }
  }
  EXPECT_EQ(n_tensors, 59u);
  EXPECT_EQ(n_values, 1965120u);
  EXPECT_GT(n_rounded_up, n_values / 4);  // rounding, not truncation
  EXPECT_EQ(read_json(dir / "bf16/config.json")["torch_dtype"], "bfloat16");
  EXPECT_EQ(read_json(dir / "bf16/config.json")["text_config"]["torch_dtype"], "bfloat16");
  EXPECT_EQ(read_json(dir / "bf16/golden_weights.json")["dtype"].get<std::string>().substr(0, 4), "BF16");
}

// Without --merges a tiny folder has no tokenizer files but the same configs and weights.
TEST(RandomCheckpoint, TinyWithoutMergesWritesNoTokenizer) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny384/hf/config.json");
  TempDir dir;
  auto o = tiny_options("tiny384", dir.path());
  o.merges_file.clear();
  const auto res = make_random_checkpoint(o);
  EXPECT_FALSE(res.tokenizer_written);
  for (const char* f : kTokenizerFiles) EXPECT_FALSE(fs::exists(dir / f)) << f;
  for (const char* f : kJsonFiles) EXPECT_EQ(read_file(dir / f), read_file(shared_path(std::string("golden/tiny384/hf/") + f))) << f;
  EXPECT_EQ(sha256_hex(read_file(dir / "model.safetensors")),
            sha256_hex(read_file(shared_path("golden/tiny384/hf/model.safetensors"))));
}

TEST(RandomCheckpoint, RejectsBadOptions) {
  TempDir dir;
  RandomCheckpointOptions o;
  o.out_dir = (dir / "x").string();
  o.progress = 0;
  o.config = "tiny999";
  EXPECT_THROW(make_random_checkpoint(o), Error);
  o.config = "real256m";  // refuses --merges (without --tokenizer it makes a synthetic real-size one: demo_offline.sh)
  o.merges_file = (dir / "any.txt").string();
  EXPECT_THROW(make_random_checkpoint(o), Error);
  o.merges_file.clear();
  o.tokenizer_dir = (dir / "missing").string();
  EXPECT_THROW(make_random_checkpoint(o), Error);
  o.config = "tiny512";  // refuses --tokenizer
  EXPECT_THROW(make_random_checkpoint(o), Error);
  o.tokenizer_dir.clear();
  o.dtype = "f16";
  EXPECT_THROW(make_random_checkpoint(o), Error);
  o.dtype.clear();
  o.merges_file = (dir / "missing.txt").string();
  EXPECT_THROW(make_random_checkpoint(o), Error);
  testing::write_file(dir / "bad.txt", "a b c\n", 6);
  o.merges_file = (dir / "bad.txt").string();
  EXPECT_THROW(make_random_checkpoint(o), Error);
  testing::write_file(dir / "bad2.txt", "Gx y\n", 5);  // "Gx" is no token yet
  o.merges_file = (dir / "bad2.txt").string();
  EXPECT_THROW(make_random_checkpoint(o), Error);
  EXPECT_FALSE(fs::exists(dir / "x" / "model.safetensors"));
}

TEST(RandomCheckpointCli, WritesRefusesToOverwriteAndForces) {
  TempDir dir;
  const std::string out = (dir / "tiny").string();
  auto r = testing::run_smolvlm({"dev", "random-checkpoint", "tiny384", "1", out, "--no-progress"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("59 tensors"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("--merges"), std::string::npos) << r.err;  // says why there is no tokenizer
  for (const char* f : kJsonFiles) EXPECT_TRUE(fs::exists(dir / "tiny" / f)) << f;
  const auto first = read_file(dir / "tiny/model.safetensors");

  r = testing::run_smolvlm({"dev", "random-checkpoint", "tiny384", "2", out});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("exists"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(dir / "tiny/model.safetensors"), first);  // untouched

  r = testing::run_smolvlm({"dev", "random-checkpoint", "tiny384", "2", out, "--force", "-q", "--dtype", "bf16"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  const auto second = read_file(dir / "tiny/model.safetensors");
  EXPECT_NE(second, first);
  EXPECT_LT(second.size(), first.size());

  // real* configs take the real tokenizer (or make a synthetic one of its size: demo_offline.sh), never --merges.
  r = testing::run_smolvlm({"dev", "random-checkpoint", "real256m", "1", (dir / "r").string(), "--merges", out});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--merges only applies to the tiny configs"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "r" / "model.safetensors"));
  r = testing::run_smolvlm({"dev", "random-checkpoint", "nosuch", "1", (dir / "r").string()});
  EXPECT_NE(r.exit_code, 0);
}

}  // namespace
}  // namespace smolvlm
