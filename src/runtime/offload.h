// Where a model runs: the GPU it may use (chosen like Ollama's default, or named by --device /
// SMOLVLM_DEVICE) and how much of it goes there (backend/offload_plan.h, from the GGUFs' tensor
// sizes, the context to plan for, and the device's free memory): the projector first, then the
// output layer and decoder layers from the last. No Vulkan loader, no device, or a device that
// cannot run smolvlm: the CPU, with the reason in the plan's summary, never an error.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "backend/backend.h"
#include "backend/offload_plan.h"
#include "io/ggml_type.h"
#include "model/text/text_model.h"
#include "model/vision/vision_model.h"

namespace smolvlm {

class GgufFile;
struct TextConfig;

struct LoadOptions {
  int64_t num_gpu = backend::kNumGpuAuto;  // decoder layers on the GPU: -1 fit automatically, 0 none
  std::string device;                      // "" the default GPU; "cpu"; an index or a name substring
  int64_t n_ctx = 0;                       // the context the KV caches are planned for (0: the model's default)
  int64_t n_seq = 1;                       // sequences (parallel slots) that will each hold a cache
  GgmlType kv_type = GgmlType::F16;
  int64_t n_batch = 512;
};

// The GPU a load may use: null (and why) for none. Throws Error only for a --device that names no
// usable device.
struct GpuChoice {
  std::shared_ptr<backend::Device> device;
  uint64_t free_bytes = 0;
  std::string why_none;
};
GpuChoice choose_gpu(const std::string& spec);

// What the text model's parts need (weights from the file's tensor table; KV caches and
// activations for the options).
backend::OffloadNeeds text_offload_needs(const GgufFile& file, const TextConfig& config, const LoadOptions& o);

// The models of a text GGUF (and its projector, when given) bound where the plan puts them. Out of
// GPU memory while fitting automatically: the projector goes to the CPU, the text model is bound
// again with one layer fewer on the GPU (down to none); with an explicit num_gpu: an Error saying
// what did not fit and what to do. A device lost while loading: the CPU.
struct PlacedModels {
  std::optional<TextModel> text;
  std::unique_ptr<VisionModel> vision;  // null without a projector
  backend::OffloadPlan plan;
};
PlacedModels load_placed(const std::string& text_path, const std::string& mmproj_path, const LoadOptions& o);

// "12" or "all" (= every layer and the output) or "-1"/"auto"; throws Error naming `what` otherwise.
int64_t parse_num_gpu(const std::string& value, const std::string& what);
constexpr int64_t kNumGpuAll = 1 << 30;

}  // namespace smolvlm
