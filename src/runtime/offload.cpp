#include "runtime/offload.h"

#include <algorithm>
#include <charconv>
#include <vector>

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

namespace {

// The text model on the devices the plan names: the last plan.gpu_layers layers (and the output,
// the input) on the GPU.
TextPlacement placement(const backend::OffloadPlan& plan, const std::shared_ptr<backend::Device>& gpu, int64_t n_layer) {
  TextPlacement p;
  if (!gpu || plan.gpu_layers == 0) return p;
  p.keep = gpu;
  for (int64_t l = 0; l < n_layer; ++l) p.layers.push_back(l >= n_layer - plan.gpu_layers ? gpu.get() : &backend::cpu());
  if (plan.output) p.output = gpu.get();
  if (plan.input) p.input = gpu.get();
  return p;
}

// The bytes of every tensor of a file.
uint64_t tensor_bytes(const GgufFile& f) {
  uint64_t n = 0;
  for (const GgufTensorInfo& t : f.tensors()) n += f.tensor_data(t).size();
  return n;
}

// The projector on the GPU when planned (else, or when it does not fit there, on the CPU).
// `note`: for the log, when the projector runs on the CPU although a GPU is used.
std::unique_ptr<VisionModel> load_vision(const std::string& path, const backend::OffloadNeeds& needs,
                                         const GpuChoice& gpu, backend::OffloadPlan& plan, std::string& note) {
  if (!plan.projector) {
    if (gpu.device && plan.gpu_layers > 0) note = "; the projector on the CPU (it does not fit)";
    return std::make_unique<VisionModel>(GgufFile::open(path));
  }
  try {
    return std::make_unique<VisionModel>(GgufFile::open(path), *gpu.device, gpu.device);
  } catch (const backend::OutOfDeviceMemory& e) {
    plan.projector = false;
    plan.gpu_bytes -= std::min(plan.gpu_bytes, needs.projector);
    note = cat("; the projector on the CPU (", e.what(), ")");
    return std::make_unique<VisionModel>(GgufFile::open(path));
  }
}

// Binds the text model as planned; out of GPU memory while fitting automatically, plans again
// with one layer fewer on the GPU (down to none).
TextModel load_text(const std::string& path, const LoadOptions& o, const backend::OffloadNeeds& needs,
                    const GpuChoice& gpu, backend::OffloadPlan& plan) {
  GgufFile file = GgufFile::open(path);
  const int64_t n_layer = static_cast<int64_t>(needs.layers.size());
  for (;;) {
    try {
      TextModel m(std::move(file), placement(plan, gpu.device, n_layer));
      // the caches the plan counted must fit too: allocated once now (and freed), so that a
      // device short of memory shows at load, where fewer layers can be tried
      std::vector<TextState> caches;
      for (int64_t s = 0; s < std::max<int64_t>(1, o.n_seq) && plan.gpu_layers > 0; ++s)
        caches.push_back(m.new_state({.n_ctx = o.n_ctx, .kv_type = o.kv_type, .n_batch = o.n_batch}));
      return m;
    } catch (const backend::DeviceLost& e) {
      if (o.num_gpu != backend::kNumGpuAuto) throw;
      plan = backend::plan_offload(needs, 0, 0, "");
      plan.summary = cat("offload: none (", e.what(), "): everything on the CPU");
      return TextModel(GgufFile::open(path));
    } catch (const backend::OutOfDeviceMemory& e) {
      if (o.num_gpu != backend::kNumGpuAuto)
        fail(e.what(), ": ", plan.gpu_layers, " layers do not fit on the GPU; set a lower num_gpu (--num-gpu N, "
             "PARAMETER num_gpu N) or a smaller num_ctx, or num_gpu 0 for the CPU");
      if (plan.gpu_layers == 0) throw;
      const std::string why = e.what();
      const bool projector = plan.projector;
      plan = backend::plan_offload(needs, plan.gpu_layers - 1, gpu.free_bytes, gpu.device->name());
      plan.projector = projector;  // already bound
      if (plan.gpu_layers == 0 && !projector) {
        plan = backend::plan_offload(needs, 0, 0, "");
        plan.summary = cat("offload: none: not even one layer fits on ", gpu.device->name(), "; everything on the CPU");
      }
      plan.summary += cat(" (after: ", why, ")");
      file = GgufFile::open(path);
      if (plan.gpu_layers == 0) return TextModel(std::move(file));
    }
  }
}

}  // namespace

PlacedModels load_placed(const std::string& text_path, const std::string& mmproj_path, const LoadOptions& o) {
  PlacedModels m;
  backend::OffloadNeeds needs;
  {
    const GgufFile file = GgufFile::open(text_path);
    needs = text_offload_needs(file, read_text_config(file), o);
  }
  GpuChoice gpu;
  if (o.num_gpu != 0) gpu = choose_gpu(o.device);
  if (!mmproj_path.empty()) {
    const GgufFile f = GgufFile::open(mmproj_path);
    const VisionConfig vc = read_vision_config(f);
    needs.projector = tensor_bytes(f) + vision_pass_bytes(vc, default_tiles_per_pass(true), true);
  }
  if (!gpu.device) {
    m.plan = backend::plan_offload(needs, 0, 0, "");
    if (o.num_gpu != 0) m.plan.summary = cat("offload: none (", gpu.why_none, "): everything on the CPU");
  } else {
    m.plan = backend::plan_offload(needs, o.num_gpu, gpu.free_bytes, gpu.device->name());
  }
  std::string note;
  if (!mmproj_path.empty()) m.vision = load_vision(mmproj_path, needs, gpu, m.plan, note);  // first, as planned
  m.text.emplace(load_text(text_path, o, needs, gpu, m.plan));
  m.plan.summary += note;
  // (the first ask runs the tensor-core tiles' check on the device: at load, not in a request)
  if (gpu.device && (m.plan.gpu_layers > 0 || m.plan.projector) && vk::uses_tensor_cores(*gpu.device))
    m.plan.summary += "; prefill and vision matmuls on the tensor cores";
  return m;
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
