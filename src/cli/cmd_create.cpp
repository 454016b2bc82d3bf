// `smolvlm create NAME [-f Modelfile]`: builds a model in the Ollama store ($OLLAMA_MODELS or
// ~/.ollama/models) from a Modelfile, as `ollama create` does (without -f: ./Modelfile, else FROM .);
// -q TYPE quantizes the model layer as `ollama create -q` does.
#include <cstdio>
#include <filesystem>

#include "base/error.h"
#include "base/file_util.h"
#include "cli/command.h"
#include "cli/model_conversion.h"
#include "store/create.h"
#include "store/modelfile.h"

namespace smolvlm::cli {
namespace {

struct CreateArgs {
  std::string name;
  std::string file;
  std::string quantize;
};
CreateArgs args;

int run_create() {
  namespace fs = std::filesystem;
  std::string path = args.file;
  std::string text;
  if (path.empty() && fs::exists("Modelfile")) path = "Modelfile";
  if (path.empty()) {
    text = "FROM .\n";
    path = "Modelfile";
  } else {
    text = read_file(path);
  }
  const Modelfile mf = parse_modelfile(text, path);
  for (const auto& w : mf.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  ModelStore store(ModelStore::default_root());
  const auto progress = [](const std::string& s) { std::fprintf(stderr, "%s\n", s.c_str()); };
  const std::string dir = fs::absolute(path).parent_path().string();
  CreateRequest req = create_request_from_modelfile(store, args.name, mf, dir, progress);
  req.quantize = args.quantize;
  create_model(store, req, progress, quantize_gguf);
  return 0;
}

const CommandRegistrar kRegistrar{Command{
    "create",
    [](CLI::App& app) {
      CLI::App* sub = app.add_subcommand("create", "Create a model in the Ollama model store from a Modelfile");
      sub->add_option("name", args.name, "Model name, e.g. smolvlm2:256m")->required();
      sub->add_option("-f,--file", args.file, "Modelfile (default: ./Modelfile, else FROM .)");
      sub->add_option("-q,--quantize", args.quantize,
                      "Quantize the model layer (F16 / BF16 / F32 sources) to this type, e.g. q4_K_M, q5_K_M, q8_0");
      return sub;
    },
    [] { return run_create(); },
    20,
    ""}};

}  // namespace
}  // namespace smolvlm::cli
