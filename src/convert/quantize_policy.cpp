// Per-tensor type selection, following llama.cpp's src/llama-quant.cpp (read at ggml-org/llama.cpp
// 2026; the golden files were made at 34af94cd). Only the branches reachable for the targets we
// accept, dense models (no experts) and no user overrides are implemented.
#include "convert/quantize_policy.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>

#include "base/error.h"

namespace smolvlm {
namespace {

const std::vector<QuantTargetInfo> kTargets = {
    {QuantTarget::F16, "F16", 1, GgmlType::F16, true},
    {QuantTarget::Q8_0, "Q8_0", 7, GgmlType::Q8_0, true},
    {QuantTarget::Q4_0, "Q4_0", 2, GgmlType::Q4_0, false},
    {QuantTarget::Q4_K_M, "Q4_K_M", 15, GgmlType::Q4_K, false},
    {QuantTarget::Q5_K_M, "Q5_K_M", 17, GgmlType::Q5_K, false},
    {QuantTarget::Q6_K, "Q6_K", 18, GgmlType::Q6_K, false},
};

bool is_quantized(GgmlType t) { return ggml_type_info(t).block_size > 1; }
int64_t block_of(GgmlType t) { return ggml_type_info(t).block_size; }

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

// Tensor names llama-quantize never quantizes (besides 1-D tensors and names not ending in
// "weight"): substring patterns and whole names, with the reason shown by --dry-run.
struct KeepRule {
  std::string_view pattern;
  bool whole_name;
  std::string_view why;
};
constexpr KeepRule kKeepRules[] = {
    {"_norm.weight", false, "norm"},
    {"ffn_gate_inp.weight", false, "expert gate"},
    {"ffn_gate_tid2eid.weight", false, "expert routing table"},
    {"altup", false, "altup"},
    {"laurel", false, "laurel"},
    {"per_layer_model_proj", false, "per-layer projection"},
    {"position_embd.weight", true, "position embedding"},
    {"token_types.weight", true, "token types"},
    {"ssm_conv1d", false, "conv1d"},
    {"shortconv.conv.weight", false, "conv1d"},
    {"indexer.k_proj.weight", false, "indexer projection"},
    {"indexer.q_proj.weight", false, "indexer projection"},
    {"time_mix_first.weight", false, "RWKV"},
    {"time_mix_w0.weight", false, "RWKV"},
    {"time_mix_w1.weight", false, "RWKV"},
    {"time_mix_w2.weight", false, "RWKV"},
    {"time_mix_v0.weight", false, "RWKV"},
    {"time_mix_v1.weight", false, "RWKV"},
    {"time_mix_v2.weight", false, "RWKV"},
    {"time_mix_a0.weight", false, "RWKV"},
    {"time_mix_a1.weight", false, "RWKV"},
    {"time_mix_a2.weight", false, "RWKV"},
    {"time_mix_g1.weight", false, "RWKV"},
    {"time_mix_g2.weight", false, "RWKV"},
    {"time_mix_decay_w1.weight", false, "RWKV"},
    {"time_mix_decay_w2.weight", false, "RWKV"},
    {"time_mix_lerp_fused.weight", false, "RWKV"},
    {"attn_rel_b.weight", false, "relative position bias"},
    {".position_embd", false, "position embedding"},
    {"sam.pos_embd", false, "SAM"},
    {"sam.neck.", false, "SAM"},
    {"sam.net_", false, "SAM"},
    {".rel_pos", false, "relative position"},
    {".patch_embd", false, "patch embedding"},
    {".patch_merger", false, "patch merger"},
    {"a.rvq.codebook", false, "audio codebook"},
    {"mm.a.code_embd", false, "audio codebook"},
};

// Empty when llama-quantize may quantize the tensor, else why not.
std::string keep_reason(const std::string& name, const std::vector<int64_t>& ne) {
  if (ne.size() < 2) return "kept: 1-D";
  if (!name.ends_with("weight")) return "kept: not a weight";
  for (const auto& r : kKeepRules) {
    if (r.whole_name ? name == r.pattern : contains(name, r.pattern)) return cat("kept: ", r.why);
  }
  return {};
}

// llama.cpp's broad tensor categories (first match wins, substring matching).
enum class Cat { kTokenEmbd, kAttnQ, kAttnV, kAttnK, kAttnOutput, kFfnUp, kFfnGate, kFfnDown, kOutput, kOther };

Cat category(const std::string& name) {
  if (name == "output.weight") return Cat::kOutput;
  if (name == "token_embd.weight" || name == "per_layer_token_embd.weight") return Cat::kTokenEmbd;
  // fused qkv and MLA kv_b count as attn_v-like
  if (contains(name, "attn_qkv.weight") || contains(name, "attn_kv_b.weight") || contains(name, "attn_v.weight"))
    return Cat::kAttnV;
  if (contains(name, "attn_k.weight")) return Cat::kAttnK;
  if (contains(name, "attn_q.weight")) return Cat::kAttnQ;
  if (contains(name, "attn_output.weight")) return Cat::kAttnOutput;
  if (contains(name, "ffn_up")) return Cat::kFfnUp;
  if (contains(name, "ffn_gate")) return Cat::kFfnGate;
  if (contains(name, "ffn_down")) return Cat::kFfnDown;
  return Cat::kOther;
}

bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

// Mutable state of one pass over the tensors (llama.cpp's quantize_state_impl counters).
struct PolicyState {
  QuantTarget target;
  QuantModelParams model;
  int n_attention_wv = 0;
  int i_attention_wv = 0;
  int i_ffn_down = 0;
  bool tied_embeddings = true;
};

// The mix's choice before the shape fallback (llama_tensor_get_type_impl, our targets only).
GgmlType mix_type(PolicyState& st, const QuantPlanEntry& e, std::string& reason) {
  const GgmlType base = quant_target_info(st.target).base;
  const bool k_mix = st.target == QuantTarget::Q4_K_M || st.target == QuantTarget::Q5_K_M;
  const Cat c = category(e.name);
  reason = "base type";
  if (c == Cat::kOutput || (st.tied_embeddings && c == Cat::kTokenEmbd)) {
    const char* what = c == Cat::kOutput ? "output tensor" : "tied token_embd";
    if (e.ne[0] % block_of(base) != 0) {
      reason = cat(what, ": row ", e.ne[0], " not a multiple of ", block_of(base));
      return GgmlType::Q8_0;
    }
    if (base == GgmlType::Q8_0) {
      reason = cat(what, " (base Q8_0)");
      return base;
    }
    reason = what;
    return GgmlType::Q6_K;
  }
  GgmlType t = base;
  if (c == Cat::kAttnV) {
    const int i = st.i_attention_wv++;
    if (k_mix && use_more_bits(i, st.n_attention_wv)) {
      reason = cat("use_more_bits layer (attn_v ", i, " of ", st.n_attention_wv, ")");
      t = GgmlType::Q6_K;
    }
    if (st.model.is_70b && (t == GgmlType::Q3_K || t == GgmlType::Q4_K)) {
      reason = "70B attn_v";
      t = GgmlType::Q5_K;
    }
  } else if (c == Cat::kFfnDown) {
    const int i = st.i_ffn_down++;
    if (k_mix && use_more_bits(i, st.model.n_layer)) {
      reason = cat("use_more_bits layer (ffn_down ", i, " of ", st.model.n_layer, ")");
      t = GgmlType::Q6_K;
    }
  }
  return t;
}

// Replacement for a type whose block does not divide the row (tensor_type_fallback); nullopt
// where llama.cpp defines none.
std::optional<GgmlType> fallback_for(GgmlType t) {
  switch (t) {
    case GgmlType::Q4_K: return GgmlType::Q5_0;
    case GgmlType::Q5_K: return GgmlType::Q5_1;
    case GgmlType::Q6_K: return GgmlType::Q8_0;
    case GgmlType::Q2_K:
    case GgmlType::Q3_K:
    case GgmlType::TQ1_0:
    case GgmlType::TQ2_0: return GgmlType::Q4_0;
    default: return std::nullopt;
  }
}

}  // namespace

const std::vector<QuantTargetInfo>& quant_targets() { return kTargets; }

const QuantTargetInfo& quant_target_info(QuantTarget t) {
  for (const auto& i : kTargets) {
    if (i.target == t) return i;
  }
  fail("unknown quantization target");
}

std::optional<QuantTarget> parse_quant_target(std::string_view name) {
  for (const auto& i : kTargets) {
    const std::string_view n = i.name;
    if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
          return std::toupper(static_cast<unsigned char>(a)) == std::toupper(static_cast<unsigned char>(b));
        }))
      return i.target;
  }
  return std::nullopt;
}

