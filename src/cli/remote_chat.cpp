#include "cli/remote_chat.h"

#include <chrono>
#include <cstdio>

#include "base/error.h"
#include "base/base64.h"
#include "base/file_util.h"
#include "cli/line_reader.h"
#include "cli/show_format.h"
#include "media/image_decode.h"
#include "tokenizer/utf8.h"

namespace smolvlm::cli {
namespace {

using json = nlohmann::json;


double ns_to_s(const json& line, const char* key) { return line.value(key, int64_t{0}) / 1e9; }

}  // namespace

RemoteChat::RemoteChat(ServerClient client, std::string model, RunSettings settings)
    : client_(std::move(client)), model_(std::move(model)), settings_(std::move(settings)) {}

json RemoteChat::options(const RunSettings& s) {
  const RunSettings d;
  const SamplerParams &p = s.generate.sampling, &q = d.generate.sampling;
  json o = json::object();
  auto put = [&](const char* name, auto mine, auto def) {
    if (mine != def) o[name] = mine;
  };
  put("temperature", p.temperature, q.temperature);
  put("top_k", p.top_k, q.top_k);
  put("top_p", p.top_p, q.top_p);
  put("min_p", p.min_p, q.min_p);
  put("repeat_penalty", p.repeat_penalty, q.repeat_penalty);
  put("repeat_last_n", p.repeat_last_n, q.repeat_last_n);
  put("presence_penalty", p.presence_penalty, q.presence_penalty);
  put("frequency_penalty", p.frequency_penalty, q.frequency_penalty);
  put("seed", p.seed, q.seed);
  put("num_predict", s.generate.num_predict, d.generate.num_predict);
  put("num_ctx", s.num_ctx, d.num_ctx);
  put("num_thread", s.threads, d.threads);
  put("num_gpu", s.num_gpu, d.num_gpu);
  put("max_tiles", s.media.max_tiles, d.media.max_tiles);
  if (!s.generate.stop.empty()) o["stop"] = s.generate.stop;
  return o;
}

DoneReason RemoteChat::turn(const std::string& user_text, const std::vector<std::string>& media_paths,
                            bool interactive) {
  const auto t0 = std::chrono::steady_clock::now();
  tok::utf8_validate(user_text, "the prompt");
  json user = {{"role", "user"}, {"content", user_text}};
  for (const std::string& path : media_paths) {
    const std::string bytes = read_file(path);  // errors name the path
    const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
    const bool image = detect_image_format({p, bytes.size()}) != ImageFormat::kUnknown;
    user[image ? "images" : "videos"].push_back(base64_encode(bytes));
  }
  json messages = json::array();
  if (!settings_.system.empty()) messages.push_back({{"role", "system"}, {"content", settings_.system}});
  for (const json& m : history_) messages.push_back(m);
  messages.push_back(user);
  json body = {{"model", model_}, {"messages", messages}, {"stream", true}, {"options", options(settings_)}};
  if (settings_.generate.json != JsonKind::kOff) body["format"] = "json";

  std::string reply;
  json last;
  bool at_start = true;  // the reply's leading whitespace is not shown
  const bool finished = client_.post_stream("/api/chat", body, [&](const json& line) {
    if (LineReader::interrupted().load()) return false;
    const std::string piece = line.contains("message") ? line["message"].value("content", "") : "";
    reply += piece;
    std::string_view text = piece;
    if (at_start) {
      text = trim_reply_start(text);
      at_start = text.empty();
    }
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    if (line.value("done", false)) last = line;
    return true;
  });
  const bool cancelled = !finished || LineReader::interrupted().load();
  std::fputs(interactive && !cancelled ? "\n\n" : "\n", stdout);
  std::fflush(stdout);
  if (cancelled) return DoneReason::kCancelled;
  history_.push_back(user);
  history_.push_back({{"role", "assistant"}, {"content", std::string(trim_reply_start(reply))}});
  if (settings_.verbose) {
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    print_timings({last.contains("total_duration") ? ns_to_s(last, "total_duration") : total, ns_to_s(last, "load_duration"),
                   last.value("prompt_eval_count", int64_t{0}), ns_to_s(last, "prompt_eval_duration"),
                   last.value("eval_count", int64_t{0}), ns_to_s(last, "eval_duration"),
                   last.value("media_encode_count", int64_t{0}), last.value("media_encode_frames", int64_t{0}),
                   ns_to_s(last, "media_encode_duration")});
  }
  return last.value("done_reason", "stop") == "length" ? DoneReason::kLength : DoneReason::kStop;
}

std::string RemoteChat::info() const {
  ShowView v = show_view_from_api(client_.post("/api/show", {{"model", model_}}));
  v.parameters = settings_.describe();  // what this chat runs with (/set changes it)
  v.system = settings_.system;
  return format_show(v) + cat("  Server\n    url    ", client_.url(), "\n\n");
}

}  // namespace smolvlm::cli
