#include "runtime/loaded_model.h"

#include <chrono>

#include "base/error.h"

namespace smolvlm {

LoadedModel::LoadedModel(std::string path, TextModel text, Tokenizer tokenizer, double load_seconds)
    : path_(std::move(path)), text_(std::move(text)), tokenizer_(std::move(tokenizer)), load_seconds_(load_seconds) {}

std::shared_ptr<const LoadedModel> LoadedModel::load(const std::string& path) {
  const auto t0 = std::chrono::steady_clock::now();
  TextModel text = TextModel::open(path);
  Tokenizer tokenizer = Tokenizer::from_gguf(text.file());
  if (tokenizer.n_vocab() != text.config().n_vocab)
    fail(path, ": the tokenizer has ", tokenizer.n_vocab(), " tokens but token_embd.weight has ", text.config().n_vocab,
         " rows");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return std::make_shared<const LoadedModel>(path, std::move(text), std::move(tokenizer), secs);
}

}  // namespace smolvlm
