// A model loaded once (weights memory-mapped, tokenizer built) and shared, read-only, by any number
// of sessions and threads: the text GGUF and, for images and videos, its vision projector (mmproj).
#pragma once

#include <memory>
#include <string>

#include "model/text/text_model.h"
#include "model/vision/vision_model.h"
#include "tokenizer/tokenizer.h"

namespace smolvlm {

class LoadedModel {
 public:
  // Opens and checks a llama text GGUF: hyper-parameters, weights bound for the active ISA, and
  // the tokenizer, whose size must equal the embedding rows; and the mmproj GGUF when given, whose
  // projection width must equal the text model's. Throws Error naming the file.
  static std::shared_ptr<const LoadedModel> load(const std::string& path, const std::string& mmproj_path = "");

  const std::string& path() const { return path_; }
  const TextModel& text() const { return text_; }
  const Tokenizer& tokenizer() const { return tokenizer_; }
  const VisionModel* vision() const { return vision_.get(); }  // null without a projector
  double load_seconds() const { return load_seconds_; }  // wall time of load()

  LoadedModel(std::string path, TextModel text, Tokenizer tokenizer, std::unique_ptr<VisionModel> vision,
              double load_seconds);

 private:
  std::string path_;
  TextModel text_;
  Tokenizer tokenizer_;
  std::unique_ptr<VisionModel> vision_;
  double load_seconds_ = 0;
};

}  // namespace smolvlm
