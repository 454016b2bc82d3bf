#include "cli/batch_inputs.h"

#include <glob.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <span>

#include "base/error.h"
#include "base/file_util.h"
#include "cli/batch_records.h"
#include "media/image_decode.h"
#include "tokenizer/utf8.h"

namespace smolvlm::cli {
namespace {

namespace fs = std::filesystem;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return name.size() > 1 && name[0] == '.' && name != "..";
}

// The media files under a folder, sorted. Entries that are not folders count by their name alone
// (a dangling link or an unreadable file becomes an error record when it is run).
std::vector<std::string> folder_media(const std::string& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
  if (ec) fail(dir, ": cannot list the folder: ", ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) fail(dir, ": cannot list the folder: ", ec.message());
    const fs::path& p = it->path();
    if (hidden(p)) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_directory(ec) && is_media_name(p.string())) found.push_back(p.string());
  }
  std::sort(found.begin(), found.end());
  return found;
}

bool has_wildcard(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

std::vector<std::string> glob_matches(const std::string& pattern) {
  glob_t g{};
  std::vector<std::string> out;
  if (::glob(pattern.c_str(), 0, nullptr, &g) == 0) {
    for (size_t k = 0; k < g.gl_pathc; ++k) out.emplace_back(g.gl_pathv[k]);  // sorted by glob()
  }
  ::globfree(&g);
  return out;
}

}  // namespace

bool is_media_name(const std::string& path) {
  static const std::set<std::string> kExt = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp",
                                             ".mp4", ".mkv",  ".webm", ".mov", ".avi", ".m4v"};
  return kExt.contains(lower(fs::path(path).extension().string()));
}

std::string path_key(const std::string& path) { return fs::path(path).lexically_normal().string(); }

std::vector<BatchInput> expand_inputs(const std::vector<std::string>& paths) {
  std::vector<BatchInput> out;
  std::set<std::string> seen;
  auto add = [&](const std::string& file, std::string error = {}) {
    if (seen.insert(path_key(file)).second) out.push_back({file, "", std::move(error)});
  };
  auto add_path = [&](const std::string& p) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      for (const std::string& f : folder_media(p)) add(f);
    } else {
      add(p);  // a file, or one that is missing or unreadable: its record says so
    }
  };
  for (const std::string& p : paths) {
    std::error_code ec;
    if (fs::exists(fs::symlink_status(p, ec)) || !has_wildcard(p)) {
      add_path(p);
      continue;
    }
    const std::vector<std::string> matches = glob_matches(p);
    if (matches.empty()) add(p, "no file matches this pattern");
    for (const std::string& m : matches) add_path(m);
  }
  return out;
}

std::vector<BatchInput> read_prompts_file(const std::string& path) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const Error& e) {
    fail("--prompts: ", e.what());
  }
  const fs::path base = fs::path(path).parent_path();
  auto locate = [&](const std::string& file) {
    std::error_code ec;
    const fs::path p(file);
    if (p.is_relative() && !fs::exists(fs::symlink_status(p, ec)) && !base.empty() &&
        fs::exists(fs::symlink_status(base / p, ec)))
      return (base / p).string();
    return file;
  };
  std::vector<BatchInput> rows;
  const bool csv = lower(fs::path(path).extension().string()) == ".csv";
  if (csv) {
    bool open_quote = false;
    const std::vector<CsvRow> table = parse_csv(text, &open_quote);
    if (open_quote) fail(path, ": a quoted field is never closed");
    if (table.empty()) fail(path, ": empty (want a header with the columns file and prompt)");
    const std::vector<std::string>& head = table[0].fields;
    auto column = [&](const char* name) {
      for (size_t k = 0; k < head.size(); ++k)
        if (lower(head[k]) == name) return k;
      fail(path, " line 1: no '", name, "' column in the header (want file,prompt)");
    };
    const size_t fc = column("file"), pc = column("prompt");
    for (size_t r = 1; r < table.size(); ++r) {
      const CsvRow& row = table[r];
      if (row.fields.size() == 1 && row.fields[0].empty()) continue;  // a blank line
      if (row.fields.size() != head.size())
        fail(path, " line ", row.line, ": ", row.fields.size(), " fields, the header has ", head.size());
      if (row.fields[fc].empty()) fail(path, " line ", row.line, ": empty file");
      rows.push_back({locate(row.fields[fc]), row.fields[pc], ""});
    }
  } else {
    size_t pos = 0, line = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) nl = text.size();
      const std::string_view raw(text.data() + pos, nl - pos);
      pos = nl + 1;
      ++line;
      if (raw.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      const nlohmann::json j = nlohmann::json::parse(raw, nullptr, false);
      if (j.is_discarded() || !j.is_object())
        fail(path, " line ", line, ": not a JSON object (want {\"file\": ..., \"prompt\": ...})");
      if (!j.contains("file") || !j["file"].is_string() || j["file"].get<std::string>().empty())
        fail(path, " line ", line, ": \"file\" must be a non-empty string");
      if (!j.contains("prompt") || !j["prompt"].is_string())
        fail(path, " line ", line, ": \"prompt\" must be a string");
      rows.push_back({locate(j["file"].get<std::string>()), j["prompt"].get<std::string>(), ""});
    }
  }
  if (rows.empty()) fail(path, ": lists no files");
  return rows;
}

namespace {

// Why a path cannot be read as a media file, or "" when it is a regular file.
std::string unreadable_reason(const std::string& path) {
  std::error_code ec;
  const fs::file_status link = fs::symlink_status(path, ec);
  if (!fs::exists(link)) return "no such file (missing, or deleted after the batch started)";
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) return "a broken symbolic link (its target does not exist)";
  if (fs::is_directory(st)) return "a folder, not an image or video file";
  if (!fs::is_regular_file(st)) return "not a regular file (a FIFO, socket or device)";
  return "";
}

// Whether a file named as an image holds one (else the video decoder would judge it, and say less).
bool image_name(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".webp" || ext == ".gif" || ext == ".bmp";
}
void check_image_content(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) fail("cannot read the file: ", std::strerror(errno));
  uint8_t head[64];
  const size_t n = std::fread(head, 1, sizeof head, f);
  std::fclose(f);
  if (n == 0) fail("an empty file");
  if (detect_image_format(std::span<const uint8_t>(head, n)) == ImageFormat::kUnknown)
    fail(not_media_message(path, std::span<const uint8_t>(head, n)));
}

}  // namespace

void check_batch_input(const BatchInput& in) {
  if (!in.error.empty()) fail(in.error);
  if (const std::string why = unreadable_reason(in.file); !why.empty()) fail(why);
  if (image_name(in.file)) check_image_content(in.file);
}

BatchRecord answer_input(const BatchInput& in, const std::function<void(BatchRecord&)>& answer) {
  const auto t0 = std::chrono::steady_clock::now();
  BatchRecord rec;
  rec.file = in.file;
  rec.prompt = in.prompt;
  try {
    check_batch_input(in);
    tok::utf8_validate(in.prompt, "the prompt");
    answer(rec);
  } catch (const std::exception& e) {
    rec.error = e.what();
    if (rec.error.starts_with(in.file + ": ")) rec.error.erase(0, in.file.size() + 2);
    if (rec.error.empty()) rec.error = "failed";
  }
  rec.total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rec;
}

bool in_shard(const std::string& file, int index, int count) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a of the normalized path: stable across runs and machines
  for (unsigned char c : path_key(file)) h = (h ^ c) * 1099511628211ull;
  return static_cast<int>(h % static_cast<uint64_t>(count)) == index;
}

}  // namespace smolvlm::cli
