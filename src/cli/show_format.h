// What `smolvlm show NAME` prints (Model / Projector / Capabilities / Parameters / System / License
// sections, as `ollama show`), and the same block for the chat's `/show info`: built from
// /api/show's answer, the store's ShowInfo, or a model loaded in this process.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace smolvlm {
class GgufFile;
struct ShowInfo;
}  // namespace smolvlm

namespace smolvlm::cli {

struct ShowView {
  std::string modelfile, template_text, parameters, system, license, quantization;
  nlohmann::json model_info = nlohmann::json::object(), projector_info;  // projector_info null: none
  std::vector<std::string> capabilities;
};

ShowView show_view_from_api(const nlohmann::json& show);  // POST /api/show's answer
ShowView show_view_from_store(const ShowInfo& s);
// A model loaded from files (no store entry): the GGUFs' own metadata; projector may be null.
ShowView show_view_from_files(const GgufFile& text, const GgufFile* projector, std::string parameters,
                              std::string system);

// The sections `ollama show` prints, each row "    key<pad>    value", a blank line after each.
std::string format_show(const ShowView& v);

}  // namespace smolvlm::cli
