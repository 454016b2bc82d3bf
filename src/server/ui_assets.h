// The chat page's files (src/server/ui/*), embedded at build time by cmake/embed_assets.cmake.
#pragma once

#include <span>
#include <cstddef>

namespace smolvlm::server {

struct UiAsset {
  const char* name;          // file name under src/server/ui ("index.html", "app.js", ...)
  const char* content_type;  // from the extension
  std::span<const unsigned char> bytes;
};

std::span<const UiAsset> ui_assets();

}  // namespace smolvlm::server
