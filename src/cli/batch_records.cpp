#include "cli/batch_records.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/file_util.h"
#include "cli/batch_inputs.h"

namespace smolvlm::cli {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kCsvHeader =
    "file,prompt,answer,error,prompt_tokens,eval_tokens,encode_s,prompt_s,eval_s,total_s";

double ms(double seconds) { return std::round(seconds * 1000.0) / 1000.0; }

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

bool ends_with_csv(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".csv";
}

// Replaces `path` with `text` through a temporary file in the same folder (never half-written).
void rewrite(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) fail(tmp, ": cannot write: ", std::strerror(errno));
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !ok) fail(tmp, ": cannot write: ", std::strerror(errno));
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) fail(path, ": cannot replace it: ", ec.message());
}

}  // namespace

std::vector<CsvRow> parse_csv(std::string_view text, bool* open_quote) {
  std::vector<CsvRow> rows;
  CsvRow row;
  std::string field;
  size_t line = 1, i = 0;
  bool quoted = false, in_row = false;
  row.line = 1;
  auto end_field = [&] {
    row.fields.push_back(std::move(field));
    field.clear();
  };
  while (i < text.size()) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c == '"') quoted = false;
      else field += c;
      if (c == '\n') ++line;
      ++i;
      continue;
    }
    in_row = true;
    if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      end_field();
    } else if (c == '\n' || (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) {
      i += c == '\r' ? 2 : 1;
      end_field();
      row.end = i;
      row.terminated = true;
      rows.push_back(std::move(row));
      row = CsvRow{};
      row.line = ++line;
      in_row = false;
      continue;
    } else {
      field += c;
    }
    ++i;
  }
  if (open_quote != nullptr) *open_quote = quoted;
  if (in_row && !quoted) {
    end_field();
    row.end = text.size();
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string csv_field(std::string_view s) {
  const bool quote = s.find_first_of(",\"\r\n") != std::string_view::npos ||
                     (!s.empty() && (s.front() == ' ' || s.back() == ' '));
  if (!quote) return std::string(s);
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

BatchOutput::BatchOutput(const std::string& path, bool overwrite, bool keep_errors, const Keys& inputs)
    : path_(path) {
  if (path.empty() || path == "-") {
    out_ = stdout;
    return;
  }
  format_ = ends_with_csv(path) ? Format::kCsv : Format::kJsonl;
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail(path, ": is a folder (--output names a .jsonl or .csv file)");
  if (!overwrite && fs::exists(path, ec)) resume(keep_errors, inputs);
  else if (format_ == Format::kCsv) rewrite(path, std::string(kCsvHeader) + "\n");
  else rewrite(path, "");
  out_ = std::fopen(path.c_str(), "ab");
  if (out_ == nullptr) fail(path, ": cannot write: ", std::strerror(errno));
  owned_ = true;
}

BatchOutput::~BatchOutput() {
  if (owned_) std::fclose(out_);
  else std::fflush(out_);
}

void BatchOutput::resume(bool keep_errors, const Keys& inputs) {
  const std::string text = read_file(path_);
  std::string kept;  // the records that stay, as they were written
  auto keep = [&](const std::string& file, const std::string& prompt, bool failed, std::string_view raw) {
    if (failed && !keep_errors && inputs.contains({path_key(file), prompt})) {
      ++dropped_errors_;
      return;
    }
    done_.insert({path_key(file), prompt});
    kept.append(raw);
    if (!kept.ends_with('\n')) kept += '\n';
  };
  if (format_ == Format::kJsonl) {
    size_t pos = 0, line = 0;
    while (pos < text.size()) {
      const size_t nl = text.find('\n', pos);
      const size_t end = nl == std::string::npos ? text.size() : nl + 1;
      const std::string_view raw(text.data() + pos, end - pos);
      ++line;
      pos = end;
      if (raw.find_first_not_of(" \t\r\n") == std::string_view::npos) continue;
      const nlohmann::json j = nlohmann::json::parse(raw, nullptr, /*allow_exceptions=*/false);
      const bool record = j.is_object() && j.contains("file") && j["file"].is_string();
      if (!record) {
        if (nl == std::string::npos) break;  // the last line, cut off by a killed run
        fail(path_, " line ", line, ": not a batch record (", raw.substr(0, 60),
             "); name another --output or pass --overwrite");
      }
      const std::string prompt = j.contains("prompt") && j["prompt"].is_string() ? j["prompt"].get<std::string>() : "";
      const bool failed = j.contains("error") && !(j["error"].is_string() && j["error"].get<std::string>().empty()) &&
                          !j["error"].is_null();
      keep(j["file"].get<std::string>(), prompt, failed, raw);
    }
  } else {
    const std::vector<CsvRow> rows = parse_csv(text);
    if (!rows.empty()) {
      std::string header;
      for (const std::string& f : rows[0].fields) header += (header.empty() ? "" : ",") + f;
      if (header != kCsvHeader)
        fail(path_, ": not a batch CSV (its header is not ", kCsvHeader, "); name another --output or pass --overwrite");
    }
    kept = std::string(kCsvHeader) + "\n";
    for (size_t k = 1; k < rows.size(); ++k) {
      const CsvRow& r = rows[k];
      if (r.fields.size() != 10) {
        if (!r.terminated) break;  // the last row, cut off by a killed run
        fail(path_, " line ", r.line, ": ", r.fields.size(), " fields, want 10; name another --output or pass --overwrite");
      }
      const size_t begin = rows[k - 1].end;
      keep(r.fields[0], r.fields[1], !r.fields[3].empty(), std::string_view(text).substr(begin, r.end - begin));
    }
  }
  if (kept != text) rewrite(path_, kept);
}

bool BatchOutput::done(const std::string& file, const std::string& prompt) const {
  return done_.contains({path_key(file), prompt});
}

void BatchOutput::write(const BatchRecord& r) {
  std::string text;
  if (format_ == Format::kJsonl) {
    nlohmann::ordered_json j;
    j["file"] = r.file;
    j["prompt"] = r.prompt;
    if (r.error.empty()) {
      j["answer"] = r.answer;
      j["done_reason"] = r.done_reason;
    } else {
      j["error"] = r.error;
    }
    j["prompt_tokens"] = r.prompt_tokens;
    j["eval_tokens"] = r.eval_tokens;
    j["encode_s"] = ms(r.encode_s);
    j["prompt_s"] = ms(r.prompt_s);
    j["eval_s"] = ms(r.eval_s);
    j["total_s"] = ms(r.total_s);
    text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else {
    text = cat(csv_field(r.file), ",", csv_field(r.prompt), ",", csv_field(r.error.empty() ? r.answer : ""), ",",
               csv_field(r.error), ",", r.prompt_tokens, ",", r.eval_tokens, ",", seconds_text(r.encode_s), ",",
               seconds_text(r.prompt_s), ",", seconds_text(r.eval_s), ",", seconds_text(r.total_s), "\n");
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (std::fwrite(text.data(), 1, text.size(), out_) != text.size() || std::fflush(out_) != 0)
    fail(path_.empty() || path_ == "-" ? "stdout" : path_, ": cannot write the record: ", std::strerror(errno));
}

}  // namespace smolvlm::cli