std::string quant_target_list(bool mmproj_only) {
  std::string s;
  for (const auto& i : kTargets) {
    if (mmproj_only && !i.mmproj_ok) continue;
    if (!s.empty()) s += ", ";
    s += i.name;
  }
  return s;
}

// sscanf(name, "blk.%d.", &layer) semantics: the layer is read when the name starts with "blk."
// followed by an optionally signed decimal number; otherwise -1.
static int weight_layer(const std::string& name) {
  int layer = -1;
  if (!name.starts_with("blk.")) return layer;
  std::sscanf(name.c_str() + 4, "%d", &layer);
  return layer;
}

bool llama_weight_order_less(const std::string& a, const std::string& b) {
  const int la = weight_layer(a), lb = weight_layer(b);
  if (la != lb) return la < lb;
  return a < b;
}

std::vector<int64_t> trim_dims(const std::vector<int64_t>& ne) {
  std::vector<int64_t> out = ne;
  while (out.size() > 1 && out.back() == 1) out.pop_back();
  if (out.empty()) out.push_back(1);
  return out;
}

std::vector<QuantPlanEntry> plan_quantization(const std::vector<QuantTensorIn>& tensors, QuantTarget target,
                                              const QuantModelParams& model) {
  std::vector<QuantPlanEntry> plan;
  plan.reserve(tensors.size());
  for (const auto& t : tensors) plan.push_back({t.name, trim_dims(t.ne), t.type, t.type, {}});
  std::sort(plan.begin(), plan.end(),
            [](const auto& a, const auto& b) { return llama_weight_order_less(a.name, b.name); });
  for (size_t i = 1; i < plan.size(); ++i) {
    if (plan[i].name == plan[i - 1].name) fail("duplicate tensor name '", plan[i].name, "'");
  }

  PolicyState st{target, model};
  for (const auto& e : plan) {
    if (category(e.name) == Cat::kAttnV) ++st.n_attention_wv;
    if (category(e.name) == Cat::kOutput) st.tied_embeddings = false;
  }

  const GgmlType base = quant_target_info(target).base;
  std::vector<std::string> impossible;  // tensors llama.cpp has no type for
  std::string first_error;
  for (auto& e : plan) {
    if (std::string why = keep_reason(e.name, e.ne); !why.empty()) {
      e.reason = why;
      continue;
    }
    if (!is_quantized(base)) {  // F16: every quantizable tensor simply becomes F16, no fallback
      e.to = base;
      e.reason = "base type";
      continue;
    }
    e.to = mix_type(st, e, e.reason);
    const int64_t width = e.ne[0];
    if (width % block_of(e.to) == 0) continue;
    const GgmlType wanted = e.to;
    const std::optional<GgmlType> fb = fallback_for(wanted);
    if (!fb) {
      if (first_error.empty()) {
        first_error = cat("tensor '", e.name, "' has rows of ", width, " values, not a multiple of ",
                          block_of(wanted), " as ", ggml_type_name(wanted), " requires, and llama.cpp defines no ",
                          "fallback type for ", ggml_type_name(wanted), " (llama-quantize fails too)");
      } else {
        impossible.push_back(cat(e.name, " (", width, ")"));
      }
      continue;
    }
    e.to = width % block_of(*fb) == 0 ? *fb : GgmlType::F16;
    e.reason += cat("; fallback ", ggml_type_name(wanted), " -> ", ggml_type_name(e.to), ": row ", width,
                    " not a multiple of ", block_of(wanted));
    if (e.to == GgmlType::F16) e.reason += cat(" nor of ", block_of(*fb));
  }
  if (!first_error.empty()) {
    std::string more;
    for (size_t i = 0; i < impossible.size() && i < 8; ++i) more += (i ? ", " : "") + impossible[i];
    if (impossible.size() > 8) more += cat(", and ", impossible.size() - 8, " more");
    if (!impossible.empty()) first_error += cat("; the same holds for ", more);
    fail("cannot quantize to ", quant_target_info(target).name, ": ", first_error);
  }
  return plan;
}

}  // namespace smolvlm
