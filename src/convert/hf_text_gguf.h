// The text-model GGUF (arch "llama") of a SmolVLM / SmolVLM2 checkpoint: metadata keys in the
// order of golden/tools/hf_to_gguf.py (= llama.cpp's convert_hf_to_gguf.py for the keys it
// writes), tokenizer keys, and the decoder tensors (model.text_model.* and lm_head.weight; the
// vision tower and connector are left out), q_proj/k_proj rows permuted per head.
#pragma once

#include <string>
#include <vector>

#include "convert/hf_config.h"
#include "convert/hf_tensors.h"
#include "convert/hf_vocab.h"

namespace smolvlm {

// Appends every checkpoint tensor the text file needs but the checkpoint lacks to `missing`.
GgufPlan plan_text_gguf(const HfModelConfig& cfg, const HfVocab& vocab, const SafetensorsCheckpoint& ckpt,
                        OutType out, std::vector<std::string>& missing);

}  // namespace smolvlm
