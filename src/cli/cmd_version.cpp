// `smolvlm version`: one line, this program's version; a second one with the Ollama API version of
// the server at SMOLVLM_HOST / OLLAMA_HOST, only when one answers.
#include <cstdio>

#include "cli/command.h"
#include "cli/server_client.h"

namespace smolvlm::cli {
namespace {

constexpr const char* kClientVersion = "0.1.0";  // as main()'s --version

int run_version() {
  std::printf("smolvlm version %s\n", kClientVersion);
  const ServerClient client;
  if (!client.reachable()) return 0;
  try {
    const nlohmann::json j = client.get("/api/version");
    std::printf("server at %s: smolvlm %s, Ollama API version %s\n", client.url().c_str(),
                j.value("smolvlm_version", kClientVersion).c_str(), j.value("version", "unknown").c_str());
  } catch (const Error&) {
  }
  return 0;
}

const CommandRegistrar kRegistrar{Command{
    "version",
    [](CLI::App& app) { return app.add_subcommand("version", "Show the client version and the server's, if one runs"); },
    [] { return run_version(); },
    90,
    ""}};

}  // namespace
}  // namespace smolvlm::cli
