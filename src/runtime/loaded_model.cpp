#include "runtime/loaded_model.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "base/error.h"

namespace smolvlm {

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

// Binds the text model as planned; out of GPU memory while fitting automatically, plans again
// with one layer fewer on the GPU (down to none).
TextModel load_text(const std::string& path, const LoadOptions& o, backend::OffloadPlan& plan) {
  GgufFile file = GgufFile::open(path);
  const TextConfig config = read_text_config(file);
  GpuChoice gpu;
  if (o.num_gpu != 0) gpu = choose_gpu(o.device);
  const backend::OffloadNeeds needs = text_offload_needs(file, config, o);
  if (!gpu.device) {
    plan = backend::plan_offload(needs, 0, 0, "");
    if (o.num_gpu != 0) plan.summary = cat("offload: none (", gpu.why_none, "): everything on the CPU");
    return TextModel(std::move(file));
  }
  plan = backend::plan_offload(needs, o.num_gpu, gpu.free_bytes, gpu.device->name());
  for (;;) {
    try {
      TextModel m(std::move(file), placement(plan, gpu.device, config.n_layer));
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
      plan = backend::plan_offload(needs, plan.gpu_layers - 1, gpu.free_bytes, gpu.device->name());
      if (plan.gpu_layers == 0) {
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

TextModel open_text_model(const std::string& path, const LoadOptions& options, backend::OffloadPlan* plan) {
  backend::OffloadPlan p;
  TextModel m = load_text(path, options, p);
  if (plan != nullptr) *plan = std::move(p);
  return m;
}

LoadedModel::LoadedModel(std::string path, TextModel text, Tokenizer tokenizer, std::unique_ptr<VisionModel> vision,
                         double load_seconds, backend::OffloadPlan offload)
    : path_(std::move(path)),
      text_(std::move(text)),
      tokenizer_(std::move(tokenizer)),
      vision_(std::move(vision)),
      load_seconds_(load_seconds),
      offload_(std::move(offload)) {}

std::string LoadedModel::device_name() const {
  for (backend::Device* d : text_.placement().devices())
    if (!d->is_cpu()) return d->name();
  return "CPU";
}

std::shared_ptr<const LoadedModel> LoadedModel::load(const std::string& path, const std::string& mmproj_path,
                                                     const LoadOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  backend::OffloadPlan plan;
  TextModel text = load_text(path, options, plan);
  Tokenizer tokenizer = Tokenizer::from_gguf(text.file());
  if (tokenizer.n_vocab() != text.config().n_vocab)
    fail(path, ": the tokenizer has ", tokenizer.n_vocab(), " tokens but token_embd.weight has ", text.config().n_vocab,
         " rows");
  std::unique_ptr<VisionModel> vision;
  if (!mmproj_path.empty()) {
    vision = std::make_unique<VisionModel>(GgufFile::open(mmproj_path));
    if (vision->config().projection_dim != text.config().n_embd)
      fail(mmproj_path, ": the projector makes ", vision->config().projection_dim, "-wide embeddings but ", path,
           " is ", text.config().n_embd, " wide: they are not parts of the same model");
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return std::make_shared<const LoadedModel>(path, std::move(text), std::move(tokenizer), std::move(vision), secs,
                                             std::move(plan));
}

}  // namespace smolvlm
