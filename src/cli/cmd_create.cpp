// `smolvlm create NAME [-f Modelfile]`: builds a model in the Ollama store ($OLLAMA_MODELS or
// ~/.ollama/models) from a Modelfile, as `ollama create` does (without -f: ./Modelfile, else FROM .);
// -q TYPE quantizes the model layer as `ollama create -q` does. With a server running, over its API
// (blobs, then /api/create), as `ollama create` does.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "base/error.h"
#include "base/file_util.h"
#include "cli/command.h"
#include "cli/model_conversion.h"
#include "cli/server_autostart.h"
#include "io/gguf.h"
#include "store/blobs.h"
#include "store/names.h"
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

// Ollama's relative file names: the base name for one file, else each path relative to the
// folder all of them are in, with '/' separators.
std::vector<std::string> relative_names(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  std::vector<std::string> names;
  if (paths.size() == 1) return {fs::path(paths[0]).filename().string()};
  fs::path common = fs::path(paths.empty() ? "" : paths[0]).parent_path();
  for (const auto& p : paths) {
    const fs::path dir = fs::path(p).parent_path();
    fs::path shared;
    for (auto a = common.begin(), b = dir.begin(); a != common.end() && b != dir.end() && *a == *b; ++a, ++b)
      shared /= *a;
    common = shared;
  }
  for (const auto& p : paths) names.push_back(fs::path(p).lexically_relative(common).generic_string());
  return names;
}

// Ollama's create over the API (reference/ollama-contract.md §8): the Modelfile's files are hashed
// and uploaded as blobs (skipped when HEAD finds them), then POST /api/create names them by digest.
// The lines printed are the in-process ones: "copying file <path>", then the server's statuses.
void create_via(const ServerClient& server, const Modelfile& mf, const std::string& base_dir) {
  namespace fs = std::filesystem;
  if (!ModelName::try_parse(args.name)) fail("invalid model name '", args.name, "'");
  nlohmann::json files = nlohmann::json::object();
  const ModelfileSources src = modelfile_sources(mf, base_dir);  // checked as in-process
  for (const std::string& d : src.digests) files["sha256-" + d.substr(7) + ".gguf"] = d;
  const std::string& from = src.from;
  const std::vector<std::string>& paths = src.paths;
  const std::vector<std::string> names = relative_names(paths);
  for (size_t i = 0; i < paths.size(); ++i) {
    std::fprintf(stderr, "copying file %s\n", paths[i].c_str());
    const std::string digest = BlobStore::file_digest(paths[i]);
    const std::string route = "/api/blobs/" + digest;
    if (server.head(route) != 200) server.post_file(route, paths[i]);
    files[names[i]] = digest;
  }
  nlohmann::json req = {{"model", args.name}, {"stream", true}};
  if (!files.empty()) req["files"] = files;
  if (!from.empty()) req["from"] = from;
  if (mf.template_text) req["template"] = *mf.template_text;
  if (mf.system) req["system"] = *mf.system;
  if (!mf.licenses.empty()) req["license"] = mf.licenses;
  if (!mf.parameters.empty()) req["parameters"] = mf.parameters;
  if (!mf.messages.empty()) req["messages"] = mf.messages;
  if (mf.renderer) req["renderer"] = *mf.renderer;
  if (mf.parser) req["parser"] = *mf.parser;
  if (mf.requires_version) req["requires"] = *mf.requires_version;
  if (!args.quantize.empty()) req["quantize"] = args.quantize;
  std::string last;
  server.post_stream("/api/create", req, [&](const nlohmann::json& j) {
    const std::string status = j.value("status", "");
    if (!status.empty() && status != last) std::fprintf(stderr, "%s\n", status.c_str());
    last = status;
    return true;
  });
}

int run_create() {
  namespace fs = std::filesystem;
  if (!args.quantize.empty()) check_quant_type(args.quantize);  // before anything is copied or uploaded
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
  const std::string dir = fs::absolute(path).parent_path().string();
  if (const auto server = running_server()) {
    create_via(*server, mf, dir);
    return 0;
  }
  ModelStore store(ModelStore::default_root());
  const auto progress = [](const std::string& s) { std::fprintf(stderr, "%s\n", s.c_str()); };
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
      sub->footer(std::string(kStoreCommandFooter) +
                  "\nThrough a server, as `ollama create`: each file is uploaded as a blob (POST /api/blobs, skipped\n"
                  "when the server has it), then POST /api/create names them by digest.");
      return sub;
    },
    [] { return run_create(); },
    20,
    ""}};

}  // namespace
}  // namespace smolvlm::cli
