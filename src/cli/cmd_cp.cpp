// `smolvlm cp SRC DST`: copies a model under a new name (the manifest only; blobs are shared):
// POST /api/copy of a running server, else in this process.
#include <cstdio>

#include "cli/command.h"
#include "cli/server_autostart.h"
#include "store/model_store.h"

namespace smolvlm::cli {
namespace {

std::string src, dst;

int run_cp() {
  if (const auto server = running_server()) {
    server->post("/api/copy", {{"source", src}, {"destination", dst}});
  } else {
    ModelStore store(ModelStore::default_root());
    store.copy(src, dst);
  }
  std::printf("copied '%s' to '%s'\n", src.c_str(), dst.c_str());
  return 0;
}

const CommandRegistrar kRegistrar{Command{
    "cp",
    [](CLI::App& app) {
      CLI::App* sub = app.add_subcommand("cp", "Copy a model in the Ollama model store");
      sub->add_option("source", src, "Existing model name")->required();
      sub->add_option("destination", dst, "New model name")->required();
      sub->footer(kStoreCommandFooter);
      return sub;
    },
    [] { return run_cp(); },
    28,
    ""}};

}  // namespace
}  // namespace smolvlm::cli
