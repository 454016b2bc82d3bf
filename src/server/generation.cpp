#include "server/generation.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "backend/backend.h"
#include "base/error.h"
#include "tokenizer/utf8.h"

namespace smolvlm::server {
namespace {

struct MediaInput {
  bool video = false;
  const std::vector<uint8_t>* bytes = nullptr;
};

// A video's bytes go through a temporary file (the decoder reads files).
std::shared_ptr<const EncodedMedia> encode_video(ModelManager::Lease& lease, const std::vector<uint8_t>& bytes,
                                                 const MediaOptions& o) {
  std::string path = (std::filesystem::temp_directory_path() / "smolvlm-video-XXXXXX").string();
  const int fd = mkstemp(path.data());
  if (fd < 0) throw ApiError(500, "cannot create a temporary file for the video");
  struct Remove {
    std::string p;
    ~Remove() { std::remove(p.c_str()); }
  } remove{path};
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w <= 0) break;
    done += static_cast<size_t>(w);
  }
  ::close(fd);
  if (done != bytes.size()) throw ApiError(500, "cannot write the video to a temporary file");
  std::shared_ptr<const EncodedMedia> out;
  lease.with_pool([&](kernels::ThreadPool& pool) { out = lease.media()->video(path, o, pool); });
  return out;
}

std::vector<std::shared_ptr<const EncodedMedia>> encode_media(ModelManager::Lease& lease,
                                                              const std::vector<MediaInput>& media, int max_tiles) {
  std::vector<std::shared_ptr<const EncodedMedia>> out;
  if (media.empty()) return out;
  if (lease.media() == nullptr)
    throw ApiError(400, cat("\"", lease.resolved().short_name, "\" does not support images"));
  MediaOptions o;
  o.max_tiles = max_tiles;
  for (size_t i = 0; i < media.size(); ++i) {
    const char* what = media[i].video ? "video" : "image";
    try {
      if (media[i].video) {
        out.push_back(encode_video(lease, *media[i].bytes, o));
      } else {
        lease.with_pool([&](kernels::ThreadPool& pool) {
          out.push_back(lease.media()->image(*media[i].bytes, cat("image ", i), o, pool));
        });
      }
    } catch (const Error& e) {
      throw ApiError(400, cat("failed to process ", what, " ", i, ": ", e.what()));
    }
  }
  return out;
}

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
  Prompt p;
  p.ids = context;
  append_prompt(p, tokenize(lease, text, encode_media(lease, media, max_tiles)));
  return p;
}

Prompt raw_prompt(ModelManager::Lease& lease, const std::string& text,
                  const std::vector<std::vector<uint8_t>>& images, int max_tiles) {
  std::vector<MediaInput> media;
  for (const auto& img : images) media.push_back({false, &img});
  return tokenize(lease, text, encode_media(lease, media, max_tiles));
}

GenerateResult run_generation(ModelManager::Lease& lease, const Prompt& prompt, const GenerateOptions& options,
                              const std::function<bool(std::string_view)>& on_piece,
                              const std::atomic<bool>* cancel) {
  bool at_start = true;  // the reply after "Assistant:" starts with a space: not sent
  std::string pending;   // bytes of a character not complete yet
  auto sink = [&](std::string_view text) {
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
    if (r.reason == DoneReason::kCancelled) ++lease.manager().cancelled_generations;
    else if (!pending.empty()) on_piece(pending);  // an unfinished character at the end (invalid UTF-8)
    return r;
  } catch (const backend::DeviceLost& e) {  // its weights and caches are gone: loaded again next time
    lease.manager().unload(lease.resolved().name);
    std::fprintf(stderr, "smolvlm serve: %s: %s; unloading it\n", lease.resolved().short_name.c_str(), e.what());
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

}  // namespace smolvlm::server
