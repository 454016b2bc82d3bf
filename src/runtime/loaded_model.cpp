#include "runtime/loaded_model.h"

#include <chrono>

#include "base/error.h"

namespace smolvlm {

TextModel open_text_model(const std::string& path, const LoadOptions& options, backend::OffloadPlan* plan) {
  PlacedModels m = load_placed(path, "", options);
  if (plan != nullptr) *plan = std::move(m.plan);
  return std::move(*m.text);
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
  if (vision_ && !vision_->device().is_cpu()) return vision_->device().name();
  return "CPU";
}

std::shared_ptr<const LoadedModel> LoadedModel::load(const std::string& path, const std::string& mmproj_path,
                                                     const LoadOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  PlacedModels placed = load_placed(path, mmproj_path, options);
  TextModel text = std::move(*placed.text);
  std::unique_ptr<VisionModel> vision = std::move(placed.vision);
  Tokenizer tokenizer = Tokenizer::from_gguf(text.file());
  if (tokenizer.n_vocab() != text.config().n_vocab)
    fail(path, ": the tokenizer has ", tokenizer.n_vocab(), " tokens but token_embd.weight has ", text.config().n_vocab,
         " rows");
  if (vision) {
    if (vision->config().projection_dim != text.config().n_embd)
      fail(mmproj_path, ": the projector makes ", vision->config().projection_dim, "-wide embeddings but ", path,
           " is ", text.config().n_embd, " wide: they are not parts of the same model");
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return std::make_shared<const LoadedModel>(path, std::move(text), std::move(tokenizer), std::move(vision), secs,
                                             std::move(placed.plan));
}

}  // namespace smolvlm
