// The conversation behind `smolvlm run`: history, system message, settings, one Session whose KV
// cache carries the history from turn to turn (only the new turn is prefilled), streaming to stdout
// and Ollama's --verbose timings on stderr.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cli/chat_backend.h"
#include "cli/run_settings.h"
#include "kernels/thread_pool.h"
#include "runtime/loaded_model.h"
#include "runtime/media_encoder.h"
#include "runtime/session.h"
#include "tokenizer/chat_template.h"

namespace smolvlm::cli {

class ChatRunner : public ChatBackend {
 public:
  ChatRunner(std::shared_ptr<const LoadedModel> model, RunSettings settings);

  RunSettings& settings() override { return settings_; }
  const LoadedModel& model() const { return *model_; }

  // One user turn: renders system + history + message with the chat template, generates, streams
  // the reply to stdout. On success the turn joins the history. Ctrl-C (LineReader::interrupted)
  // cancels the reply and leaves the history as it was. Throws Error for a prompt that cannot run
  // (invalid UTF-8, longer than the context); the history is then unchanged too.
  // media_paths: images / videos attached to this turn (decoded, preprocessed and encoded here;
  // cached by content). Returns the reason the reply ended. interactive: a blank line follows.
  DoneReason turn(const std::string& user_text, const std::vector<std::string>& media_paths, bool interactive) override;

  void clear() override {  // /clear: forget the conversation (the cache is reused lazily)
    history_.clear();
    history_media_.clear();
    transcript_ = Prompt{};
  }
  std::string info() const override;  // /show info

 private:
  void ensure_session();  // (re)builds the pool and the session after num_thread / num_ctx changed

  std::shared_ptr<const LoadedModel> model_;
  RunSettings settings_;
  std::vector<ChatMessage> history_;
  std::vector<std::shared_ptr<const EncodedMedia>> history_media_;  // in the order of their placeholders
  Prompt transcript_;                // the history so far as the model saw it (prompts + replies), when known
  std::string transcript_system_;    // the system message transcript_ was made with
  std::unique_ptr<kernels::ThreadPool> pool_;
  std::unique_ptr<Session> session_;
  std::unique_ptr<MediaEncoder> media_encoder_;
  int pool_threads_ = -1;
  int64_t session_ctx_ = -1;
  std::string session_kv_;
  bool first_turn_ = true;
};

}  // namespace smolvlm::cli
