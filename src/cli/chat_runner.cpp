#include "cli/chat_runner.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "base/error.h"
#include "base/progress.h"
#include "cli/line_reader.h"
#include "cli/show_format.h"
#include "tokenizer/utf8.h"

namespace smolvlm::cli {
namespace fs = std::filesystem;

ChatRunner::ChatRunner(std::shared_ptr<const LoadedModel> model, RunSettings settings)
    : model_(std::move(model)), settings_(std::move(settings)) {}

void ChatRunner::ensure_session() {
  if (pool_ == nullptr || pool_threads_ != settings_.threads) {
    session_.reset();
    pool_ = std::make_unique<kernels::ThreadPool>(settings_.threads);
    pool_threads_ = settings_.threads;
  }
  if (session_ == nullptr || session_ctx_ != settings_.num_ctx || session_kv_ != settings_.kv_type) {
    SessionOptions o;
    o.n_ctx = settings_.num_ctx;
    o.kv_type = settings_.kv_type == "f32" ? GgmlType::F32 : GgmlType::F16;
    session_ = std::make_unique<Session>(model_, o, *pool_);
    session_ctx_ = settings_.num_ctx;
    session_kv_ = settings_.kv_type;
  }
}

DoneReason ChatRunner::turn(const std::string& user_text, const std::vector<std::string>& media_paths,
                            bool interactive) {
  const auto t0 = std::chrono::steady_clock::now();
  tok::utf8_validate(user_text, "the prompt");  // an offset into what the user typed
  tok::utf8_validate(settings_.system, "the system message");
  ensure_session();

  // The new turn: its images / videos first (as the model cards put them), then the text. They are
  // planned first (decoded, tiled: their tokens known), so that a prompt too long for the context
  // fails before the slow encoding.
  std::vector<std::shared_ptr<const EncodedMedia>> media;
  ChatMessage user{"user", {}};
  for (const std::string& path : media_paths) {
    if (media_encoder_ == nullptr) media_encoder_ = std::make_unique<MediaEncoder>(model_);
    media.push_back(media_encoder_->plan_file(path, settings_.media));
    user.content.push_back(media.back()->kind == EncodedMedia::Kind::kVideo ? ChatItem::video() : ChatItem::image());
  }
  user.content.push_back(ChatItem::make_text(user_text));

  std::vector<ChatMessage> messages;
  if (!settings_.system.empty()) messages.push_back(ChatMessage::text("system", settings_.system));
  messages.insert(messages.end(), history_.begin(), history_.end());
  const std::string before = render_chat(messages, /*add_generation_prompt=*/false);
  messages.push_back(user);
  const std::string text = render_chat(messages, /*add_generation_prompt=*/true);
  // The history as the ids the model saw and generated (re-tokenizing a reply need not give back
  // the same ids, and would then re-prefill it), followed by the new turn.
  const std::string_view eou = "<end_of_utterance>\n";
  const auto make_prompt = [&] {
    if (!transcript_.ids.empty() && transcript_system_ == settings_.system && before.ends_with(eou)) {
      const size_t cut = before.size() - eou.size();  // the last reply ends here
      Prompt p = transcript_;
      append_prompt(p, build_prompt(model_->tokenizer(), std::string_view(text).substr(cut), media));
      return p;
    }
    std::vector<std::shared_ptr<const EncodedMedia>> all = history_media_;
    all.insert(all.end(), media.begin(), media.end());
    return build_prompt(model_->tokenizer(), text, all);
  };
  session_->check_fits(static_cast<int64_t>(make_prompt().ids.size()));
  TurnTimings media_timing;
  for (size_t i = 0; i < media.size(); ++i) {
    if (!media[i]->planned_only) continue;  // the cache had it
    const auto t_media = std::chrono::steady_clock::now();
    std::unique_ptr<Progress> bar;  // tiles encoded, on a terminal
    uint64_t bar_done = 0;
    MediaOptions o = settings_.media;
    o.on_progress = [&](int64_t done, int64_t total) {
      if (!bar) bar = std::make_unique<Progress>(cat("encoding ", fs::path(media_paths[i]).filename().string()),
                                                 static_cast<uint64_t>(total));
      bar->advance(static_cast<uint64_t>(done) - bar_done);
      bar_done = static_cast<uint64_t>(done);
    };
    media[i] = media_encoder_->file(media_paths[i], o, *pool_);
    if (bar) bar->finish();
    ++media_timing.media_count;
    media_timing.media_frames += media[i]->n_frames;
    media_timing.media_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t_media).count();
  }
  Prompt prompt = make_prompt();

  bool at_start = true;  // the reply's leading whitespace is not shown
  auto sink = [&](std::string_view text) {
    if (at_start) {
      text = trim_reply_start(text);
      at_start = text.empty();
    }
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return true;
  };
  const GenerateResult r = session_->generate(prompt, settings_.generate, sink, &LineReader::interrupted());
  std::fputs(interactive && r.reason != DoneReason::kCancelled ? "\n\n" : "\n", stdout);
  std::fflush(stdout);
  if (r.reason != DoneReason::kCancelled) {
    history_.push_back(user);
    history_.push_back(ChatMessage::text("assistant", std::string(trim_reply_start(r.text))));
    history_media_.insert(history_media_.end(), media.begin(), media.end());
    // The ids stand for the reply text unless a stop string cut it (then the text is re-tokenized).
    const bool eog = !r.tokens.empty() && model_->tokenizer().is_eog(r.tokens.back());
    if (eog || r.reason == DoneReason::kLength) {
      transcript_ = std::move(prompt);
      transcript_.ids.insert(transcript_.ids.end(), r.tokens.begin(), r.tokens.end() - (eog ? 1 : 0));
      transcript_system_ = settings_.system;
    } else {
      transcript_ = Prompt{};
    }
  }

  if (settings_.verbose) {
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double load = first_turn_ ? model_->load_seconds() : 0.0;
    // As Ollama: the prompt tokens actually evaluated (those reused from the cache are not counted).
    print_timings({total + load, load, r.prompt_tokens - r.prompt_reused, r.prompt_seconds, r.eval_tokens, r.eval_seconds,
                   media_timing.media_count, media_timing.media_frames, media_timing.media_s});
  }
  first_turn_ = false;
  return r.reason;
}

std::string ChatRunner::info() const {
  const VisionModel* vision = model_->vision();
  return format_show(show_view_from_files(model_->text().file(), vision ? &vision->file() : nullptr, settings_.describe(),
                                          settings_.system));
}

}  // namespace smolvlm::cli
