#include "server/generation.h"

#include <unistd.h>

#include <cstdio>
#include <chrono>
#include <filesystem>
#include <memory>

#include "backend/backend.h"
#include "base/error.h"
#include "tokenizer/utf8.h"
#include "server/server_log.h"

namespace smolvlm::server {
namespace {

struct MediaInput {
  bool video = false;
  const std::vector<uint8_t>* bytes = nullptr;
};

// A video's bytes in a temporary file (the decoder reads files), removed with it.
class TempVideo {
 public:
  explicit TempVideo(const std::vector<uint8_t>& bytes) {
    path_ = (std::filesystem::temp_directory_path() / "smolvlm-video-XXXXXX").string();
    const int fd = mkstemp(path_.data());
    if (fd < 0) throw ApiError(500, "cannot create a temporary file for the video");
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (w <= 0) break;
      done += static_cast<size_t>(w);
    }
    ::close(fd);
    if (done != bytes.size()) throw ApiError(500, "cannot write the video to a temporary file");
  }
  ~TempVideo() { std::remove(path_.c_str()); }
  TempVideo(const TempVideo&) = delete;
  TempVideo& operator=(const TempVideo&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A request's images and videos: planned first (decoded, tiled: their prompt tokens known), then
// encoded, so that a prompt too long for the context is refused before the slow part.
class RequestMedia {
 public:
  RequestMedia(ModelManager::Lease& lease, const std::vector<MediaInput>& media, int max_tiles)
      : lease_(lease), media_(media) {
    if (media.empty()) return;
    if (lease.media() == nullptr)
      throw ApiError(400, cat("\"", lease.resolved().short_name, "\" does not support images"));
    options_.max_tiles = max_tiles;
    for (size_t i = 0; i < media.size(); ++i) {
      if (media[i].video) videos_.push_back(std::make_unique<TempVideo>(*media[i].bytes));
      guard(i, [&] {
        items_.push_back(media[i].video ? lease.media()->plan_file(videos_.back()->path(), options_)
                                        : lease.media()->plan_image(*media[i].bytes, cat("image ", i), options_));
      });
    }
  }
  const std::vector<std::shared_ptr<const EncodedMedia>>& items() const { return items_; }

  // Encodes what the cache did not hold; counts it into `p`.
  void encode(Prompt& p) {
    size_t video = 0;
    for (size_t i = 0; i < items_.size(); ++i) {
      const bool is_video = media_[i].video;
      const std::string* path = is_video ? &videos_[video++]->path() : nullptr;
      if (!items_[i]->planned_only) continue;
      const auto t0 = std::chrono::steady_clock::now();
      guard(i, [&] {
        lease_.with_pool([&](kernels::ThreadPool& pool) {
          items_[i] = is_video ? lease_.media()->video(*path, options_, pool)
                               : lease_.media()->image(*media_[i].bytes, cat("image ", i), options_, pool);
        });
      });
      ++p.media_encoded;
      p.media_frames += items_[i]->n_frames;
      p.media_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
  }

 private:
  // Errors of one item: 400 naming it.
  template <class Fn>
  void guard(size_t i, const Fn& fn) {
    try {
      fn();
    } catch (const Error& e) {
      throw ApiError(400, cat("failed to process ", media_[i].video ? "video" : "image", " ", i, ": ", e.what()));
    }
  }

  ModelManager::Lease& lease_;
  const std::vector<MediaInput>& media_;
  MediaOptions options_;
  std::vector<std::unique_ptr<TempVideo>> videos_;
  std::vector<std::shared_ptr<const EncodedMedia>> items_;
};

Prompt tokenize(ModelManager::Lease& lease, const std::string& text,
                const std::vector<std::shared_ptr<const EncodedMedia>>& media) {
  try {
    tok::utf8_validate(text, "the prompt");
    return build_prompt(lease.model().tokenizer(), text, media);
  } catch (const Error& e) {
    throw ApiError(400, e.what());
  }
}

// Length of the longest prefix of `s` that does not end inside a UTF-8 sequence (a token may end
// mid-character; its remaining bytes come with the next one).
size_t complete_utf8_prefix(const std::string& s) {
  const size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    const size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return len > back ? n - back : n;
  }
  return n;
}

// `context` ids, then `text` with the media: planned, the length checked against the session's
// context (400), then encoded.
Prompt media_prompt(ModelManager::Lease& lease, const std::string& text, const std::vector<MediaInput>& media,
                    int max_tiles, const std::vector<int32_t>& context) {
  RequestMedia items(lease, media, max_tiles);
  const auto make = [&] {
    Prompt p;
    p.ids = context;
    append_prompt(p, tokenize(lease, text, items.items()));
    return p;
  };
  try {
    lease.session().check_fits(static_cast<int64_t>(make().ids.size()));
  } catch (const Error& e) {
    throw ApiError(400, e.what());
  }
  Prompt p;
  items.encode(p);
  Prompt full = make();
  full.media_encoded = p.media_encoded;
  full.media_frames = p.media_frames;
  full.media_seconds = p.media_seconds;
  if (p.media_encoded > 0) lease.manager().metrics.media_encoded(lease.resolved().short_name, p.media_seconds);
  return full;
}

}  // namespace

Prompt chat_prompt(ModelManager::Lease& lease, const std::vector<InputMessage>& messages,
                   const std::string& template_text, const TemplateRenderer* renderer, int max_tiles,
                   const std::vector<int32_t>& context, bool generate_override) {
  std::vector<ChatMessage> chat;
  std::vector<MediaInput> media;
  for (const InputMessage& m : messages) {
    ChatMessage c{m.role, {}};
    for (const auto& img : m.images) {  // images first, as the model cards put them
      c.content.push_back(ChatItem::image());
      media.push_back({false, &img});
    }
    for (const auto& v : m.videos) {
      c.content.push_back(ChatItem::video());
      media.push_back({true, &v});
    }
    c.content.push_back(ChatItem::make_text(m.content));
    chat.push_back(std::move(c));
  }
  std::string text;
  if (!template_text.empty() && renderer != nullptr && *renderer) {
    try {
      text = (*renderer)(template_text, chat, generate_override);
    } catch (const Error& e) {
      throw ApiError(500, cat("template: ", e.what()));
    }
  } else {
    text = render_chat(chat, /*add_generation_prompt=*/true);
  }
  return media_prompt(lease, text, media, max_tiles, context);
}

Prompt raw_prompt(ModelManager::Lease& lease, const std::string& text,
                  const std::vector<std::vector<uint8_t>>& images, int max_tiles) {
  std::vector<MediaInput> media;
  for (const auto& img : images) media.push_back({false, &img});
  return media_prompt(lease, text, media, max_tiles, {});
}

GenerateResult run_generation(ModelManager::Lease& lease, const Prompt& prompt, const GenerateOptions& options,
                              const std::function<bool(std::string_view)>& on_piece,
                              const std::atomic<bool>* cancel) {
  bool at_start = true;  // the reply after "Assistant:" starts with a space: not sent
  std::string pending;   // bytes of a character not complete yet
  double ttft = -1;      // from the request's arrival (metrics)
  auto sink = [&](std::string_view text) {
    if (ttft < 0) ttft = seconds_since_request_start();
    if (lease.manager().cancelling()) return false;  // a drain's deadline passed
    if (at_start) {
      while (!text.empty() && (text.front() == ' ' || text.front() == '\n' || text.front() == '\t' ||
                               text.front() == '\r'))
        text.remove_prefix(1);
      at_start = text.empty();
    }
    pending.append(text);
    const size_t cut = complete_utf8_prefix(pending);
    if (cut == 0) return cancel == nullptr || !cancel->load();
    const std::string piece = pending.substr(0, cut);
    pending.erase(0, cut);
    return on_piece(piece);
  };
  try {
    GenerateResult r = lease.session().generate(prompt, options, sink, cancel);
    lease.manager().metrics.generation(lease.resolved().short_name, r.prompt_tokens - r.prompt_reused, r.eval_tokens, ttft);
    if (r.reason == DoneReason::kCancelled && lease.manager().cancelling())
      throw ApiError(503, "the server is shutting down and this request ran past its shutdown timeout; send it again "
                          "(another replica will answer)");
    if (r.reason == DoneReason::kCancelled) {
      ++lease.manager().cancelled_generations;
      log_event("INFO", cat(lease.resolved().short_name, ": generation cancelled after ", r.eval_tokens,
                            " tokens: the client went away (closed the connection or pressed stop)"));
    } else if (!pending.empty()) {
      on_piece(pending);  // an unfinished character at the end (invalid UTF-8)
    }
    return r;
  } catch (const backend::DeviceLost& e) {  // its weights and caches are gone: loaded again next time
    lease.manager().unload(lease.resolved().name);
    log_event("ERROR", cat(lease.resolved().short_name, ": ", e.what(), "; unloading it"));
    throw ApiError(500, cat(e.what(), " while running this request; the model is loaded again with the next one"));
  } catch (const Error& e) {
    throw ApiError(500, e.what());
  }
}

const char* ollama_done_reason(const GenerateResult& r) {
  return r.reason == DoneReason::kLength ? "length" : "stop";
}

void add_metrics(nlohmann::json& out, const GenerateResult& r, double total_seconds, double load_seconds) {
  out["done_reason"] = ollama_done_reason(r);
  auto put = [&](const char* key, int64_t v) {
    if (v != 0) out[key] = v;  // Go's omitempty
  };
  put("total_duration", to_ns(total_seconds));
  put("load_duration", to_ns(load_seconds));
  put("prompt_eval_count", r.prompt_tokens - r.prompt_reused);
  put("prompt_eval_duration", to_ns(r.prompt_seconds));
  put("eval_count", r.eval_tokens);
  put("eval_duration", to_ns(r.eval_seconds));
}

void add_media_metrics(nlohmann::json& out, const Prompt& p) {
  if (p.media_encoded == 0) return;  // our extension, left out like Go's omitempty
  out["media_encode_count"] = p.media_encoded;
  out["media_encode_frames"] = p.media_frames;
  out["media_encode_duration"] = to_ns(p.media_seconds);
}

}  // namespace smolvlm::server
