// A model loaded once (weights memory-mapped, tokenizer built) and shared, read-only, by any number
// of sessions and threads: the text GGUF and, for images and videos, its vision projector (mmproj).
#pragma once

#include <memory>
#include <string>

#include "backend/offload_plan.h"
#include "model/text/text_model.h"
#include "model/vision/vision_model.h"
#include "runtime/offload.h"
#include "tokenizer/tokenizer.h"

namespace smolvlm {

// The text model of `path` on the devices the offload plan for `options` names (what load() does
// for its text half): for tools that need no tokenizer (bench, dev logits). `plan` gets the plan.
TextModel open_text_model(const std::string& path, const LoadOptions& options, backend::OffloadPlan* plan = nullptr);

class LoadedModel {
 public:
  // Opens and checks a llama text GGUF: hyper-parameters, weights bound on their devices (the
  // offload plan for `options`; CPU weights for the active ISA), and the tokenizer, whose size must
  // equal the embedding rows; and the mmproj GGUF when given, whose projection width must equal
  // the text model's. When the GPU runs out of memory while fitting automatically, the model loads
  // again with fewer layers there. Throws Error naming the file (for a GPU: what did not fit and
  // what to do).
  static std::shared_ptr<const LoadedModel> load(const std::string& path, const std::string& mmproj_path = "",
                                                 const LoadOptions& options = {});

  const std::string& path() const { return path_; }
  const TextModel& text() const { return text_; }
  const Tokenizer& tokenizer() const { return tokenizer_; }
  const VisionModel* vision() const { return vision_.get(); }  // null without a projector
  double load_seconds() const { return load_seconds_; }  // wall time of load()
  // Where it runs: the plan (gpu_bytes / total_bytes are Ollama's size_vram / size) and the GPU.
  const backend::OffloadPlan& offload() const { return offload_; }
  std::string device_name() const;  // "CPU", or the GPU's name

  LoadedModel(std::string path, TextModel text, Tokenizer tokenizer, std::unique_ptr<VisionModel> vision,
              double load_seconds, backend::OffloadPlan offload = {});

 private:
  std::string path_;
  TextModel text_;
  Tokenizer tokenizer_;
  std::unique_ptr<VisionModel> vision_;
  double load_seconds_ = 0;
  backend::OffloadPlan offload_;
};

}  // namespace smolvlm
