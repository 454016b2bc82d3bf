// VisionConfig from `clip.*` GGUF keys. Required keys follow llama.cpp's clip loader (clip.cpp):
// the six clip.vision integers and projection_dim; the projector type from clip.projector_type
// (or clip.vision.projector_type) must be idefics3, SmolVLM's. Defaults: scale_factor 2 (as
// llama.cpp), layer-norm eps 1e-6 (as transformers, see vision_config.h), mean/std 0.5. The MLP
// activation is always GELU (tanh), SmolVLM's gelu_pytorch_tanh: llama.cpp reads clip.use_gelu
// and would fall back to GELU-quick without it; clip.use_silu is refused.
#include "model/vision/vision_config.h"

#include <optional>
#include <vector>

#include "base/error.h"
#include "io/gguf.h"
#include "io/gguf_keys.h"

namespace smolvlm {
namespace {

constexpr std::string_view kWho = "a clip vision encoder";

void read_triple(const GgufFile& f, const std::string& key, std::array<float, 3>& out) {
  const auto a = gguf_floats(f, key);
  if (!a) return;
  if (a->size() != 3) fail(f.path(), ": key '", key, "' has ", a->size(), " values, expected 3 (one per RGB channel)");
  for (int i = 0; i < 3; ++i) out[i] = (*a)[i];
}

}  // namespace

std::string VisionConfig::summary() const {
  return cat("tile ", image_size, ", patch ", patch_size, " (", n_patches(), " patches), C ", n_embd, ", ", n_layer,
             " layers, ", n_head, " heads x ", head_dim(), ", MLP ", n_ff, ", eps ", eps, ", pixel shuffle ",
             scale_factor, " -> ", tokens_per_tile(), " tokens x ", connector_dim(), " -> ", projection_dim);
}

VisionConfig read_vision_config(const GgufFile& f) {
  const std::string arch = f.architecture();
  if (arch != "clip") {
    fail(f.path(), ": not an mmproj file (general.architecture is ",
         arch.empty() ? std::string("missing") : "'" + arch + "'",
         "); a SmolVLM2 vision projector GGUF has architecture 'clip'");
  }
  auto proj = gguf_str(f, "clip.projector_type");
  if (!proj) proj = gguf_str(f, "clip.vision.projector_type");
  if (!proj) fail(f.path(), ": missing key 'clip.projector_type' (the projector must be 'idefics3', SmolVLM's)");
  if (*proj != "idefics3")
    fail(f.path(), ": projector type '", *proj, "' is not supported (only 'idefics3', SmolVLM / SmolVLM2's)");
  if (gguf_bool(f, "clip.has_vision_encoder") != true)
    fail(f.path(), ": clip.has_vision_encoder is missing or false: the file has no vision encoder");
  if (gguf_bool(f, "clip.use_silu") == true)
    fail(f.path(), ": clip.use_silu is set, but SmolVLM's vision MLP uses GELU (tanh)");

  const std::string p = "clip.vision.";
  VisionConfig c;
  auto req = [&](const std::string& key) { return gguf_positive(f, key, gguf_int(f, key), kWho, int64_t(1) << 24); };
  c.image_size = req(p + "image_size");
  c.patch_size = req(p + "patch_size");
  c.n_embd = req(p + "embedding_length");
  c.n_ff = req(p + "feed_forward_length");
  c.n_layer = req(p + "block_count");
  c.n_head = req(p + "attention.head_count");
  c.projection_dim = req(p + "projection_dim");
  const std::string sf_key = p + "projector.scale_factor";
  c.scale_factor = gguf_positive(f, sf_key, gguf_int(f, sf_key).value_or(2), kWho, int64_t(1) << 24);
  const std::string pre_key = p + "preproc_image_size";
  c.preproc_image_size = gguf_positive(f, pre_key, gguf_int(f, pre_key).value_or(c.image_size), kWho, int64_t(1) << 24);

  const std::string eps_key = p + "attention.layer_norm_epsilon";
  if (const auto eps = gguf_number(f, eps_key)) {
    c.eps = static_cast<float>(*eps);
    if (!(c.eps > 0.0f && c.eps < 1.0f)) fail(f.path(), ": key '", eps_key, "' has the invalid value ", c.eps);
  }
  read_triple(f, p + "image_mean", c.image_mean);
  read_triple(f, p + "image_std", c.image_std);

  if (c.patch_size > c.image_size)
    fail(f.path(), ": patch_size ", c.patch_size, " is larger than image_size ", c.image_size);
  if (c.n_embd % c.n_head != 0)
    fail(f.path(), ": embedding_length ", c.n_embd, " is not a multiple of the ", c.n_head, " attention heads");
  if (c.patches_per_side() % c.scale_factor != 0)
    fail(f.path(), ": the ", c.patches_per_side(), "x", c.patches_per_side(), " patch grid (image_size ", c.image_size,
         " / patch_size ", c.patch_size, ") is not divisible by the pixel-shuffle scale_factor ", c.scale_factor);
  return c;
}

}  // namespace smolvlm
