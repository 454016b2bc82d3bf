#include "convert/hf_text_gguf.h"

#include "base/error.h"

namespace smolvlm {

namespace {

uint32_t u32_of(int64_t v, const char* what) {
  if (v < 0 || v > int64_t(UINT32_MAX)) fail("config.json: ", what, " = ", v, " does not fit a GGUF u32");
  return static_cast<uint32_t>(v);
}

void add_hparams(GgufWriter& w, const HfModelConfig& cfg, OutType out) {
  const HfTextConfig& t = cfg.text;
  w.set("general.architecture", GgufValue::str("llama"));
  w.set("general.type", GgufValue::str("model"));
  w.set("general.name", GgufValue::str(cfg.name));
  w.set("llama.block_count", GgufValue::u32(u32_of(t.num_hidden_layers, "num_hidden_layers")));
  w.set("llama.context_length", GgufValue::u32(u32_of(t.max_position_embeddings, "max_position_embeddings")));
  w.set("llama.embedding_length", GgufValue::u32(u32_of(t.hidden_size, "hidden_size")));
  w.set("llama.feed_forward_length", GgufValue::u32(u32_of(t.intermediate_size, "intermediate_size")));
  w.set("llama.attention.head_count", GgufValue::u32(u32_of(t.num_attention_heads, "num_attention_heads")));
  w.set("llama.attention.head_count_kv", GgufValue::u32(u32_of(t.num_key_value_heads, "num_key_value_heads")));
  w.set("llama.rope.freq_base", GgufValue::f32(static_cast<float>(t.rope_theta)));
  w.set("llama.attention.layer_norm_rms_epsilon", GgufValue::f32(static_cast<float>(t.rms_norm_eps)));
  if (t.head_dim) {
    w.set("llama.attention.key_length", GgufValue::u32(u32_of(*t.head_dim, "head_dim")));
    w.set("llama.attention.value_length", GgufValue::u32(u32_of(*t.head_dim, "head_dim")));
  }
  w.set("general.file_type", GgufValue::u32(outtype_info(out).file_type));
  w.set("llama.vocab_size", GgufValue::u32(u32_of(t.vocab_size, "vocab_size")));
  w.set("llama.rope.dimension_count", GgufValue::u32(u32_of(t.rope_dim(), "head_dim")));
  w.set("general.quantization_version", GgufValue::u32(2));
}

}  // namespace

GgufPlan plan_text_gguf(const HfModelConfig& cfg, const HfVocab& vocab, const SafetensorsCheckpoint& ckpt,
                        OutType out, std::vector<std::string>& missing) {
  const HfTextConfig& t = cfg.text;
  GgufPlan plan;
  plan.kind = "text";
  add_hparams(plan.writer, cfg, out);
  add_vocab_keys(plan.writer, vocab);

  const int64_t E = t.hidden_size, F = t.intermediate_size, D = t.rope_dim();
  const int64_t H = t.num_attention_heads, Hkv = t.num_key_value_heads;
  auto add = [&](const std::string& g, const std::string& hf, std::vector<int64_t> shape, int64_t heads = 0) {
    add_tensor_job(plan, ckpt, g, hf, out, missing, shape, heads);
  };
  const std::string tp = "model.text_model.";
  add("token_embd.weight", tp + "embed_tokens.weight", {t.vocab_size, E});
  for (int64_t i = 0; i < t.num_hidden_layers; ++i) {
    const std::string lp = cat(tp, "layers.", i, ".");
    const std::string b = cat("blk.", i, ".");
    add(b + "attn_norm.weight", lp + "input_layernorm.weight", {E});
    add(b + "attn_q.weight", lp + "self_attn.q_proj.weight", {H * D, E}, H);
    add(b + "attn_k.weight", lp + "self_attn.k_proj.weight", {Hkv * D, E}, Hkv);
    add(b + "attn_v.weight", lp + "self_attn.v_proj.weight", {Hkv * D, E});
    add(b + "attn_output.weight", lp + "self_attn.o_proj.weight", {E, H * D});
    add(b + "ffn_norm.weight", lp + "post_attention_layernorm.weight", {E});
    add(b + "ffn_gate.weight", lp + "mlp.gate_proj.weight", {F, E});
    add(b + "ffn_up.weight", lp + "mlp.up_proj.weight", {F, E});
    add(b + "ffn_down.weight", lp + "mlp.down_proj.weight", {E, F});
  }
  add("output_norm.weight", tp + "norm.weight", {E});
  // Tied embeddings: no output.weight, llama.cpp reuses token_embd.weight. Untied: lm_head is required.
  if (!t.tie_word_embeddings) {
    add("output.weight", "lm_head.weight", {t.vocab_size, E});
  }
  return plan;
}

}  // namespace smolvlm
