// Standard base64 (RFC 4648, with padding): images and videos in Ollama API requests.
#pragma once

#include <string>
#include <string_view>

namespace smolvlm {

std::string base64_encode(std::string_view bytes);

}  // namespace smolvlm
