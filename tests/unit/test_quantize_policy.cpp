// llama-quantize's per-tensor type choice on the real SmolVLM2 shapes (256M / 500M / 2.2B text,
// their mmproj files), computed from name + shape lists only. Expected types come from the tables
// of reference/llamacpp-gguf-smolvlm.md §6.3-6.4 (use_more_bits layers listed there explicitly).
#include <algorithm>
#include <set>

#include "base/error.h"
#include "convert/quantize_policy.h"
#include "support/testing.h"

namespace smolvlm {
namespace {

struct TextShape {
  const char* name;
  int64_t e, f, kv, vocab;
  int layers;
  std::set<int> more_bits;  // use_more_bits layers, as listed in the spec
};

const TextShape k256m{"256M", 576, 1536, 192, 49280, 30, {0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 26, 27, 28, 29}};
const TextShape k500m{"500M", 960, 2560, 320, 49280, 32, {0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31}};
const TextShape k2b{"2.2B", 2048, 8192, 2048, 49280, 24, {0, 1, 2, 5, 8, 11, 14, 17, 20, 21, 22, 23}};

// A llama text model's tensors in converter order (not the order llama-quantize writes).
std::vector<QuantTensorIn> text_tensors(const TextShape& s, bool tied = false) {
  std::vector<QuantTensorIn> t;
  t.push_back({"token_embd.weight", {s.e, s.vocab}, GgmlType::F32});
  for (int i = 0; i < s.layers; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    t.push_back({b + "attn_norm.weight", {s.e}, GgmlType::F32});
    t.push_back({b + "attn_q.weight", {s.e, s.e}, GgmlType::F32});
    t.push_back({b + "attn_k.weight", {s.e, s.kv}, GgmlType::F32});
    t.push_back({b + "attn_v.weight", {s.e, s.kv}, GgmlType::F32});
    t.push_back({b + "attn_output.weight", {s.e, s.e}, GgmlType::F32});
    t.push_back({b + "ffn_norm.weight", {s.e}, GgmlType::F32});
    t.push_back({b + "ffn_gate.weight", {s.e, s.f}, GgmlType::F32});
    t.push_back({b + "ffn_up.weight", {s.e, s.f}, GgmlType::F32});
    t.push_back({b + "ffn_down.weight", {s.f, s.e}, GgmlType::F32});
  }
  t.push_back({"output_norm.weight", {s.e}, GgmlType::F32});
  if (!tied) t.push_back({"output.weight", {s.e, s.vocab}, GgmlType::F32});
  return t;
}

std::map<std::string, GgmlType> types_of(const std::vector<QuantPlanEntry>& plan) {
  std::map<std::string, GgmlType> m;
  for (const auto& e : plan) m[e.name] = e.to;
  return m;
}

int layer_of(const std::string& name) { return name.starts_with("blk.") ? std::stoi(name.substr(4)) : -1; }

// The spec's table: expected type of every tensor for a K-quant mix.
// `k` = base K type, `k_fb` = its fallback for rows not a multiple of 256.
void expect_k_mix(const TextShape& s, QuantTarget target, GgmlType k, GgmlType k_fb) {
  SCOPED_TRACE(s.name);
  const auto plan = plan_quantization(text_tensors(s), target, {"llama", s.layers});
  const bool e256 = s.e % 256 == 0;
  const GgmlType base = e256 ? k : k_fb;
  const GgmlType v_more = e256 ? GgmlType::Q6_K : GgmlType::Q8_0;
  for (const auto& p : plan) {
    SCOPED_TRACE(p.name);
    GgmlType want = base;
    const int L = layer_of(p.name);
    if (p.ne.size() == 1) want = GgmlType::F32;
    else if (p.name == "output.weight") want = e256 ? GgmlType::Q6_K : GgmlType::Q8_0;
    else if (p.name.ends_with("attn_v.weight")) want = s.more_bits.count(L) ? v_more : base;
    else if (p.name.ends_with("ffn_down.weight")) {
      ASSERT_EQ(s.f % 256, 0);  // all three models: ffn_down rows (= F) allow K types
      want = s.more_bits.count(L) ? GgmlType::Q6_K : k;
    }
    EXPECT_EQ(ggml_type_name(p.to), ggml_type_name(want)) << p.reason;
  }
}

TEST(QuantizePolicy, Q4KMRealShapes) {
  for (const auto* s : {&k256m, &k500m, &k2b}) expect_k_mix(*s, QuantTarget::Q4_K_M, GgmlType::Q4_K, GgmlType::Q5_0);
}

TEST(QuantizePolicy, Q5KMRealShapes) {
  for (const auto* s : {&k256m, &k500m, &k2b}) expect_k_mix(*s, QuantTarget::Q5_K_M, GgmlType::Q5_K, GgmlType::Q5_1);
}

TEST(QuantizePolicy, Q8AndF16AndQ4_0AndQ6KRealShapes) {
  for (const auto* s : {&k256m, &k500m, &k2b}) {
    SCOPED_TRACE(s->name);
    for (auto [target, base] : {std::pair{QuantTarget::Q8_0, GgmlType::Q8_0}, std::pair{QuantTarget::F16, GgmlType::F16},
                                std::pair{QuantTarget::Q4_0, GgmlType::Q4_0}, std::pair{QuantTarget::Q6_K, GgmlType::Q6_K}}) {
      const auto plan = plan_quantization(text_tensors(*s), target, {"llama", s->layers});
      for (const auto& p : plan) {
        GgmlType want = base;
        if (p.ne.size() == 1) want = GgmlType::F32;
        else if (p.name == "output.weight" && base != GgmlType::Q8_0 && base != GgmlType::F16) want = GgmlType::Q6_K;
        // Q6_K rows of 576 / 960 fall back to Q8_0
        if (want == GgmlType::Q6_K && p.ne[0] % 256 != 0) want = GgmlType::Q8_0;
        EXPECT_EQ(ggml_type_name(p.to), ggml_type_name(want)) << p.name << " " << quant_target_info(target).name;
      }
    }
  }
}

TEST(QuantizePolicy, UseMoreBitsCountedInLayerOrderNotNameOrder) {
  // 30 layers: names sort "blk.10" before "blk.2" alphabetically; llama.cpp counts numerically.
  const auto plan = plan_quantization(text_tensors(k256m), QuantTarget::Q5_K_M, {"llama", 30});
  std::vector<int> q6_ffn_down;
  for (const auto& p : plan)
    if (p.name.ends_with("ffn_down.weight") && p.to == GgmlType::Q6_K) q6_ffn_down.push_back(layer_of(p.name));
  EXPECT_EQ(std::set<int>(q6_ffn_down.begin(), q6_ffn_down.end()), k256m.more_bits);
  EXPECT_NE(plan[plan.size() - 1].name.find("blk.29."), std::string::npos);
}

TEST(QuantizePolicy, OutputOrderIsLoaderOrder) {
  const auto plan = plan_quantization(text_tensors(k256m), QuantTarget::Q8_0, {"llama", 30});
  ASSERT_EQ(plan.size(), text_tensors(k256m).size());
  EXPECT_EQ(plan[0].name, "output.weight");
  EXPECT_EQ(plan[1].name, "output_norm.weight");
  EXPECT_EQ(plan[2].name, "token_embd.weight");
  EXPECT_EQ(plan[3].name, "blk.0.attn_k.weight");
  int last_layer = -1;
  for (size_t i = 3; i < plan.size(); ++i) {
    const int L = layer_of(plan[i].name);
    EXPECT_GE(L, last_layer) << plan[i].name;
    if (L == last_layer) {
      EXPECT_LT(plan[i - 1].name, plan[i].name);
    }
    last_layer = L;
  }
  // clip names ("v.blk.N.") have no leading "blk.": plain name order, so "v.blk.10" < "v.blk.2"
  EXPECT_TRUE(llama_weight_order_less("mm.model.fc.weight", "v.blk.0.attn_k.bias"));
  EXPECT_TRUE(llama_weight_order_less("v.blk.10.ln1.weight", "v.blk.2.ln1.weight"));
  EXPECT_TRUE(llama_weight_order_less("blk.2.ffn_up.weight", "blk.10.attn_k.weight"));
  EXPECT_TRUE(llama_weight_order_less("token_embd.weight", "blk.0.attn_k.weight"));
}

TEST(QuantizePolicy, TiedEmbeddingsGetTheOutputRule) {
  const auto tied = types_of(plan_quantization(text_tensors(k2b, true), QuantTarget::Q4_K_M, {"llama", 24}));
  EXPECT_EQ(tied.at("token_embd.weight"), GgmlType::Q6_K);
  const auto untied = types_of(plan_quantization(text_tensors(k2b, false), QuantTarget::Q4_K_M, {"llama", 24}));
  EXPECT_EQ(untied.at("token_embd.weight"), GgmlType::Q4_K);
  EXPECT_EQ(untied.at("output.weight"), GgmlType::Q6_K);
  const auto tied256 = types_of(plan_quantization(text_tensors(k256m, true), QuantTarget::Q4_K_M, {"llama", 30}));
  EXPECT_EQ(tied256.at("token_embd.weight"), GgmlType::Q8_0);
}

TEST(QuantizePolicy, ReasonsNameTheRule) {
  const auto plan = plan_quantization(text_tensors(k256m), QuantTarget::Q4_K_M, {"llama", 30});
  auto reason = [&](const std::string& n) {
    return std::find_if(plan.begin(), plan.end(), [&](const auto& p) { return p.name == n; })->reason;
  };
  EXPECT_NE(reason("blk.0.attn_v.weight").find("use_more_bits"), std::string::npos);
  EXPECT_NE(reason("blk.0.attn_v.weight").find("fallback Q6_K -> Q8_0: row 576 not a multiple of 256"),
            std::string::npos);
  EXPECT_NE(reason("blk.3.attn_q.weight").find("fallback Q4_K -> Q5_0: row 576 not a multiple of 256"),
            std::string::npos);
  EXPECT_NE(reason("blk.3.attn_norm.weight").find("kept"), std::string::npos);
  EXPECT_NE(reason("output.weight").find("output"), std::string::npos);
}

// mmproj tensors (clip names) of a SigLIP tower with hidden C, MLP Fv, projector input Cp -> E.
std::vector<QuantTensorIn> mmproj_tensors(int64_t c, int64_t fv, int64_t p, int64_t n_pos, int layers, int64_t cp,
                                          int64_t e) {
  std::vector<QuantTensorIn> t = {
      {"v.patch_embd.weight", {p, p, 3, c}, GgmlType::F32},
      {"v.patch_embd.bias", {c}, GgmlType::F32},
      {"v.position_embd.weight", {c, n_pos}, GgmlType::F32},
      {"v.post_ln.weight", {c}, GgmlType::F32},
      {"v.post_ln.bias", {c}, GgmlType::F32},
      {"mm.model.fc.weight", {cp, e}, GgmlType::F32},
  };
  for (int i = 0; i < layers; ++i) {
    const std::string b = "v.blk." + std::to_string(i) + ".";
    for (const char* n : {"attn_q", "attn_k", "attn_v", "attn_out"}) {
      t.push_back({b + n + ".weight", {c, c}, GgmlType::F32});
      t.push_back({b + n + ".bias", {c}, GgmlType::F32});
    }
    for (const char* n : {"ln1", "ln2"}) {
      t.push_back({b + n + ".weight", {c}, GgmlType::F32});
      t.push_back({b + n + ".bias", {c}, GgmlType::F32});
    }
    t.push_back({b + "ffn_up.weight", {c, fv}, GgmlType::F32});
    t.push_back({b + "ffn_up.bias", {fv}, GgmlType::F32});
    t.push_back({b + "ffn_down.weight", {fv, c}, GgmlType::F32});
    t.push_back({b + "ffn_down.bias", {c}, GgmlType::F32});
  }
  return t;
}

TEST(QuantizePolicy, MmprojQ8AndF16RealShapes) {
  // 256M / 500M towers: C 768, Fv 3072, patch 16, 1024 positions, 12 layers, fc 12288 -> E
  for (int64_t e : {576, 960}) {
    for (QuantTarget target : {QuantTarget::Q8_0, QuantTarget::F16}) {
      const auto plan = plan_quantization(mmproj_tensors(768, 3072, 16, 1024, 12, 12288, e), target, {"clip", 0});
      EXPECT_TRUE(std::is_sorted(plan.begin(), plan.end(), [](auto& a, auto& b) { return a.name < b.name; }));
      const GgmlType want = quant_target_info(target).base;
      for (const auto& p : plan) {
        const bool kept = p.ne.size() == 1 || p.name.find("patch_embd") != std::string::npos ||
                          p.name.find("position_embd") != std::string::npos;
        EXPECT_EQ(ggml_type_name(p.to), ggml_type_name(kept ? GgmlType::F32 : want)) << p.name;
      }
    }
  }
  // 2.2B tower (SO400M: C 1152, Fv 4304): F16 works, Q8_0 fails like llama-quantize (4304 % 32 = 16)
  const auto big = mmproj_tensors(1152, 4304, 14, 729, 27, 10368, 2048);
  EXPECT_NO_THROW(plan_quantization(big, QuantTarget::F16, {"clip", 0}));
  try {
    plan_quantization(big, QuantTarget::Q8_0, {"clip", 0});
    ADD_FAILURE() << "expected an error";
  } catch (const Error& err) {
    const std::string m = err.what();
    EXPECT_NE(m.find("'v.blk.0.ffn_down.weight' has rows of 4304"), std::string::npos) << m;
    EXPECT_NE(m.find("multiple of 32"), std::string::npos) << m;
    EXPECT_NE(m.find("Q8_0"), std::string::npos) << m;
  }
}

TEST(QuantizePolicy, FallbackToF16WhenEvenTheFallbackDoesNotFit) {
  // ffn_down of a use_more_bits layer wants Q6_K; a row of 48 fits neither 256 nor Q8_0's 32.
  const std::vector<QuantTensorIn> t = {{"blk.0.ffn_down.weight", {48, 64}, GgmlType::F32},
                                        {"blk.0.ffn_up.weight", {64, 48}, GgmlType::F32}};
  const auto plan = plan_quantization(t, QuantTarget::Q4_K_M, {"llama", 1});
  EXPECT_EQ(plan[0].to, GgmlType::F16);
  EXPECT_NE(plan[0].reason.find("nor of 32"), std::string::npos) << plan[0].reason;
  EXPECT_EQ(plan[1].to, GgmlType::Q5_0);  // 64: Q4_K -> Q5_0
  // Q4_0 has no fallback at all
  EXPECT_THROW(plan_quantization(t, QuantTarget::Q4_0, {"llama", 1}), Error);
}

TEST(QuantizePolicy, NeverQuantized) {
  const std::vector<QuantTensorIn> t = {
      {"blk.0.attn_norm.weight", {256, 4}, GgmlType::F32},   // *_norm.weight even when 2-D
      {"blk.0.attn_q.bias", {256, 4}, GgmlType::F32},        // not a weight
      {"rope_freqs.weight", {256}, GgmlType::F32},           // 1-D
      {"blk.0.attn_k.weight", {256, 1, 1}, GgmlType::F32},   // trailing 1-dims: 1-D
      {"position_embd.weight", {256, 8}, GgmlType::F32},
      {"blk.0.ffn_gate_inp.weight", {256, 8}, GgmlType::F32},
      {"blk.0.attn_q.weight", {256, 8}, GgmlType::F16},
  };
  const auto plan = plan_quantization(t, QuantTarget::Q8_0, {"llama", 1});
  for (const auto& p : plan) {
    if (p.name == "blk.0.attn_q.weight") {
      EXPECT_EQ(p.to, GgmlType::Q8_0);
    } else {
      EXPECT_FALSE(p.convert()) << p.name << " " << p.reason;
      EXPECT_EQ(p.reason.rfind("kept", 0), 0u) << p.reason;
    }
    if (p.name == "blk.0.attn_k.weight") {
      EXPECT_EQ(p.ne, std::vector<int64_t>{256});
    }
  }
}

TEST(QuantizePolicy, TargetNames) {
  EXPECT_EQ(parse_quant_target("q4_k_m"), QuantTarget::Q4_K_M);
  EXPECT_EQ(parse_quant_target("F16"), QuantTarget::F16);
  EXPECT_FALSE(parse_quant_target("Q4_K").has_value());
  EXPECT_EQ(quant_target_list(), "F16, Q8_0, Q4_0, Q4_K_M, Q5_K_M, Q6_K");
  EXPECT_EQ(quant_target_list(true), "F16, Q8_0");
  const std::map<std::string, uint32_t> ftypes = {{"F16", 1}, {"Q4_0", 2}, {"Q8_0", 7}, {"Q4_K_M", 15}, {"Q5_K_M", 17}, {"Q6_K", 18}};
  for (const auto& t : quant_targets()) EXPECT_EQ(t.file_type, ftypes.at(t.name)) << t.name;
}

TEST(QuantizePolicy, DuplicateNamesRejected) {
  const std::vector<QuantTensorIn> t = {{"a.weight", {32, 2}, GgmlType::F32}, {"a.weight", {32, 2}, GgmlType::F32}};
  EXPECT_THROW(plan_quantization(t, QuantTarget::Q8_0, {"llama", 0}), Error);
}

}  // namespace
}  // namespace smolvlm
