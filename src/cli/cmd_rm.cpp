// `smolvlm rm NAME...`: removes models from the Ollama store (and the blobs nothing else uses).
#include <cstdio>

#include "cli/command.h"
#include "store/model_store.h"

namespace smolvlm::cli {
namespace {

std::vector<std::string> names;

int run_rm() {
  ModelStore store(ModelStore::default_root());
  for (const auto& n : names) {
    store.remove(n);
    std::printf("deleted '%s'\n", n.c_str());
  }
  return 0;
}

const CommandRegistrar kRegistrar{Command{
    "rm",
    [](CLI::App& app) {
      CLI::App* sub = app.add_subcommand("rm", "Remove models from the Ollama model store");
      sub->add_option("names", names, "Model names")->required();
      return sub;
    },
    [] { return run_rm(); },
    26,
    ""}};

}  // namespace
}  // namespace smolvlm::cli
