// `smolvlm show NAME [--modelfile|--template|--parameters|--system|--license]`: a stored model's
// details as `ollama show` prints them, or one of its parts verbatim: POST /api/show of a running
// server, else the store read in this process (both print the same).
#include <cstdio>
#include <string>
#include <vector>

#include "base/error.h"
#include "cli/command.h"
#include "cli/server_autostart.h"
#include "io/gguf.h"
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

// What show prints, from /api/show's answer or the store's ShowInfo (the same fields).
struct ShowView {
  std::string modelfile, template_text, parameters, system, license, quantization;
  nlohmann::json model_info, projector_info;
  std::vector<std::string> capabilities;
};

ShowView from_server(const ServerClient& server) {
  const nlohmann::json j = server.post("/api/show", {{"model", args.name}, {"verbose", args.verbose}});
  ShowView v;
  v.modelfile = j.value("modelfile", "");
  v.template_text = j.value("template", "");
  v.parameters = j.value("parameters", "");
  v.system = j.value("system", "");
  v.license = j.value("license", "");
  v.model_info = j.value("model_info", nlohmann::json::object());
  v.projector_info = j.value("projector_info", nlohmann::json());
  v.capabilities = j.value("capabilities", std::vector<std::string>{});
  v.quantization = scalar(j.value("details", nlohmann::json::object()).value("quantization_level", nlohmann::json()));
  return v;
}

ShowView from_store() {
  const ModelStore store(ModelStore::default_root());
  const ShowInfo s = store.show(args.name, args.verbose);
  ShowView v;
  v.modelfile = s.modelfile;
  v.template_text = s.model.template_text;
  if (v.template_text.empty()) {  // the native path: the GGUF's chat template, as /api/show reports it
    const GgufFile text = GgufFile::open(s.model.text_path);
    if (const GgufValue* t = text.find("tokenizer.chat_template")) v.template_text = t->as_str();
  }
  v.parameters = s.parameters;
  v.system = s.model.system;
  for (const auto& l : s.licenses) v.license += (v.license.empty() ? "" : "\n") + l;
  v.model_info = s.model_info;
  v.projector_info = s.projector_info;
  v.capabilities = s.capabilities;
  v.quantization = scalar(s.details["quantization_level"]);
  return v;
}

// The Parameters rows from Ollama's text: "name<padded to 30> value" per line (stop once per value).
std::vector<std::pair<std::string, std::string>> parameter_rows(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> rows;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    const std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    const size_t sp = line.find(' ');
    if (line.empty() || sp == 0) continue;
    if (sp == std::string::npos) {
      rows.emplace_back(line, "");
      continue;
    }
    const size_t value = line.find_first_not_of(' ', sp);
    rows.emplace_back(line.substr(0, sp), value == std::string::npos ? "" : line.substr(value));
  }
  return rows;
}

int run_show() {
  const auto server = running_server();
  const ShowView s = server ? from_server(*server) : from_store();
  if (args.modelfile) return std::printf("%s", s.modelfile.c_str()), 0;
  if (args.template_text) return std::printf("%s\n", s.template_text.c_str()), 0;
  if (args.parameters) return std::printf("%s\n", s.parameters.c_str()), 0;
  if (args.system) return std::printf("%s\n", s.system.c_str()), 0;
  if (args.license) return std::printf("%s\n", s.license.c_str()), 0;

  section("Model", gguf_rows(s.model_info, s.quantization));
  if (!s.projector_info.is_null()) section("Projector", gguf_rows(s.projector_info, ""));
  std::vector<std::pair<std::string, std::string>> caps;
  for (const auto& c : s.capabilities) caps.emplace_back(c, "");
  section("Capabilities", caps);
  section("Parameters", parameter_rows(s.parameters));
  if (!s.system.empty()) section("System", {{s.system, ""}});
  if (!s.license.empty()) {
    const std::string first = s.license.substr(0, s.license.find('\n'));
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
      sub->footer(std::string(kStoreCommandFooter) +
                  "\n--template shows the TEMPLATE, else (the native path) the GGUF's chat template, as `ollama show`.");
      return sub;
    },
    [] { return run_show(); },
    24,
    ""}};

}  // namespace
}  // namespace smolvlm::cli
