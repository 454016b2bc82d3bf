// Where a model runs: the GPU it may use (chosen like Ollama's default, or named by --device /
// SMOLVLM_DEVICE) and how much of it goes there (backend/offload_plan.h, from the GGUF's tensor
// sizes, the context to plan for, and the device's free memory). No Vulkan loader, no device, or
// a device that cannot run smolvlm: the CPU, with the reason in the plan's summary, never an error.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "backend/backend.h"
#include "backend/offload_plan.h"
#include "io/ggml_type.h"

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

// "12" or "all" (= every layer and the output) or "-1"/"auto"; throws Error naming `what` otherwise.
int64_t parse_num_gpu(const std::string& value, const std::string& what);
constexpr int64_t kNumGpuAll = 1 << 30;

}  // namespace smolvlm
