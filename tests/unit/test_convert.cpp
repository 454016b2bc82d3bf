// HF -> GGUF conversion against the golden files: F32 byte-identical to golden/tools/hf_to_gguf.py,
// F16 / Q8_0 tensor-identical to llama-quantize's files, BF16 checked value by value, sharded and
// F16/BF16 checkpoints, idefics3 (SmolVLM v1) configs, tied embeddings.
#include <gtest/gtest.h>

#include "base/fp16.h"
#include "convert/hf_convert.h"
#include "convert/hf_tensors.h"
#include "quant/quant.h"
#include "test_convert_util.h"

namespace smolvlm {
namespace {

using namespace smolvlm::testing;

ConvertResult convert(const fs::path& hf, const fs::path& out, OutType t, bool force = false) {
  ConvertOptions o;
  o.hf_dir = hf.string();
  o.out_dir = out.string();
  o.outtype = t;
  o.force = force;
  o.threads = 2;
  o.progress = 0;
  return convert_hf_checkpoint(o);
}

std::string golden(const std::string& model, const std::string& file) {
  return shared_path("golden/" + model + "/gguf/" + file).string();
}

class ConvertGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(ConvertGolden, F32IsByteIdentical) {
  const std::string m = GetParam();
  SMOLVLM_REQUIRE_SHARED("golden/" + m + "/hf");
  TempDir tmp;
  const ConvertResult r = convert(shared_path("golden/" + m + "/hf"), tmp.path(), OutType::F32);
  EXPECT_EQ(r.name, m);
  EXPECT_EQ(fs::path(r.text.path).filename(), m + "-F32.gguf");
  EXPECT_EQ(fs::path(r.mmproj.path).filename(), "mmproj-" + m + "-F32.gguf");
  EXPECT_EQ(r.text.n_tensors, 21u);
  EXPECT_EQ(r.mmproj.n_tensors, 38u);
  EXPECT_TRUE(r.unused_tensors.empty());
  for (const auto& [ours, ref] : {std::pair{r.text.path, golden(m, "text-F32.gguf")},
                                  std::pair{r.mmproj.path, golden(m, "mmproj-F32.gguf")}}) {
    const auto a = read_file(ours), b = read_file(ref);
    if (a != b) {  // say what differs
      const GgufFile fa = GgufFile::open(ours), fb = GgufFile::open(ref);
      ADD_FAILURE() << ours << " differs from " << ref << ":\n"
                    << joined(diff_metadata(fa, fb)) << joined(diff_tensors(fa, fb));
    }
    EXPECT_EQ(sha256_hex(a), sha256_hex(b)) << ours;
  }
}

// llama-quantize wrote golden text-F16 / mmproj-F16: same values and tensors; it moved
// general.quantization_version and general.file_type to the end and sorted the tensors.
TEST_P(ConvertGolden, F16MatchesLlamaQuantize) {
  const std::string m = GetParam();
  SMOLVLM_REQUIRE_SHARED("golden/" + m + "/hf");
  TempDir tmp;
  const ConvertResult r = convert(shared_path("golden/" + m + "/hf"), tmp.path(), OutType::F16);
  for (const auto& [ours, ref] : {std::pair{r.text.path, golden(m, "text-F16.gguf")},
                                  std::pair{r.mmproj.path, golden(m, "mmproj-F16.gguf")}}) {
    const GgufFile a = GgufFile::open(ours), b = GgufFile::open(ref);
    EXPECT_EQ(diff_metadata(a, b), std::vector<std::string>{}) << ours;
    EXPECT_EQ(diff_tensors(a, b), std::vector<std::string>{}) << ours;
    EXPECT_EQ(a.get("general.file_type").as_u32(), 1u);
    // Key order: equal once the two keys llama-quantize re-appends are left out.
    auto order = [](const GgufFile& f) {
      std::vector<std::string> k;
      for (const auto& kv : f.metadata()) {
        if (kv.key != "general.file_type" && kv.key != "general.quantization_version") k.push_back(kv.key);
      }
      return k;
    };
    EXPECT_EQ(order(a), order(b));
    EXPECT_EQ(b.metadata().back().key, "general.file_type");
  }
}

// Q8_0: the converter's Q8_0 rows are ggml's quantize_row_q8_0_ref, as llama-quantize's; every
// quantizable tensor has rows of a multiple of 32 in tiny512 (and tiny384's text), so the files
// agree tensor by tensor, output.weight included (llama-quantize keeps Q8_0 there too).
TEST(ConvertQ8, Tiny512MatchesLlamaQuantize) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/hf");
  TempDir tmp;
  const ConvertResult r = convert(shared_path("golden/tiny512/hf"), tmp.path(), OutType::Q8_0);
  EXPECT_TRUE(r.notes.empty());
  for (const auto& [ours, ref] : {std::pair{r.text.path, golden("tiny512", "text-Q8_0.gguf")},
                                  std::pair{r.mmproj.path, golden("tiny512", "mmproj-Q8_0.gguf")}}) {
    const GgufFile a = GgufFile::open(ours), b = GgufFile::open(ref);
    EXPECT_EQ(diff_metadata(a, b), std::vector<std::string>{}) << ours;
    EXPECT_EQ(diff_tensors(a, b), std::vector<std::string>{}) << ours;
    EXPECT_EQ(a.get("general.file_type").as_u32(), 7u);
  }
  const GgufFile a = GgufFile::open(r.text.path);
  EXPECT_EQ(a.tensor("output.weight").type, GgmlType::Q8_0);
  EXPECT_EQ(a.tensor("token_embd.weight").type, GgmlType::Q8_0);
}

// tiny384: the text file equals llama-quantize's; llama-quantize refused the mmproj (rows of 72,
// 144, 648), where the converter falls back to F16 — those tensors must equal the golden F16 ones.
TEST(ConvertQ8, Tiny384FallsBackToF16LikeTheConverter) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny384/hf");
  TempDir tmp;
  const ConvertResult r = convert(shared_path("golden/tiny384/hf"), tmp.path(), OutType::Q8_0);
  {
    const GgufFile a = GgufFile::open(r.text.path), b = GgufFile::open(golden("tiny384", "text-Q8_0.gguf"));
    EXPECT_EQ(diff_metadata(a, b), std::vector<std::string>{});
    EXPECT_EQ(diff_tensors(a, b), std::vector<std::string>{});
  }
  const GgufFile a = GgufFile::open(r.mmproj.path), f16 = GgufFile::open(golden("tiny384", "mmproj-F16.gguf"));
  EXPECT_EQ(a.get("general.file_type").as_u32(), 7u);
  size_t fallbacks = 0;
  for (const auto& t : a.tensors()) {
    const auto& g = f16.tensor(t.name);
    if (g.type == GgmlType::F16) {  // a weight the converter would quantize
      ASSERT_EQ(t.ne[0] % 32 != 0, true) << t.name;  // tiny384's vision rows are 72, 144, 648
      EXPECT_EQ(t.type, GgmlType::F16) << t.name;
      ++fallbacks;
    } else {
      EXPECT_EQ(t.type, GgmlType::F32) << t.name;
    }
  }
  EXPECT_EQ(fallbacks, 13u);
  EXPECT_EQ(r.notes.size(), 13u);
  EXPECT_EQ(diff_tensors(a, f16), std::vector<std::string>{});
}

