#include "cli/line_reader.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <unistd.h>

namespace smolvlm::cli {
namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_sigint(int) { g_interrupted.store(true); }

}  // namespace

struct LineReader::Saved {
  struct sigaction old_action;
};

LineReader::LineReader() : tty_(isatty(STDIN_FILENO) != 0), saved_(new Saved) {
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocked read() returns EINTR so the prompt can react
  sigaction(SIGINT, &sa, &saved_->old_action);
}

LineReader::~LineReader() {
  sigaction(SIGINT, &saved_->old_action, nullptr);
  delete saved_;
}

const std::atomic<bool>& LineReader::interrupted() { return g_interrupted; }
void LineReader::clear_interrupt() { g_interrupted.store(false); }

LineReader::Result LineReader::read(const char* prompt) {
  if (tty_ && prompt != nullptr) {
    std::fputs(prompt, stdout);
    std::fflush(stdout);
  }
  while (true) {
    const size_t nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      Result r{Status::kLine, buffer_.substr(0, nl)};
      buffer_.erase(0, nl + 1);
      if (!r.line.empty() && r.line.back() == '\r') r.line.pop_back();
      return r;
    }
    if (eof_) {
      if (buffer_.empty()) return {Status::kEof, {}};
      Result r{Status::kLine, std::move(buffer_)};  // a last line without a newline
      buffer_.clear();
      return r;
    }
    if (g_interrupted.exchange(false)) {
      buffer_.clear();  // the terminal discarded the typed line too
      return {Status::kInterrupted, {}};
    }
    char chunk[4096];
    const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
    } else if (n == 0) {
      eof_ = true;
    } else if (errno != EINTR) {
      eof_ = true;  // a closed or broken stdin ends the chat like Ctrl-D
    }
  }
}

}  // namespace smolvlm::cli
