#include "runtime/offload.h"

#include <charconv>

#include "backend/vulkan/device.h"
#include "backend/vulkan/vulkan_backend.h"
#include "base/error.h"
#include "io/gguf.h"
#include "model/text/text_config.h"
#include "model/text/text_state.h"
#include "model/text/text_weights.h"

namespace smolvlm {

GpuChoice choose_gpu(const std::string& spec) {
  GpuChoice c;
  if (spec == "cpu" || spec == "CPU") {
    c.why_none = "--device cpu";
    return c;
  }
  std::string why;
  const std::vector<vk::DeviceInfo> list = vk::list_devices(&why);
  if (list.empty()) {
    if (!spec.empty()) fail("device '", spec, "': ", why.empty() ? "no Vulkan device" : why);
    c.why_none = why;
    return c;
  }
  const int index = spec.empty() ? vk::default_device(list) : vk::find_device(list, spec);
  if (index < 0) {
    c.why_none = "no discrete or integrated GPU (name a device with --device to use another)";
    return c;
  }
  try {
    c.device = vk::open_backend(index);
    c.free_bytes = vk::context_of(*c.device)->free_memory();
  } catch (const Error& e) {
    if (!spec.empty()) throw;
    c.device = nullptr;
    c.why_none = e.what();
  }
  return c;
}

backend::OffloadNeeds text_offload_needs(const GgufFile& file, const TextConfig& c, const LoadOptions& o) {
  const TextWeightSizes sizes = text_weight_sizes(file, c);
  backend::OffloadNeeds n;
  n.layers = sizes.layers;
  n.input = sizes.input;
  n.output = sizes.output;
  const int64_t ctx = text_context_size(c, {.n_ctx = o.n_ctx});
  const uint64_t seqs = static_cast<uint64_t>(std::max<int64_t>(1, o.n_seq));
  n.kv_per_layer = 2 * ggml_row_size(o.kv_type, c.kv_dim()) * static_cast<uint64_t>(ctx) * seqs;
  const int64_t rows = std::min(o.n_batch, ctx);
  const uint64_t act = static_cast<uint64_t>(rows * (2 * c.n_embd + 2 * c.q_dim() + 2 * c.kv_dim() + 2 * c.n_ff)) * 4;
  const uint64_t logits = static_cast<uint64_t>(TextActivations::kLogitRows * c.n_vocab) * 4;
  n.compute = act * seqs + logits + (16ull << 20);  // + staging and scratch
  return n;
}

int64_t parse_num_gpu(const std::string& v, const std::string& what) {
  if (v == "all" || v == "max") return kNumGpuAll;
  if (v == "auto") return backend::kNumGpuAuto;
  int64_t n = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n < -1)
    fail(what, ": '", v, "' is not a layer count (a number >= 0, -1 for automatic, or all)");
  return n;
}

}  // namespace smolvlm
