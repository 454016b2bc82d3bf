#include "convert/hf_mmproj_gguf.h"

#include "base/error.h"

namespace smolvlm {

namespace {

uint32_t u32_of(int64_t v, const char* what) {
  if (v < 0 || v > int64_t(UINT32_MAX)) fail("config.json: ", what, " = ", v, " does not fit a GGUF u32");
  return static_cast<uint32_t>(v);
}

void add_clip_keys(GgufWriter& w, const HfModelConfig& cfg, OutType out) {
  const HfVisionConfig& v = cfg.vision;
  w.set("general.architecture", GgufValue::str("clip"));
  w.set("general.type", GgufValue::str("mmproj"));
  w.set("general.name", GgufValue::str(cfg.name));
  w.set("general.file_type", GgufValue::u32(outtype_info(out).file_type));
  w.set("clip.has_vision_encoder", GgufValue::boolean(true));
  w.set("clip.vision.projection_dim", GgufValue::u32(u32_of(cfg.text.hidden_size, "text hidden_size")));
  w.set("clip.vision.image_size", GgufValue::u32(u32_of(v.image_size, "vision image_size")));
  w.set("clip.vision.patch_size", GgufValue::u32(u32_of(v.patch_size, "vision patch_size")));
  w.set("clip.vision.embedding_length", GgufValue::u32(u32_of(v.hidden_size, "vision hidden_size")));
  w.set("clip.vision.feed_forward_length", GgufValue::u32(u32_of(v.intermediate_size, "vision intermediate_size")));
  w.set("clip.vision.block_count", GgufValue::u32(u32_of(v.num_hidden_layers, "vision num_hidden_layers")));
  w.set("clip.vision.attention.head_count", GgufValue::u32(u32_of(v.num_attention_heads, "vision num_attention_heads")));
  w.set("clip.vision.image_mean", GgufValue::f32_array(cfg.preprocessor.image_mean));
  w.set("clip.vision.image_std", GgufValue::f32_array(cfg.preprocessor.image_std));
  w.set("clip.projector_type", GgufValue::str("idefics3"));
  w.set("clip.vision.attention.layer_norm_epsilon", GgufValue::f32(static_cast<float>(v.layer_norm_eps)));
  w.set("clip.vision.projector.scale_factor", GgufValue::u32(u32_of(cfg.scale_factor, "scale_factor")));
  w.set("clip.use_gelu", GgufValue::boolean(true));
  w.set("clip.vision.preproc_image_size",
        GgufValue::u32(u32_of(cfg.preprocessor.longest_edge.value_or(v.image_size), "size.longest_edge")));
  w.set("general.quantization_version", GgufValue::u32(2));
}

}  // namespace

GgufPlan plan_mmproj_gguf(const HfModelConfig& cfg, const SafetensorsCheckpoint& ckpt, OutType out,
                          std::vector<std::string>& missing) {
  const HfVisionConfig& v = cfg.vision;
  GgufPlan plan;
  plan.kind = "mmproj";
  add_clip_keys(plan.writer, cfg, out);

  const int64_t C = v.hidden_size, Fv = v.intermediate_size, P = v.patch_size;
  const int64_t n_side = v.image_size / v.patch_size, s = cfg.scale_factor;
  const std::string vp = "model.vision_model.";
  // ".embeddings." tensors (patch conv, position table) are F32 whatever the outtype (llama.cpp).
  auto embd = [&](const std::string& g, const std::string& hf, std::vector<int64_t> shape) {
    add_tensor_job(plan, ckpt, g, vp + hf, out, missing, shape, 0, true);
  };
  auto add = [&](const std::string& g, const std::string& hf, std::vector<int64_t> shape) {
    add_tensor_job(plan, ckpt, g, hf, out, missing, shape);
  };
  embd("v.patch_embd.weight", "embeddings.patch_embedding.weight", {C, 3, P, P});
  embd("v.patch_embd.bias", "embeddings.patch_embedding.bias", {C});
  embd("v.position_embd.weight", "embeddings.position_embedding.weight", {n_side * n_side, C});
  struct Part {
    const char* hf;
    const char* gguf;
    int64_t out_dim, in_dim;  // weight [out, in]; in_dim 0: a LayerNorm (weight and bias [out])
  };
  const Part parts[] = {
      {"self_attn.q_proj", "attn_q", C, C}, {"self_attn.k_proj", "attn_k", C, C},
      {"self_attn.v_proj", "attn_v", C, C}, {"self_attn.out_proj", "attn_out", C, C},
      {"layer_norm1", "ln1", C, 0},         {"layer_norm2", "ln2", C, 0},
      {"mlp.fc1", "ffn_up", Fv, C},         {"mlp.fc2", "ffn_down", C, Fv},
  };
  for (int64_t i = 0; i < v.num_hidden_layers; ++i) {
    const std::string lp = cat(vp, "encoder.layers.", i, ".");
    const std::string b = cat("v.blk.", i, ".");
    for (const Part& p : parts) {
      std::vector<int64_t> wshape{p.out_dim};
      if (p.in_dim > 0) wshape.push_back(p.in_dim);
      add(b + p.gguf + ".weight", lp + p.hf + ".weight", wshape);
      add(b + p.gguf + ".bias", lp + p.hf + ".bias", {p.out_dim});
    }
  }
  add("v.post_ln.weight", vp + "post_layernorm.weight", {C});
  add("v.post_ln.bias", vp + "post_layernorm.bias", {C});
  add("mm.model.fc.weight", "model.connector.modality_projection.proj.weight", {cfg.text.hidden_size, C * s * s});
  return plan;
}

}  // namespace smolvlm
