#include "runtime/loaded_model.h"

#include <chrono>

#include "base/error.h"

namespace smolvlm {

LoadedModel::LoadedModel(std::string path, TextModel text, Tokenizer tokenizer, std::unique_ptr<VisionModel> vision,
                         double load_seconds)
    : path_(std::move(path)),
      text_(std::move(text)),
      tokenizer_(std::move(tokenizer)),
      vision_(std::move(vision)),
      load_seconds_(load_seconds) {}

std::shared_ptr<const LoadedModel> LoadedModel::load(const std::string& path, const std::string& mmproj_path) {
  const auto t0 = std::chrono::steady_clock::now();
  TextModel text = TextModel::open(path);
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
  return std::make_shared<const LoadedModel>(path, std::move(text), std::move(tokenizer), std::move(vision), secs);
}

}  // namespace smolvlm
