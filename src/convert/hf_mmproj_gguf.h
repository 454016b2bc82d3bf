// The vision projector GGUF (arch "clip", projector "idefics3") of a SmolVLM / SmolVLM2
// checkpoint: clip.* keys in the order of golden/tools/hf_to_gguf.py, the SigLIP tower
// (model.vision_model.*, modern naming ffn_up = fc1, ffn_down = fc2) and the connector
// (model.connector.modality_projection.proj.weight). Patch and position embeddings stay F32.
#pragma once

#include <string>
#include <vector>

#include "convert/hf_config.h"
#include "convert/hf_tensors.h"

namespace smolvlm {

// Appends every checkpoint tensor the mmproj needs but the checkpoint lacks to `missing`.
GgufPlan plan_mmproj_gguf(const HfModelConfig& cfg, const SafetensorsCheckpoint& ckpt, OutType out,
                          std::vector<std::string>& missing);

}  // namespace smolvlm
