// `smolvlm show NAME [--modelfile|--template|--parameters|--system|--license]`: a stored model's
// details as `ollama show` prints them, or one of its parts verbatim.
#include <cstdio>
#include <string>
#include <vector>

#include "base/error.h"
#include "cli/command.h"
#include "store/gguf_info.h"
#include "store/model_store.h"

namespace smolvlm::cli {
namespace {

struct ShowArgs {
  std::string name;
  bool modelfile = false, template_text = false, parameters = false, system = false, license = false;
  bool verbose = false;
};
ShowArgs args;

std::string scalar(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

void section(const char* title, const std::vector<std::pair<std::string, std::string>>& rows) {
  if (rows.empty()) return;
  std::printf("  %s\n", title);
  size_t w = 0;
  for (const auto& r : rows) w = std::max(w, r.first.size());
  for (const auto& [k, v] : rows) {
    if (v.empty()) std::printf("    %s\n", k.c_str());
    else std::printf("    %-*s    %s\n", static_cast<int>(w), k.c_str(), v.c_str());
  }
  std::printf("\n");
}

// The Model / Projector rows Ollama shows from a GGUF's key/values.
std::vector<std::pair<std::string, std::string>> gguf_rows(const nlohmann::json& info, const std::string& quant) {
  const std::string arch = info.value("general.architecture", "");
  std::vector<std::pair<std::string, std::string>> rows = {{"architecture", arch}};
  if (info.contains("general.parameter_count")) {
    rows.emplace_back("parameters", human_number(info["general.parameter_count"].get<uint64_t>()));
  }
  for (const auto& [key, label] : std::vector<std::pair<std::string, std::string>>{
           {arch + ".context_length", "context length"}, {arch + ".embedding_length", "embedding length"},
           {arch + ".vision.embedding_length", "embedding length"}}) {
    if (info.contains(key)) rows.emplace_back(label, scalar(info[key]));
  }
  if (!quant.empty()) rows.emplace_back("quantization", quant);
  return rows;
}

int run_show() {
  const ModelStore store(ModelStore::default_root());
  const ShowInfo s = store.show(args.name, args.verbose);
  std::string lic;
  for (const auto& l : s.licenses) {
    if (!lic.empty()) lic += '\n';
    lic += l;
  }
  if (args.modelfile) return std::printf("%s", s.modelfile.c_str()), 0;
  if (args.template_text) return std::printf("%s\n", s.model.template_text.c_str()), 0;
  if (args.parameters) return std::printf("%s\n", s.parameters.c_str()), 0;
  if (args.system) return std::printf("%s\n", s.model.system.c_str()), 0;
  if (args.license) return std::printf("%s\n", lic.c_str()), 0;

  section("Model", gguf_rows(s.model_info, scalar(s.details["quantization_level"])));
  if (!s.projector_info.is_null()) section("Projector", gguf_rows(s.projector_info, ""));
  std::vector<std::pair<std::string, std::string>> caps;
  for (const auto& c : s.capabilities) caps.emplace_back(c, "");
  section("Capabilities", caps);
  std::vector<std::pair<std::string, std::string>> params;
  for (const auto& [k, v] : s.model.params.items()) {
    if (v.is_array()) {
      for (const auto& e : v) params.emplace_back(k, e.dump());
    } else {
      params.emplace_back(k, v.dump());
    }
  }
  section("Parameters", params);
  if (!s.model.system.empty()) section("System", {{s.model.system, ""}});
  if (!lic.empty()) {
    const std::string first = lic.substr(0, lic.find('\n'));
    section("License", {{first, ""}});
  }
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
      return sub;
    },
    [] { return run_show(); },
    24,
    ""}};

}  // namespace
}  // namespace smolvlm::cli
