#include "cli/show_format.h"

#include <algorithm>
#include <utility>

#include "base/error.h"
#include "io/gguf.h"
#include "store/gguf_info.h"
#include "store/model_store.h"

namespace smolvlm::cli {
namespace {

using Rows = std::vector<std::pair<std::string, std::string>>;

std::string scalar(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

std::string section(const char* title, const Rows& rows) {
  if (rows.empty()) return "";
  std::string out = cat("  ", title, "\n");
  size_t w = 0;
  for (const auto& r : rows) w = std::max(w, r.first.size());
  for (const auto& [k, v] : rows) {
    if (v.empty()) out += cat("    ", k, "\n");
    else out += cat("    ", k, std::string(w - k.size(), ' '), "    ", v, "\n");
  }
  return out + "\n";
}

// The Model / Projector rows Ollama shows from a GGUF's key/values.
Rows gguf_rows(const nlohmann::json& info, const std::string& quant) {
  const std::string arch = info.value("general.architecture", "");
  Rows rows = {{"architecture", arch}};
  if (info.contains("general.parameter_count")) {
    rows.emplace_back("parameters", human_number(info["general.parameter_count"].get<uint64_t>()));
  }
  for (const auto& [key, label] : Rows{{arch + ".context_length", "context length"},
                                       {arch + ".embedding_length", "embedding length"},
                                       {arch + ".vision.embedding_length", "embedding length"}}) {
    if (info.contains(key)) rows.emplace_back(label, scalar(info[key]));
  }
  if (!quant.empty()) rows.emplace_back("quantization", quant);
  return rows;
}

// The Parameters rows from Ollama's text: "name<padded to 30> value" per line (stop once per value).
Rows parameter_rows(const std::string& text) {
  Rows rows;
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

}  // namespace

ShowView show_view_from_api(const nlohmann::json& j) {
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

ShowView show_view_from_store(const ShowInfo& s) {
  ShowView v;
  v.modelfile = s.modelfile;
  v.template_text = s.model.template_text;
  v.parameters = s.parameters;
  v.system = s.model.system;
  for (const auto& l : s.licenses) v.license += (v.license.empty() ? "" : "\n") + l;
  v.model_info = s.model_info;
  v.projector_info = s.projector_info;
  v.capabilities = s.capabilities;
  v.quantization = scalar(s.details["quantization_level"]);
  return v;
}

ShowView show_view_from_files(const GgufFile& text, const GgufFile* projector, std::string parameters,
                              std::string system) {
  ShowView v;
  v.model_info = gguf_model_info(text, false);
  v.quantization = gguf_file_type_name(text);
  v.capabilities = {"completion"};
  if (projector) {
    v.projector_info = gguf_model_info(*projector, false);
    v.capabilities.push_back("vision");
  }
  v.parameters = std::move(parameters);
  v.system = std::move(system);
  return v;
}

std::string format_show(const ShowView& s) {
  std::string out = section("Model", gguf_rows(s.model_info, s.quantization));
  if (!s.projector_info.is_null()) out += section("Projector", gguf_rows(s.projector_info, ""));
  Rows caps;
  for (const auto& c : s.capabilities) caps.emplace_back(c, "");
  out += section("Capabilities", caps);
  out += section("Parameters", parameter_rows(s.parameters));
  if (!s.system.empty()) out += section("System", {{s.system, ""}});
  if (!s.license.empty()) out += section("License", {{s.license.substr(0, s.license.find('\n')), ""}});
  return out;
}

}  // namespace smolvlm::cli
