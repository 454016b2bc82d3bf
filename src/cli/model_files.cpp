#include "cli/model_files.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "base/error.h"
#include "base/file_util.h"
#include "io/gguf.h"
#include "store/gguf_info.h"

namespace smolvlm::cli {
namespace fs = std::filesystem;

namespace {

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

bool quantized(const std::string& type) { return type != "F32" && type != "F16" && type != "BF16"; }

// Of several text GGUFs: the one of type `quant`, else the Q4_K_M, else the smallest quantized
// one, else the smallest; says which on stderr.
std::string pick_text(const std::string& folder, const std::vector<std::string>& texts, const std::string& quant) {
  std::vector<std::pair<std::string, std::string>> typed;  // path, type
  for (const auto& t : texts) typed.push_back({t, upper(gguf_file_type_name(GgufFile::open(t)))});
  std::string list;
  for (const auto& [p, t] : typed) list += cat("\n  ", fs::path(p).filename().string(), " (", t, ")");
  if (!quant.empty()) {
    for (const auto& [p, t] : typed)
      if (t == upper(quant)) return p;
    fail(folder, ": no text GGUF of type ", upper(quant), " in the folder; it holds:", list);
  }
  // the smallest file among those `want` accepts
  const auto smallest = [&](const auto& want) {
    std::string best;
    for (const auto& [p, t] : typed)
      if (want(t) && (best.empty() || fs::file_size(p) < fs::file_size(best))) best = p;
    return best;
  };
  std::string best = smallest([](const std::string& t) { return t == "Q4_K_M"; });
  if (best.empty()) best = smallest(quantized);
  if (best.empty()) best = smallest([](const std::string&) { return true; });
  std::string type;
  for (const auto& [p, t] : typed)
    if (p == best) type = t;
  std::fprintf(stderr, "smolvlm: %s holds %zu text GGUFs; using %s (%s); --quant TYPE picks another:%s\n",
               folder.c_str(), texts.size(), fs::path(best).filename().string().c_str(), type.c_str(), list.c_str());
  return best;
}

}  // namespace

ModelFiles resolve_model_files(const std::string& model_arg, const std::string& mmproj, const std::string& quant) {
  const std::string model = expand_home(model_arg);
  std::error_code ec;
  if (!fs::exists(model, ec)) fail("file not found: ", model);
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
  if (texts.empty()) fail(model, ": no text GGUF (architecture llama) in the folder");
  const std::string text = texts.size() == 1 && quant.empty() ? texts[0] : pick_text(model, texts, quant);
  if (!mmproj.empty()) return {text, mmproj};
  if (projectors.size() > 1)
    fail(model, ": ", projectors.size(), " projector GGUFs in the folder; choose one with --mmproj:", list(projectors));
  return {text, projectors.empty() ? "" : projectors[0]};
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
