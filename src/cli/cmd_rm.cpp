// `smolvlm rm NAME...`: removes models from the Ollama store (and the blobs nothing else uses). With
// a server running, as `ollama rm`: the model is unloaded first (generate with keep_alive 0; a
// failure other than "not found" is a warning), then DELETE /api/delete.
#include <cctype>
#include <cstdio>

#include "cli/command.h"
#include "cli/server_autostart.h"
#include "store/model_store.h"

namespace smolvlm::cli {
namespace {

std::vector<std::string> names;

void remove_via(const ServerClient& server, const std::string& name) {
  try {
    server.post("/api/generate", {{"model", name}, {"keep_alive", 0}, {"stream", false}});
  } catch (const Error& e) {
    std::string msg = e.what();
    for (char& c : msg) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (msg.find("not found") == std::string::npos)
      std::fprintf(stderr, "Warning: unable to stop model '%s'\n", name.c_str());
  }
  server.del("/api/delete", {{"model", name}});
}

int run_rm() {
  const auto server = running_server();
  for (const auto& n : names) {
    if (server) {
      remove_via(*server, n);
    } else {
      ModelStore store(ModelStore::default_root());
      store.remove(n);
    }
    std::printf("deleted '%s'\n", n.c_str());
  }
  return 0;
}

const CommandRegistrar kRegistrar{Command{
    "rm",
    [](CLI::App& app) {
      CLI::App* sub = app.add_subcommand("rm", "Remove models from the Ollama model store");
      sub->add_option("names", names, "Model names")->required();
      sub->footer(std::string(kStoreCommandFooter) + "\nA running server unloads the model first, as `ollama rm`.");
      return sub;
    },
    [] { return run_rm(); },
    26,
    ""}};

}  // namespace
}  // namespace smolvlm::cli
