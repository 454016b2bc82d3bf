// Reads the interactive chat's input from stdin one line at a time, and turns Ctrl-C (SIGINT) into
// an event instead of an exit: while a reply is generated it cancels the reply; at the prompt it
// discards the line being typed. The terminal itself does the line editing and echo.
#pragma once

#include <atomic>
#include <optional>
#include <string>

namespace smolvlm::cli {

class LineReader {
 public:
  enum class Status { kLine, kInterrupted, kEof };
  struct Result {
    Status status;
    std::string line;  // kLine: without the newline
  };

  LineReader();   // installs the SIGINT handler
  ~LineReader();  // restores the previous one
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Prints `prompt` (only when stdin is a terminal), then reads one line.
  Result read(const char* prompt);
  // Set by Ctrl-C; the generation loop polls it. Cleared by clear_interrupt().
  static const std::atomic<bool>& interrupted();
  static void clear_interrupt();

 private:
  std::string buffer_;  // bytes read past the last returned line
  bool eof_ = false;
  bool tty_ = false;
  struct Saved;
  Saved* saved_;
};

}  // namespace smolvlm::cli
