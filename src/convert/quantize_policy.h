// llama-quantize's per-tensor type choice (llama.cpp src/llama-quant.cpp, no imatrix, no --pure,
// no --leave-output-tensor, no overrides), for dense `llama` text models and `clip` mmproj files.
// Pure functions of tensor names, shapes and types: the plan can be computed (and tested) for the
// real model shapes without any file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/ggml_type.h"

namespace smolvlm {

// The target types `smolvlm quantize` accepts (llama-quantize's names).
enum class QuantTarget { F16, Q8_0, Q4_0, Q4_K_M, Q5_K_M, Q6_K };

struct QuantTargetInfo {
  QuantTarget target;
  const char* name;     // "Q4_K_M"
  uint32_t file_type;   // llama_ftype, written to general.file_type
  GgmlType base;        // default tensor type of the mix
  bool mmproj_ok;       // accepted for `clip` (mmproj) files
};

const std::vector<QuantTargetInfo>& quant_targets();
const QuantTargetInfo& quant_target_info(QuantTarget t);
// Case-insensitive; nullopt for an unknown name.
std::optional<QuantTarget> parse_quant_target(std::string_view name);
// "F16, Q8_0, Q4_0, Q4_K_M, Q5_K_M, Q6_K" (all) or only those valid for mmproj files.
std::string quant_target_list(bool mmproj_only = false);

// One input tensor as the policy sees it.
struct QuantTensorIn {
  std::string name;
  std::vector<int64_t> ne;  // ggml order, ne[0] = row width
  GgmlType type = GgmlType::F32;
};

// What the model's hyper-parameters contribute to the choice.
struct QuantModelParams {
  std::string arch;  // "llama" or "clip"
  int n_layer = 0;   // <arch>.block_count (llama.cpp loads none for clip: 0)
  bool is_70b = false;  // llama with 80 layers and GQA (llama.cpp's LLM_TYPE_70B attn_v bump)
};

struct QuantPlanEntry {
  std::string name;
  std::vector<int64_t> ne;  // trailing 1-dims dropped, as llama-quantize writes them
  GgmlType from = GgmlType::F32;
  GgmlType to = GgmlType::F32;
  std::string reason;  // why `to` was chosen: "not quantized: 1-D", "use_more_bits layer", ...
  bool convert() const { return from != to; }
};

// Sorts tensor names the way llama.cpp's model loader orders its weights map (and so the order
// llama-quantize writes): by the layer number of a leading "blk.N." (names without one count as
// layer -1, so they come first and "v.blk.N." names sort purely by name), then by name.
bool llama_weight_order_less(const std::string& a, const std::string& b);

// ne with trailing 1-dims removed (ggml_n_dims), at least one dimension.
std::vector<int64_t> trim_dims(const std::vector<int64_t>& ne);

// The full plan, in llama-quantize's output order (`tensors` may come in any order). Throws
// Error naming the tensor, its row width and the type when llama.cpp has no fallback (e.g. a
// Q8_0 row not a multiple of 32), and for duplicate names.
std::vector<QuantPlanEntry> plan_quantization(const std::vector<QuantTensorIn>& tensors, QuantTarget target,
                                              const QuantModelParams& model);

}  // namespace smolvlm
