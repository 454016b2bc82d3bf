// Which files make a model for `smolvlm run` and friends: a text GGUF (+ an optional mmproj GGUF),
// or a folder holding them (as `smolvlm convert` writes it): its `llama` GGUF and its `clip` GGUF,
// told apart by general.architecture. A folder with several text GGUFs (the F16 conversion and
// its quantizations) gives the one of type `quant`, else its Q4_K_M, else its smallest quantized
// one, and says on stderr which it took.
#pragma once

#include <string>
#include <vector>

namespace smolvlm::cli {

struct ModelFiles {
  std::string text;
  std::string mmproj;  // "" when none
};

// Throws Error "file not found: PATH" for a path that does not exist (a leading ~ expanded), and
// names the folder and the candidates when the choice is missing.
ModelFiles resolve_model_files(const std::string& model, const std::string& mmproj, const std::string& quant = "");

// Paths in a chat line that name existing image / video files (starting with "/", "./", "../" or
// "~/"; a backslash escapes a space; quotes allowed), like `ollama run`: they are removed from
// the line and returned in order.
std::vector<std::string> take_media_paths(std::string& line);

}  // namespace smolvlm::cli
