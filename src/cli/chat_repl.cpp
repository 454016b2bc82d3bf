#include "cli/chat_repl.h"

#include <cstdio>
#include <string>
#include <string_view>

#include "base/error.h"
#include "cli/line_reader.h"
#include "cli/model_files.h"

namespace smolvlm::cli {
namespace {

const char* const kHelp =
    "Available Commands:\n"
    "  /set            Set session variables\n"
    "  /show           Show model information\n"
    "  /clear          Clear session context\n"
    "  /bye            Exit\n"
    "  /?, /help       Help for a command\n"
    "\n"
    "Use \"\"\" to begin a multi-line message.\n";

const char* const kSetHelp =
    "Available Commands:\n"
    "  /set parameter ...     Set a parameter (temperature, top_k, top_p, min_p, repeat_penalty,\n"
    "                         repeat_last_n, presence_penalty, frequency_penalty, seed, num_predict,\n"
    "                         num_ctx, num_thread, stop, max_tiles)\n"
    "  /set system <string>   Set system message\n"
    "  /set format json       Enable JSON mode\n"
    "  /set noformat          Disable formatting\n"
    "  /set verbose           Show LLM stats\n"
    "  /set quiet             Disable LLM stats\n";

const char* const kShowHelp =
    "Available Commands:\n"
    "  /show info         Show details for this model\n"
    "  /show parameters   Show parameters for this model\n"
    "  /show system       Show system message\n";

// Splits off the first space-separated word of s (s keeps the rest, leading spaces removed).
std::string_view next_word(std::string_view& s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  const size_t end = s.find(' ');
  const std::string_view w = s.substr(0, end);
  s = end == std::string_view::npos ? std::string_view{} : s.substr(end);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return w;
}

// A value given as "text" or """text""" loses its quotes (like Ollama's /set system).
std::string unquote(std::string_view v) {
  if (v.size() >= 6 && v.substr(0, 3) == "\"\"\"" && v.substr(v.size() - 3) == "\"\"\"") return std::string(v.substr(3, v.size() - 6));
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') return std::string(v.substr(1, v.size() - 2));
  return std::string(v);
}

// Handles one /command; returns false for /bye.
bool command(ChatBackend& chat, std::string_view line) {
  std::string_view rest = line;
  const std::string_view cmd = next_word(rest);
  RunSettings& s = chat.settings();
  if (cmd == "/bye" || cmd == "/exit") return false;
  if (cmd == "/?" || cmd == "/help") {
    const std::string_view topic = next_word(rest);
    std::fputs(topic == "set" || topic == "/set" ? kSetHelp : topic == "show" || topic == "/show" ? kShowHelp : kHelp,
               stdout);
  } else if (cmd == "/clear") {
    chat.clear();
    std::puts("Cleared session context");
  } else if (cmd == "/set") {
    const std::string_view what = next_word(rest);
    if (what.empty()) {  // `/set` alone: what it can set
      std::fputs(kSetHelp, stdout);
    } else if (what == "parameter") {
      const std::string_view name = next_word(rest);
      if (name.empty()) {
        std::fputs(kSetHelp, stdout);
        return true;
      }
      s.set_parameter(name, rest);
      std::printf("Set parameter '%.*s' to '%.*s'\n", int(name.size()), name.data(), int(rest.size()), rest.data());
    } else if (what == "system") {
      s.system = unquote(rest);
      std::puts("Set system message.");
    } else if (what == "format" && rest == "json") {
      s.generate.json = JsonKind::kAny;
      std::puts("Set format to 'json' mode.");
    } else if (what == "noformat") {
      s.generate.json = JsonKind::kOff;
      std::puts("Disabled format.");
    } else if (what == "verbose") {
      s.verbose = true;
      std::puts("Set 'verbose' mode.");
    } else if (what == "quiet") {
      s.verbose = false;
      std::puts("Set 'quiet' mode.");
    } else {
      std::printf("Unknown command '/set %.*s'. Type /? set for help\n", int(what.size()), what.data());
    }
  } else if (cmd == "/show") {
    const std::string_view what = next_word(rest);
    if (what == "info") {
      std::fputs(chat.info().c_str(), stdout);
    } else if (what == "parameters") {
      std::fputs(s.describe().c_str(), stdout);
    } else if (what == "system") {
      std::puts(s.system.empty() ? "No system message was specified for this model." : s.system.c_str());
    } else {
      std::fputs(kShowHelp, stdout);
    }
  } else {
    std::printf("Unknown command '%.*s'. Type /? for help\n", int(cmd.size()), cmd.data());
  }
  return true;
}

bool ends_with_quotes(std::string_view s) { return s.size() >= 3 && s.substr(s.size() - 3) == "\"\"\""; }

}  // namespace

int run_chat_repl(ChatBackend& chat) {
  LineReader reader;
  std::string multi;  // a """ message being typed
  bool in_multi = false;
  while (true) {
    const LineReader::Result in = reader.read(in_multi ? "... " : ">>> ");
    if (in.status == LineReader::Status::kEof) {
      std::fputs("\n", stdout);
      return 0;
    }
    if (in.status == LineReader::Status::kInterrupted) {
      in_multi = false;
      multi.clear();
      std::puts("\nUse Ctrl + d or /bye to exit.");
      continue;
    }
    std::string_view line = in.line;
    std::string message;
    if (in_multi) {
      if (!ends_with_quotes(line)) {
        multi.append(line).append("\n");
        continue;
      }
      multi.append(line.substr(0, line.size() - 3));
      message = std::move(multi);
      multi.clear();
      in_multi = false;
    } else if (line.substr(0, 3) == "\"\"\"") {
      line.remove_prefix(3);
      if (!ends_with_quotes(line)) {  // a message over several lines starts
        in_multi = true;
        multi = std::string(line);
        if (!multi.empty()) multi += "\n";
        continue;
      }
      message = std::string(line.substr(0, line.size() - 3));
    } else if (!line.empty() && line.front() == '/') {
      try {
        if (!command(chat, line)) return 0;
      } catch (const Error& e) {
        std::fprintf(stderr, "Error: %s\n", e.what());
      }
      continue;
    } else {
      message = std::string(line);
    }
    if (message.find_first_not_of(" \t\r\n") == std::string::npos) continue;
    try {
      LineReader::clear_interrupt();
      const std::vector<std::string> media = take_media_paths(message);
      for (const std::string& path : media) std::printf("Added '%s'\n", path.c_str());
      chat.turn(message, media, /*interactive=*/true);
      LineReader::clear_interrupt();
    } catch (const Error& e) {
      std::fprintf(stderr, "Error: %s\n", e.what());
    }
  }
}

}  // namespace smolvlm::cli
