// Hyper-parameters of SmolVLM2's vision tower (a SigLIP-style ViT) and connector (pixel shuffle +
// projection), read from an mmproj GGUF's `clip.*` keys (reference/llamacpp-gguf-smolvlm.md §3.1).
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace smolvlm {

class GgufFile;

struct VisionConfig {
  int64_t image_size = 0;     // clip.vision.image_size             S: tile side in pixels (512 / 384)
  int64_t patch_size = 0;     // clip.vision.patch_size             P: 16 / 14
  int64_t n_embd = 0;         // clip.vision.embedding_length       C (hidden_size)
  int64_t n_ff = 0;           // clip.vision.feed_forward_length    Fv (intermediate_size)
  int64_t n_layer = 0;        // clip.vision.block_count            (num_hidden_layers)
  int64_t n_head = 0;         // clip.vision.attention.head_count   (num_attention_heads)
  int64_t scale_factor = 0;   // clip.vision.projector.scale_factor s: pixel-shuffle factor (4 / 3)
  int64_t projection_dim = 0; // clip.vision.projection_dim         E: the text model's hidden size
  // clip.vision.attention.layer_norm_epsilon. transformers' SmolVLM vision config defaults to
  // 1e-6 (the checkpoints' config.json omits it), so a file without the key gets 1e-6, not
  // llama.cpp's 1e-5 fallback (reference/smolvlm2-spec.md §15 item 12).
  float eps = 1e-6f;
  std::array<float, 3> image_mean{0.5f, 0.5f, 0.5f};  // clip.vision.image_mean (for the preprocessor)
  std::array<float, 3> image_std{0.5f, 0.5f, 0.5f};   // clip.vision.image_std
  int64_t preproc_image_size = 0;  // clip.vision.preproc_image_size: longest edge (default image_size)

  int64_t head_dim() const { return n_embd / n_head; }
  int64_t patches_per_side() const { return image_size / patch_size; }                 // 32 / 27
  int64_t n_patches() const { return patches_per_side() * patches_per_side(); }         // 1024 / 729
  int64_t patch_dim() const { return 3 * patch_size * patch_size; }                     // conv inputs per patch
  int64_t tokens_per_tile() const { return n_patches() / (scale_factor * scale_factor); }  // 64 / 81
  int64_t connector_dim() const { return n_embd * scale_factor * scale_factor; }       // C * s^2
  std::string summary() const;  // one line for logs
};

// Reads and checks the hyper-parameters. Throws Error naming the file and key when the file is not
// a clip/mmproj file with an idefics3 (SmolVLM) projector, a required key is missing or has the
// wrong type, or the values are inconsistent (e.g. the patch grid not divisible by the scale).
VisionConfig read_vision_config(const GgufFile& file);

}  // namespace smolvlm
