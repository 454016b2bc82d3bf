// `smolvlm stop NAME`: unloads a model from a running server, as `ollama stop` does (POST
// /api/generate with keep_alive 0 and no prompt).
#include <string>

#include "cli/command.h"
#include "cli/server_client.h"

namespace smolvlm::cli {
namespace {

std::string g_name;

int run_stop() {
  try {
    ServerClient().post("/api/generate", {{"model", g_name}, {"keep_alive", 0}, {"stream", false}});
  } catch (const ServerError& e) {
    if (std::string(e.what()).find("not found") != std::string::npos)
      fail("couldn't find model \"", g_name, "\" to stop");
    throw;
  }
  return 0;
}

const CommandRegistrar kRegistrar{Command{
    "stop",
    [](CLI::App& app) {
      CLI::App* sub = app.add_subcommand("stop", "Stop a running model (unload it from the server)");
      sub->add_option("name", g_name, "Model name, as `smolvlm ps` shows it")->required();
      return sub;
    },
    [] { return run_stop(); },
    26,
    ""}};

}  // namespace
}  // namespace smolvlm::cli
