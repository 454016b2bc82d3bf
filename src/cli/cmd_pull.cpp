// `smolvlm pull NAME`: fetches a model from the Hugging Face Hub into the Ollama store
// ($OLLAMA_MODELS or ~/.ollama/models), with `ollama pull`'s progress lines ("pulling manifest",
// one bar per file, "verifying sha256 digest", "writing manifest", "success"). NAME:
// hf.co/ORG/REPO[:QUANT] or smolvlm2:256m | 500m | 2.2b[-QUANT] (src/store/pull.h). With a server
// running, POST /api/pull (streamed) does the pull and its lines draw the same progress.
#include "cli/command.h"
#include "cli/pull_progress.h"
#include "cli/server_autostart.h"

namespace smolvlm::cli {
namespace {

struct PullArgs {
  std::string name;
  int parallel = 4;
};
PullArgs args;

int run_pull() {
  pull_with_progress(args.name, args.parallel);
  return 0;
}

const CommandRegistrar kRegistrar{Command{
    "pull",
    [](CLI::App& app) {
      CLI::App* sub = app.add_subcommand(
          "pull", "Pull a model from the Hugging Face Hub into the Ollama model store "
                  "(hf.co/ORG/REPO[:QUANT], smolvlm2:256m|500m|2.2b[-QUANT], HuggingFaceTB/REPO[:QUANT] converted); honours HF_ENDPOINT, HF_TOKEN, HF_HOME");
      sub->add_option("name", args.name, "Model name, e.g. smolvlm2:2.2b or hf.co/ggml-org/SmolVLM2-2.2B-Instruct-GGUF:Q8_0")
          ->required();
      sub->add_option("--parallel", args.parallel, "Parallel ranges for large files (default 4; a pull in this process)");
      sub->footer(std::string(kStoreCommandFooter) +
                  "\nThrough a server, the server downloads with its own environment (HF_ENDPOINT, HF_TOKEN, ...).");
      return sub;
    },
    [] { return run_pull(); },
    15,
    ""}};

}  // namespace
}  // namespace smolvlm::cli
