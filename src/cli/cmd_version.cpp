// `smolvlm version`: this program's version and, when a server answers at SMOLVLM_HOST /
// OLLAMA_HOST, the Ollama API version it serves (`ollama -v`'s lines; no server is a warning only).
#include <cstdio>

#include "cli/command.h"
#include "cli/server_client.h"

namespace smolvlm::cli {
namespace {

constexpr const char* kClientVersion = "0.1.0";  // as main()'s --version

int run_version() {
  std::printf("smolvlm client version is %s\n", kClientVersion);
  const ServerClient client;
  try {
    const nlohmann::json j = client.get("/api/version");
    std::printf("smolvlm server version is %s (Ollama API, at %s)\n", j.value("version", "unknown").c_str(),
                client.url().c_str());
  } catch (const Error&) {
    std::fprintf(stderr, "Warning: could not connect to a running smolvlm server at %s\n", client.url().c_str());
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
