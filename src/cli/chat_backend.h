// What the interactive chat of `smolvlm run` talks to: the model in this process (ChatRunner) or a
// running `smolvlm serve` (RemoteChat, as `ollama run` talks to its server).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cli/run_settings.h"
#include "runtime/session.h"

namespace smolvlm::cli {

class ChatBackend {
 public:
  virtual ~ChatBackend() = default;
  virtual RunSettings& settings() = 0;
  // One user turn, streamed to stdout (see ChatRunner::turn); media_paths: images / videos.
  virtual DoneReason turn(const std::string& user_text, const std::vector<std::string>& media_paths,
                          bool interactive) = 0;
  virtual void clear() = 0;              // /clear
  virtual std::string info() const = 0;  // /show info
};

// One reply's figures, printed by --verbose as Ollama prints them (stderr).
struct TurnTimings {
  double total_s = 0, load_s = 0;
  int64_t prompt_count = 0;  // prompt tokens evaluated (not those reused from the cache)
  double prompt_s = 0;
  int64_t eval_count = 0;
  double eval_s = 0;
  int64_t media_count = 0, media_frames = 0;  // images / videos encoded for this turn, their tiles / frames
  double media_s = 0;                         // decode + preprocess + encode
};
void print_timings(const TurnTimings& t);

// The reply without its leading spaces and newlines (after "Assistant:" the model starts with a
// space), as `ollama run` shows it.
std::string_view trim_reply_start(std::string_view s);

// "%.Nf" without trailing zeros (and without a trailing point).
std::string fixed_trimmed(double v, int decimals);
// Go's time.Duration formatting, as Ollama prints its timings: "1.5ms", "2.000312s", "1m3.2s".
std::string go_duration(double seconds);

}  // namespace smolvlm::cli
