// Which server the store commands talk to, and starting one in the background for `run NAME`.
//
// `list`, `show`, `cp`, `rm`, `create` and `pull` go through a `smolvlm serve` that answers at
// SMOLVLM_HOST / OLLAMA_HOST (so a server's loaded models stay right: `rm` unloads first), and work
// on the store in this process when none answers: they never start a daemon. `run NAME` (a stored
// model) starts one in the background when none answers, because a server keeps the model loaded
// for the next `run` — see docs/SERVER.md "CLI and the server".
#pragma once

#include <optional>
#include <string>

#include "cli/server_client.h"

namespace smolvlm::cli {

// The --help footer of list / show / cp / rm / create / pull.
inline constexpr const char* kStoreCommandFooter =
    "Goes through the `smolvlm serve` at SMOLVLM_HOST / OLLAMA_HOST when one answers (as `ollama` does:\n"
    "the server's view stays right), else works on the store ($OLLAMA_MODELS or ~/.ollama/models) in\n"
    "this process. It never starts a server (only `smolvlm run NAME` does).";

// A client for the server at SMOLVLM_HOST / OLLAMA_HOST when one answers, else nullopt.
std::optional<ServerClient> running_server();

// SMOLVLM_NO_AUTOSTART set to anything but "" / "0" / "false": never start a server.
bool autostart_disabled();

// Where a background server writes its output: <store root>/../logs/server.log (with the default
// store, ~/.ollama/logs/server.log, as Ollama's).
std::string server_log_path();

// Starts `smolvlm serve --host <client's address>` in the background (its own session, stdin from
// /dev/null, stdout and stderr appended to server_log_path(), whose first line for this start names
// its pid) and waits up to `wait_ms` for it to answer GET /api/version. Only for an http address on
// this machine (loopback, or a wildcard bind reached on loopback: the started server then binds
// loopback only). Returns true when a server answers (says so in one line on stderr); false, with a
// one-line note on stderr, when it is disabled, the address is not local, or the server did not
// come up (it is then stopped).
bool start_background_server(const ServerClient& client, int wait_ms = 10000);

}  // namespace smolvlm::cli