// BF16: 2-D weights BF16 (mmproj embeddings excepted), the rest F32; every value is the bf16
// rounding of the golden F32 file's value.
TEST(ConvertBf16, ValuesAreRoundedGoldenF32) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/hf");
  TempDir tmp;
  const ConvertResult r = convert(shared_path("golden/tiny512/hf"), tmp.path(), OutType::BF16);
  for (const auto& [ours, ref] : {std::pair{r.text.path, golden("tiny512", "text-F32.gguf")},
                                  std::pair{r.mmproj.path, golden("tiny512", "mmproj-F32.gguf")}}) {
    const GgufFile a = GgufFile::open(ours), b = GgufFile::open(ref);
    EXPECT_EQ(a.get("general.file_type").as_u32(), 32u);
    EXPECT_EQ(diff_metadata(a, b, {"general.file_type"}), std::vector<std::string>{});
    ASSERT_EQ(a.tensors().size(), b.tensors().size());
    size_t n_bf16 = 0;
    for (size_t i = 0; i < a.tensors().size(); ++i) {
      const auto& ta = a.tensors()[i];
      const auto& tb = b.tensors()[i];
      ASSERT_EQ(ta.name, tb.name);
      ASSERT_EQ(ta.ne, tb.ne);
      const bool want_bf16 = ta.ne.size() >= 2 && ta.name.find("_embd") == std::string::npos;
      const bool text_embd = ta.name == "token_embd.weight";
      ASSERT_EQ(ta.type, want_bf16 || text_embd ? GgmlType::BF16 : GgmlType::F32) << ta.name;
      const auto da = a.tensor_data(ta), db = b.tensor_data(tb);
      const int64_t n = ta.n_elements();
      for (int64_t j = 0; j < n; ++j) {
        float ref_v;
        std::memcpy(&ref_v, db.data() + 4 * j, 4);
        if (ta.type == GgmlType::BF16) {
          uint16_t h;
          std::memcpy(&h, da.data() + 2 * j, 2);
          ASSERT_EQ(h, fp32_to_bf16(ref_v)) << ta.name << " element " << j;
        } else {
          ASSERT_EQ(std::memcmp(da.data() + 4 * j, &ref_v, 4), 0) << ta.name << " element " << j;
        }
      }
      n_bf16 += ta.type == GgmlType::BF16;
    }
    EXPECT_GT(n_bf16, 10u);
  }
}

