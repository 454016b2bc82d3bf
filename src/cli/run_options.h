// The generation and media flags `run` and `batch` share (Ollama's option names and defaults, see
// run_settings.h), and a stored model's PARAMETER / SYSTEM values applied under them.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/run_settings.h"
#include "store/model_store.h"

namespace smolvlm::cli {

// --max-tiles --no-split --video-fps --video-max-frames
void add_media_options(CLI::App* sub, RunSettings& s);
// --num-gpu (-ngl) N|all and --device (default $SMOLVLM_DEVICE)
// cpu_default: the command's num_gpu defaults to 0 (says so in --help).
void add_device_options(CLI::App* sub, int64_t& num_gpu, std::string& device, bool cpu_default = false);
// --exact: every float sum in ggml's order from here on (this process and the children it starts:
// SMOLVLM_EXACT=1), bit-identical to llama.cpp's CPU build; the default is the fastest order.
void add_exact_flag(CLI::App* sub);
// --temperature --top-k --top-p --min-p --repeat-penalty --repeat-last-n --presence-penalty
// --frequency-penalty --seed -n/--num-predict --stop --system --threads/-t --ctx/-c --kv-type --format
// and the device options
void add_generation_options(CLI::App* sub, RunSettings& s);

// The model's PARAMETERs and SYSTEM, except where the command line (`sub`) set the same thing.
void apply_model_settings(const ResolvedModel& m, const CLI::App& sub, RunSettings& s);

}  // namespace smolvlm::cli
