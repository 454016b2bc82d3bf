// Sub-command registry. Each src/cli/cmd_*.cpp defines one static `CommandRegistrar` that adds its
// sub-command to the CLI11 app; main() builds the app from the registry. Commands throw
// smolvlm::Error (or CLI11 errors) and never exit themselves.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace smolvlm::cli {

struct Command {
  std::string name;
  // Adds the sub-command to `app` and returns it; `run` is called when it was chosen.
  std::function<CLI::App*(CLI::App& app)> setup;
  std::function<int()> run;
  int order = 100;  // position in --help
  // Non-empty: the command is a child of this group (e.g. "dev" for `smolvlm dev random-checkpoint`);
  // main() creates the group once and passes it to setup() as `app`.
  std::string parent;
};

std::vector<Command>& registry();

struct CommandRegistrar {
  explicit CommandRegistrar(Command c) { registry().push_back(std::move(c)); }
};

}  // namespace smolvlm::cli
