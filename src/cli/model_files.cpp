#include "cli/model_files.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "base/error.h"
#include "io/gguf.h"

namespace smolvlm::cli {
namespace fs = std::filesystem;

ModelFiles resolve_model_files(const std::string& model, const std::string& mmproj) {
  if (!fs::is_directory(model)) return {model, mmproj};
  std::vector<std::string> texts, projectors;
  for (const auto& e : fs::directory_iterator(model)) {
    if (!e.is_regular_file() || e.path().extension() != ".gguf") continue;
    const std::string arch = GgufFile::open(e.path().string()).architecture();
    if (arch == "llama") texts.push_back(e.path().string());
    if (arch == "clip") projectors.push_back(e.path().string());
  }
  std::sort(texts.begin(), texts.end());
  std::sort(projectors.begin(), projectors.end());
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += cat("\n  ", x);
    return s;
  };
  if (texts.size() != 1)
    fail(model, ": expected one text GGUF (architecture llama) in the folder, found ", texts.size(), list(texts),
         texts.empty() ? "" : "\nname the file to use instead of the folder");
  if (!mmproj.empty()) return {texts[0], mmproj};
  if (projectors.size() > 1)
    fail(model, ": ", projectors.size(), " projector GGUFs in the folder; choose one with --mmproj:", list(projectors));
  return {texts[0], projectors.empty() ? "" : projectors[0]};
}

namespace {

bool media_extension(std::string ext) {
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* e : {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".mp4", ".mkv", ".webm", ".mov", ".avi"})
    if (ext == e) return true;
  return false;
}

}  // namespace

std::vector<std::string> take_media_paths(std::string& line) {
  std::vector<std::string> paths;
  std::string kept;
  size_t i = 0;
  while (i < line.size()) {
    if (line[i] == ' ' || line[i] == '\t') {
      kept += line[i++];
      continue;
    }
    // One word: quoted, or up to an unescaped space.
    const size_t start = i;
    std::string word;
    if (line[i] == '"' || line[i] == '\'') {
      const char q = line[i++];
      while (i < line.size() && line[i] != q) word += line[i++];
      if (i < line.size()) ++i;
    } else {
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') {
        if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == ' ') ++i;
        word += line[i++];
      }
    }
    std::string path = word;
    if (path.starts_with("~/")) {
      const char* home = std::getenv("HOME");
      if (home != nullptr) path = std::string(home) + path.substr(1);
    }
    const bool looks = path.starts_with("/") || path.starts_with("./") || path.starts_with("../");
    std::error_code ec;
    if (looks && media_extension(fs::path(path).extension().string()) && fs::is_regular_file(path, ec)) {
      paths.push_back(path);
    } else {
      kept.append(line, start, i - start);
    }
  }
  // Tidy the spaces the paths leave behind.
  const size_t a = kept.find_first_not_of(" \t"), b = kept.find_last_not_of(" \t");
  line = a == std::string::npos ? std::string() : kept.substr(a, b - a + 1);
  return paths;
}

}  // namespace smolvlm::cli
