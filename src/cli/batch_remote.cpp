#include "cli/batch_remote.h"

#include <regex>
#include <thread>

#include "base/base64.h"
#include "base/error.h"
#include "base/file_util.h"
#include "cli/chat_backend.h"
#include "cli/remote_chat.h"
#include "media/image_decode.h"
#include "tokenizer/utf8.h"

namespace smolvlm::cli {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

double ns_to_s(const json& j, const char* key) { return static_cast<double>(j.value(key, int64_t{0})) / 1e9; }

}  // namespace

RemoteBatch::RemoteBatch(const std::vector<std::string>& hosts, std::string model, const RunSettings& settings)
    : model_(std::move(model)), settings_(settings) {
  for (const std::string& h : hosts) hosts_.push_back(std::make_unique<Host>(h));
  if (hosts_.empty()) fail("--host needs at least one server address");
}

RemoteBatch::Host* RemoteBatch::pick() {
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      const auto now = Clock::now();
      Host* best = nullptr;
      for (auto& h : hosts_)
        if (h->down_until <= now && (best == nullptr || h->in_flight < best->in_flight)) best = h.get();
      if (best != nullptr) {
        ++best->in_flight;
        return best;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // every replica set aside: soon again
  }
}

void RemoteBatch::done(Host* h, bool failed) {
  std::lock_guard<std::mutex> lock(mu_);
  --h->in_flight;
  if (failed) h->down_until = Clock::now() + std::chrono::seconds(2);
}

BatchRecord RemoteBatch::run(const BatchInput& in) {
  BatchRecord out = answer_input(in, [&](BatchRecord& rec) {
    tok::utf8_validate(settings_.system, "the system message");
    const std::string bytes = read_file(in.file);
    const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
    const bool image = detect_image_format({p, bytes.size()}) != ImageFormat::kUnknown;
    json messages = json::array();
    if (!settings_.system.empty()) messages.push_back({{"role", "system"}, {"content", settings_.system}});
    messages.push_back({{"role", "user"}, {"content", in.prompt}, {image ? "images" : "videos", {base64_encode(bytes)}}});
    json body = {{"model", model_}, {"messages", messages}, {"stream", false}, {"options", RemoteChat::options(settings_)}};
    if (settings_.generate.json != JsonKind::kOff) body["format"] = "json";
    // A replica that is gone, or answers 502 / 503 / 504 (draining, overloaded), gets the file no
    // more: another one does. Every replica tried twice at most.
    json reply;
    const size_t attempts = 2 * hosts_.size();
    for (size_t attempt = 1;; ++attempt) {
      Host* h = pick();
      try {
        reply = h->client.post("/api/chat", body);
        done(h, false);
        break;
      } catch (const ServerError& e) {
        // A replica going away, overloaded or draining: elsewhere. Another 5xx is this file's error.
        const bool replica = e.status() == 502 || e.status() == 503 || e.status() == 504;
        done(h, replica);
        if (!replica || attempt >= attempts) throw;
      } catch (const Error& e) {  // no answer at all
        done(h, true);
        if (attempt >= attempts) throw;
      } catch (...) {
        done(h, false);
        throw;
      }
    }
    rec.answer = std::string(trim_reply_start(reply.value("message", json::object()).value("content", "")));
    rec.done_reason = reply.value("done_reason", "stop");
    rec.prompt_tokens = reply.value("prompt_eval_count", int64_t{0});
    rec.eval_tokens = reply.value("eval_count", int64_t{0});
    rec.encode_s = ns_to_s(reply, "media_encode_duration");
    rec.prompt_s = ns_to_s(reply, "prompt_eval_duration");
    rec.eval_s = ns_to_s(reply, "eval_duration");
  });
  // The server names the request's item ("failed to process image 0: image 0: ..."); the record
  // names the file, so its message reads as a local batch's.
  static const std::regex item(R"(^failed to process (image|video) \d+: (image|video) \d+: )");
  if (!out.error.empty()) out.error = std::regex_replace(out.error, item, "", std::regex_constants::format_first_only);
  return out;
}

}  // namespace smolvlm::cli
