// Small whole-file helpers shared by the layers above.
#pragma once

#include <string>

namespace smolvlm {

// The whole file as bytes. Throws Error "<path>: cannot read the file: <reason>".
std::string read_file(const std::string& path);

// "~" and "~/…" with $HOME in front; other paths as they are.
std::string expand_home(const std::string& path);

}  // namespace smolvlm
