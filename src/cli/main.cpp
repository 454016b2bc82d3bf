// smolvlm — SmolVLM2 on your own machine. The only place that turns errors into exit codes.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "cli/command.h"

namespace smolvlm::cli {
std::vector<Command>& registry() {
  static std::vector<Command> commands;
  return commands;
}
}  // namespace smolvlm::cli

int main(int argc, char** argv) {
  using namespace smolvlm;
  CLI::App app{"smolvlm — run SmolVLM2 vision-language models locally (GGUF, Ollama-compatible)", "smolvlm"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "smolvlm 0.1.0");
  auto& cmds = cli::registry();
  std::stable_sort(cmds.begin(), cmds.end(), [](const auto& a, const auto& b) { return a.order < b.order; });
  std::vector<std::pair<CLI::App*, cli::Command*>> subs;
  std::map<std::string, CLI::App*> groups;
  for (auto& c : cmds) {
    CLI::App* parent = &app;
    if (!c.parent.empty()) {
      auto& g = groups[c.parent];
      if (g == nullptr) {
        g = app.add_subcommand(c.parent, c.parent == "dev" ? "Developer tools: inspection and test-data commands"
                                                           : c.parent);
        g->require_subcommand(1);
      }
      parent = g;
    }
    subs.emplace_back(c.setup(*parent), &c);
  }
  // llama.cpp's -ngl N (CLI11 takes single-dash names of one letter only)
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::string& a : args) {
    if (a == "-ngl") a = "--num-gpu";
    else if (a.rfind("-ngl=", 0) == 0) a = "--num-gpu=" + a.substr(5);
  }
  std::reverse(args.begin(), args.end());  // CLI11 takes the arguments last first
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const Error& e) {  // an option's own check (--num-gpu x)
    std::fprintf(stderr, "smolvlm: error: %s\n", e.what());
    return 1;
  }
  try {
    for (auto& [sub, cmd] : subs) {
      if (sub->parsed()) return cmd->run();
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "smolvlm: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "smolvlm: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
