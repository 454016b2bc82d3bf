// The offload planner: how much of a model goes on the GPU, decided like Ollama from the memory
// each part needs and the device's budget. Host code only (numbers in, a plan out).
//
// num_gpu = N puts the last N decoder layers on the GPU, with their KV caches and the output layer
// (output norm + lm_head), so a pass crosses from the CPU to the GPU once; N >= n_layer (or
// "all") puts every layer there and the embedding lookup too. N = -1 (unset) fits as much as the
// budget allows: the projector first, then the output layer, then layers from the last one, then
// the embedding table; 0 keeps everything on the CPU.
#pragma once

#include "base/file_util.h"

#include <cstdint>
#include <string>
#include <vector>

namespace smolvlm::backend {

// The memory of a model's parts, in bytes.
struct OffloadNeeds {
  std::vector<uint64_t> layers;  // the weights of each decoder layer
  uint64_t input = 0;            // the embedding table
  uint64_t output = 0;           // output norm + lm_head
  uint64_t projector = 0;        // the vision projector (0: none)
  uint64_t kv_per_layer = 0;     // one layer's KV cache for every sequence at the planned context
  uint64_t compute = 0;          // the GPU's activations, logits and staging while any part is there
};

struct OffloadPlan {
  int64_t gpu_layers = 0;      // the last gpu_layers decoder layers run on the GPU
  bool input = false;          // the embedding lookup on the GPU
  bool output = false;         // the output layer on the GPU
  bool projector = false;      // the vision projector on the GPU
  uint64_t gpu_bytes = 0;      // what the GPU holds (Ollama's size_vram)
  uint64_t total_bytes = 0;    // the whole model with its caches (Ollama's size)
  bool fits = true;            // false: an explicit num_gpu asks for more than the budget
  std::string summary;         // one line for the log
};

constexpr int64_t kNumGpuAuto = -1;

// Headroom left free when fitting automatically: 5% of the budget plus 256 MiB (the driver, other
// programs, fragmentation).
uint64_t offload_headroom(uint64_t budget);

// `device` names the GPU for the summary; budget = its free memory.
OffloadPlan plan_offload(const OffloadNeeds& needs, int64_t num_gpu, uint64_t budget, const std::string& device);

// Ollama's PROCESSOR column from size and size_vram: "100% GPU", "100% CPU", or "48%/52% CPU/GPU"
// (the CPU's share rounded to a whole percent).
std::string processor_string(uint64_t size, uint64_t size_vram);

using ::smolvlm::human_bytes;  // base/file_util.h

}  // namespace smolvlm::backend