INSTANTIATE_TEST_SUITE_P(Models, ConvertGolden, ::testing::Values("tiny512", "tiny384"));

// The golden checkpoint split into two shards + model.safetensors.index.json converts to the same bytes.
TEST(ConvertSharded, TwoShardsGiveTheSameFiles) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/hf");
  TempDir tmp;
  const fs::path hf = copy_golden_hf(tmp.path(), "tiny512");
  std::vector<StTensor> all = load_st(hf / "model.safetensors");
  fs::remove(hf / "model.safetensors");
  std::vector<StTensor> a, b;
  nlohmann::json wm = nlohmann::json::object();
  uint64_t total = 0;
  for (auto& t : all) {  // vision in shard 2, text in shard 1 (tensors of one file in both shards' order)
    const bool second = t.name.find("vision") != std::string::npos || t.name.find("connector") != std::string::npos;
    wm[t.name] = second ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors";
    total += t.data.size();
    (second ? b : a).push_back(std::move(t));
  }
  write_st(hf / "model-00001-of-00002.safetensors", a);
  write_st(hf / "model-00002-of-00002.safetensors", b);
  write_json(hf / "model.safetensors.index.json", {{"metadata", {{"total_size", total}}}, {"weight_map", wm}});
  const ConvertResult r = convert(hf, tmp / "out", OutType::F32);
  EXPECT_EQ(sha256_hex(read_file(r.text.path)), sha256_hex(read_file(golden("tiny512", "text-F32.gguf"))));
  EXPECT_EQ(sha256_hex(read_file(r.mmproj.path)), sha256_hex(read_file(golden("tiny512", "mmproj-F32.gguf"))));
}

