// `smolvlm show NAME [--modelfile|--template|--parameters|--system|--license]`: a stored model's
// details as `ollama show` prints them, or one of its parts verbatim: POST /api/show of a running
// server, else the store read in this process (both print the same).
#include <cstdio>
#include <string>
#include <vector>

#include "base/error.h"
#include "cli/command.h"
#include "cli/server_autostart.h"
#include "cli/show_format.h"
#include "io/gguf.h"
#include "store/model_store.h"

namespace smolvlm::cli {
namespace {

struct ShowArgs {
  std::string name;
  bool modelfile = false, template_text = false, parameters = false, system = false, license = false;
  bool verbose = false;
};
ShowArgs args;

ShowView from_store() {
  const ModelStore store(ModelStore::default_root());
  const ShowInfo info = store.show(args.name, args.verbose);
  ShowView v = show_view_from_store(info);
  if (v.template_text.empty()) {  // the native path: the GGUF's chat template, as /api/show reports it
    const GgufFile text = GgufFile::open(info.model.text_path);
    if (const GgufValue* t = text.find("tokenizer.chat_template")) v.template_text = t->as_str();
  }
  return v;
}

int run_show() {
  const auto server = running_server();
  const ShowView s = server ? show_view_from_api(server->post("/api/show", {{"model", args.name}, {"verbose", args.verbose}}))
                            : from_store();
  if (args.modelfile) return std::printf("%s", s.modelfile.c_str()), 0;
  if (args.template_text) return std::printf("%s\n", s.template_text.c_str()), 0;
  if (args.parameters) return std::printf("%s\n", s.parameters.c_str()), 0;
  if (args.system) return std::printf("%s\n", s.system.c_str()), 0;
  if (args.license) return std::printf("%s\n", s.license.c_str()), 0;
  std::fputs(format_show(s).c_str(), stdout);
  return 0;
}

const CommandRegistrar kRegistrar{Command{
    "show",
    [](CLI::App& app) {
      CLI::App* sub = app.add_subcommand("show", "Show information about a model in the Ollama model store");
      sub->add_option("name", args.name, "Model name")->required();
      sub->add_flag("--modelfile", args.modelfile, "Show the Modelfile of the model");
      sub->add_flag("--template", args.template_text, "Show the template of the model");
      sub->add_flag("--parameters", args.parameters, "Show the parameters of the model");
      sub->add_flag("--system", args.system, "Show the system message of the model");
      sub->add_flag("--license", args.license, "Show the license of the model");
      sub->add_flag("-v,--verbose", args.verbose, "Show every metadata value (arrays in full)");
      sub->footer(std::string(kStoreCommandFooter) +
                  "\n--template shows the TEMPLATE, else (the native path) the GGUF's chat template, as `ollama show`.");
      return sub;
    },
    [] { return run_show(); },
    24,
    ""}};

}  // namespace
}  // namespace smolvlm::cli
