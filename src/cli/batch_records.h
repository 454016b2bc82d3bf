// The output of `smolvlm batch`: one record per input, as a JSONL line or a CSV row (header
// file,prompt,answer,error,prompt_tokens,eval_tokens,encode_s,prompt_s,eval_s,total_s), each
// written and flushed as soon as its input is done. An existing output file is read first so that
// a run resumes: inputs with a successful record are skipped, error records are dropped (to be
// retried) unless kept, and a record cut off by a killed run is removed.
#pragma once

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smolvlm::cli {

struct BatchRecord {
  std::string file;
  std::string prompt;
  std::string answer;  // on success
  std::string error;   // non-empty: the input failed
  std::string done_reason;  // "stop" / "length" (JSONL only)
  int64_t prompt_tokens = 0, eval_tokens = 0;
  double encode_s = 0, prompt_s = 0, eval_s = 0, total_s = 0;
};

// RFC 4180 CSV. A record ends at a newline (\n or \r\n) outside quotes; quoted fields may hold
// commas, quotes ("") and newlines.
struct CsvRow {
  std::vector<std::string> fields;
  size_t line = 0;         // 1-based line where the row starts
  size_t end = 0;          // byte offset just past the row (and its newline)
  bool terminated = false; // ended by a newline (not by the end of the text)
};
// Parses every row; a final quoted field left open is not returned and sets *open_quote.
std::vector<CsvRow> parse_csv(std::string_view text, bool* open_quote = nullptr);
std::string csv_field(std::string_view s);  // quoted when it holds , " \r \n or leading/trailing spaces

class BatchOutput {
 public:
  enum class Format { kJsonl, kCsv };

  // path "-" or "": stdout (JSONL, nothing to resume). .csv: CSV, anything else JSONL. Unless
  // overwrite, an existing file is resumed (see above): the error records of `inputs` (pairs of
  // path_key(file) and prompt: this run's work) are dropped to be retried, unless keep_errors.
  // Throws Error when the file cannot be read or written, or is not a batch output.
  using Keys = std::set<std::pair<std::string, std::string>>;
  BatchOutput(const std::string& path, bool overwrite, bool keep_errors, const Keys& inputs);
  ~BatchOutput();
  BatchOutput(const BatchOutput&) = delete;
  BatchOutput& operator=(const BatchOutput&) = delete;

  Format format() const { return format_; }
  // Whether (file, prompt) already has a record kept from an earlier run.
  bool done(const std::string& file, const std::string& prompt) const;
  size_t kept_records() const { return done_.size(); }
  size_t dropped_errors() const { return dropped_errors_; }

  void write(const BatchRecord& r);  // thread-safe; flushed; throws Error when the write fails

 private:
  void resume(bool keep_errors, const Keys& inputs);
  std::string path_;
  Format format_ = Format::kJsonl;
  std::FILE* out_ = nullptr;
  bool owned_ = false;
  std::set<std::pair<std::string, std::string>> done_;  // (path_key(file), prompt)
  size_t dropped_errors_ = 0;
  std::mutex mu_;
};

}  // namespace smolvlm::cli