// F16 and BF16 checkpoints (sharded): F32 output holds exactly the widened stored values.
TEST(ConvertSourceDtypes, F16AndBf16CheckpointsAreReadExactly) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny384/hf");
  for (const std::string dtype : {"F16", "BF16"}) {
    SCOPED_TRACE(dtype);
    TempDir tmp;
    const fs::path hf = copy_golden_hf(tmp.path(), "tiny384");
    std::vector<StTensor> all = load_st(hf / "model.safetensors");
    fs::remove(hf / "model.safetensors");
    nlohmann::json wm = nlohmann::json::object();
    std::vector<StTensor> shards[2];
    for (size_t i = 0; i < all.size(); ++i) {
      StTensor t = all[i];
      const size_t n = t.data.size() / 4;
      std::vector<uint8_t> d(2 * n);
      for (size_t j = 0; j < n; ++j) {
        float f;
        std::memcpy(&f, t.data.data() + 4 * j, 4);
        const uint16_t h = dtype == "F16" ? fp32_to_fp16(f) : fp32_to_bf16(f);
        std::memcpy(d.data() + 2 * j, &h, 2);
      }
      t.dtype = dtype;
      t.data = std::move(d);
      const std::string shard = i % 2 ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors";
      wm[t.name] = shard;
      shards[i % 2].push_back(std::move(t));
    }
    write_st(hf / "model-00001-of-00002.safetensors", shards[0]);
    write_st(hf / "model-00002-of-00002.safetensors", shards[1]);
    write_json(hf / "model.safetensors.index.json", {{"weight_map", wm}});
    const ConvertResult r = convert(hf, tmp / "out", OutType::F32);
    const GgufFile ours = GgufFile::open(r.text.path), ref = GgufFile::open(golden("tiny384", "text-F32.gguf"));
    const GgufFile mo = GgufFile::open(r.mmproj.path), mr = GgufFile::open(golden("tiny384", "mmproj-F32.gguf"));
    for (const auto* pair : {&ours, &mo}) {
      const GgufFile& o = *pair;
      const GgufFile& g = pair == &ours ? ref : mr;
      ASSERT_EQ(o.tensors().size(), g.tensors().size());
      for (const auto& t : o.tensors()) {
        const auto& gt = g.tensor(t.name);
        ASSERT_EQ(t.type, GgmlType::F32);
        const auto da = o.tensor_data(t), db = g.tensor_data(gt);
        for (int64_t j = 0; j < t.n_elements(); ++j) {
          float v, w;
          std::memcpy(&v, da.data() + 4 * j, 4);
          std::memcpy(&w, db.data() + 4 * j, 4);
          const float want = dtype == "F16" ? fp16_to_fp32(fp32_to_fp16(w)) : bf16_to_fp32(fp32_to_bf16(w));
          ASSERT_EQ(v, want) << t.name << " element " << j;
        }
      }
    }
  }
}

// SmolVLM v1 (model_type idefics3, same tensor names) converts to the same files.
TEST(ConvertConfigs, Idefics3ModelType) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/hf");
  TempDir tmp;
  const fs::path hf = copy_golden_hf(tmp.path(), "tiny512");
  auto cfg = read_json(hf / "config.json");
  cfg["model_type"] = "idefics3";
  cfg["architectures"] = {"Idefics3ForConditionalGeneration"};
  cfg["vision_config"]["model_type"] = "idefics3";
  write_json(hf / "config.json", cfg);
  const ConvertResult r = convert(hf, tmp / "out", OutType::F32);
  EXPECT_EQ(read_file(r.text.path), read_file(golden("tiny512", "text-F32.gguf")));
  EXPECT_EQ(read_file(r.mmproj.path), read_file(golden("tiny512", "mmproj-F32.gguf")));
}

