// The generation settings of `smolvlm run`: command-line flags first, then `/set parameter NAME
// VALUE` in the interactive chat. Names and defaults are Ollama's (ollama-contract.md §1.5).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "runtime/loaded_model.h"
#include "runtime/media_encoder.h"
#include "runtime/session.h"

namespace smolvlm::cli {

struct RunSettings {
  GenerateOptions generate;  // sampling, num_predict, stop
  MediaOptions media;        // max_tiles, video fps / frames
  std::string system;        // system message ("" = none)
  int threads = 0;           // 0: kernels::default_threads()
  int64_t num_ctx = 0;       // 0: min(trained context, 4096)
  std::string kv_type = "f16";
  int64_t num_gpu = -1;      // decoder layers on the GPU: -1 automatic, 0 none (Ollama's num_gpu)
  std::string device;        // --device / SMOLVLM_DEVICE: "" the default GPU, "cpu", an index or a name
  bool verbose = false;

  // `/set parameter name value`: Ollama's names (temperature, top_k, top_p, min_p, repeat_penalty,
  // repeat_last_n, presence_penalty, frequency_penalty, seed, num_predict, num_ctx, num_thread,
  // num_gpu, stop, max_tiles). "stop" adds one stop string per call. Throws Error for an unknown name or a bad value.
  void set_parameter(std::string_view name, std::string_view value);
  // `/show parameters`: one "name value" line per setting that differs from the defaults.
  std::string describe() const;
  // How to load the model for these settings (num_gpu, device, the context and cache type).
  LoadOptions load_options() const;
};

}  // namespace smolvlm::cli
