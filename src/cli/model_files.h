// Which files make a model for `smolvlm run` and friends: a text GGUF (+ an optional mmproj GGUF),
// or a folder holding them (as `smolvlm convert` writes it): its one `llama` GGUF and its one
// `clip` GGUF, told apart by general.architecture.
#pragma once

#include <string>
#include <vector>

namespace smolvlm::cli {

struct ModelFiles {
  std::string text;
  std::string mmproj;  // "" when none
};

// Throws Error naming the folder and the candidates when the choice is ambiguous or missing.
ModelFiles resolve_model_files(const std::string& model, const std::string& mmproj);

// Paths in a chat line that name existing image / video files (starting with "/", "./", "../" or
// "~/"; a backslash escapes a space; quotes allowed), like `ollama run`: they are removed from
// the line and returned in order.
std::vector<std::string> take_media_paths(std::string& line);

}  // namespace smolvlm::cli