// Tied embeddings: no output.weight (llama.cpp then uses token_embd), lm_head not needed.
TEST(ConvertConfigs, TiedEmbeddingsHaveNoOutputTensor) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/hf");
  TempDir tmp;
  const fs::path hf = copy_golden_hf(tmp.path(), "tiny512");
  auto cfg = read_json(hf / "config.json");
  cfg["tie_word_embeddings"] = true;
  cfg["text_config"]["tie_word_embeddings"] = true;
  write_json(hf / "config.json", cfg);
  std::vector<StTensor> ts = load_st(hf / "model.safetensors");
  std::erase_if(ts, [](const StTensor& t) { return t.name == "lm_head.weight"; });
  write_st(hf / "model.safetensors", ts);
  const ConvertResult r = convert(hf, tmp / "out", OutType::F32);
  const GgufFile a = GgufFile::open(r.text.path), b = GgufFile::open(golden("tiny512", "text-F32.gguf"));
  EXPECT_EQ(a.find_tensor("output.weight"), nullptr);
  EXPECT_EQ(a.tensors().size(), 20u);
  EXPECT_EQ(diff_tensors(a, b), std::vector<std::string>{"missing tensor output.weight"});
}

TEST(ConvertCli, WritesThePairAndRefusesToOverwrite) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/hf");
  TempDir tmp;
  const std::string hf = shared_path("golden/tiny512/hf").string();
  const std::string out = (tmp / "out").string();
  RunResult r = run_smolvlm({"convert", hf, "-o", out, "--outtype", "f32", "--threads", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("tiny512-F32.gguf"), std::string::npos) << r.out;
  EXPECT_EQ(read_file(tmp / "out/tiny512-F32.gguf"), read_file(golden("tiny512", "text-F32.gguf")));
  EXPECT_EQ(read_file(tmp / "out/mmproj-tiny512-F32.gguf"), read_file(golden("tiny512", "mmproj-F32.gguf")));
  // Existing outputs: refused, untouched.
  const auto before = fs::last_write_time(tmp / "out/tiny512-F32.gguf");
  r = run_smolvlm({"convert", hf, "-o", out, "--outtype", "f32"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("tiny512-F32.gguf: output exists; pass --force"), std::string::npos) << r.err;
  EXPECT_EQ(fs::last_write_time(tmp / "out/tiny512-F32.gguf"), before);
  r = run_smolvlm({"convert", hf, "-o", out, "--outtype", "F32", "--force"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // Unknown outtype: CLI11 refuses it.
  r = run_smolvlm({"convert", hf, "-o", out, "--outtype", "q4_0"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(temp_leftovers(tmp.path()).empty());
}

TEST(ConvertTensors, RopePermutationMatchesTheFormula) {
  // 2 heads of 8 rows: new row h*8 + 2i <- h*8 + i, new row h*8 + 2i + 1 <- h*8 + i + 4.
  const std::vector<int64_t> want{0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15};
  for (int64_t r = 0; r < 16; ++r) EXPECT_EQ(rope_permuted_row(r, 16, 2), want[size_t(r)]) << r;
  EXPECT_EQ(parse_outtype("q8_0"), OutType::Q8_0);
  EXPECT_EQ(parse_outtype("BF16"), OutType::BF16);
  EXPECT_FALSE(parse_outtype("q4_k").has_value());
  EXPECT_EQ(choose_tensor_type(OutType::Q8_0, "blk.0.attn_q.weight", {64, 72}, false), GgmlType::F16);
  EXPECT_EQ(choose_tensor_type(OutType::Q8_0, "blk.0.attn_q.weight", {64, 128}, false), GgmlType::Q8_0);
  EXPECT_EQ(choose_tensor_type(OutType::F16, "blk.0.attn_norm.weight", {64, 64}, false), GgmlType::F32);
  EXPECT_EQ(choose_tensor_type(OutType::F16, "v.blk.0.attn_q.bias", {64}, false), GgmlType::F32);
  EXPECT_EQ(choose_tensor_type(OutType::F16, "v.patch_embd.weight", {8, 3, 4, 4}, true), GgmlType::F32);
  EXPECT_EQ(converted_file_name("SmolVLM2-500M", OutType::Q8_0, true), "mmproj-SmolVLM2-500M-Q8_0.gguf");
}

}  // namespace
}  // namespace smolvlm
