// smolvlm — SmolVLM2 on your own machine. The only place that turns errors into exit codes.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "cli/command.h"
#include "cli/suggest.h"

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
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {  // as `ollama`: the help
    std::printf("%s", app.help().c_str());
    return 0;
  }
  // A first word that is no command: say so, with the nearest one
  if (!args[0].empty() && args[0][0] != '-') {
    std::vector<std::string> names;
    for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
    if (std::find(names.begin(), names.end(), args[0]) == names.end()) {
      const std::string near = cli::nearest_word(args[0], names);
      std::fprintf(stderr, "smolvlm: error: unknown command '%s'%s (smolvlm --help lists the commands)\n",
                   args[0].c_str(), near.empty() ? "" : cat("; did you mean '", near, "'?").c_str());
      return 1;
    }
  }
  // llama.cpp's -ngl N (CLI11 takes single-dash names of one letter only)
  for (std::string& a : args) {
    if (a == "-ngl") a = "--num-gpu";
    else if (a.rfind("-ngl=", 0) == 0) a = "--num-gpu=" + a.substr(5);
  }
  std::reverse(args.begin(), args.end());  // CLI11 takes the arguments last first
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {  // a bad option or value: one error line, exit status 1
    std::fprintf(stderr, "smolvlm: error: %s (--help shows the options)\n", e.what());
    return 1;
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
