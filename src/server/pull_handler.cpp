// POST /api/pull: {"model"|"name", "insecure", "stream"}. Streamed (the default): "pulling
// manifest", "pulling <digest12>" lines with digest/total/completed, "verifying sha256 digest",
// "writing manifest", "success"; a failure after the stream began is one {"error": ...} line (the
// status stays 200). stream:false: one {"status":"success"}, or the error with status 500.
// The pull runs on the connection's thread; when a line cannot be written (the client is gone) the
// progress callback throws, which stops the transfers (partial files stay for a later resume).
#include "server/pull_handler.h"

#include <chrono>
#include <memory>

#include "base/error.h"
#include "server/server_log.h"

namespace smolvlm::server {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct ClientGone : std::exception {
  const char* what() const noexcept override { return "the client disconnected"; }
};

json event_json(const PullEvent& e) {
  json j = {{"status", e.status}};
  if (!e.digest.empty()) j["digest"] = e.digest;
  if (e.total >= 0) j["total"] = e.total;
  if (e.completed >= 0) j["completed"] = e.completed;
  return j;
}

// Transfer events come for every chunk received: pass a file's first and last one, and others at
// most every 100 ms. Status changes always pass.
class Throttle {
 public:
  bool pass(const PullEvent& e) {
    const auto now = Clock::now();
    const bool transfer = !e.digest.empty() && e.total > 0;
    const bool keep = !transfer || e.status != last_status_ || e.completed >= e.total ||
                      now - last_ >= std::chrono::milliseconds(100);
    if (keep) last_ = now, last_status_ = e.status;
    return keep;
  }

 private:
  Clock::time_point last_{};
  std::string last_status_;
};

void pull(const RouteContext& ctx, const httplib::Request& req, httplib::Response& res) {
  const json j = parse_body(req.body);
  const Fields f{j, "PullRequest"};
  const std::string name = f.str("model").value_or(f.str("name").value_or(""));
  (void)f.boolean("insecure");  // type-checked; there is no registry TLS to relax
  const bool stream = f.boolean("stream").value_or(true);
  if (name.empty()) throw ApiError(400, "model is required");
  if (ctx.models.store() == nullptr) throw ApiError(501, "this server has no model store");
  PullSource src;
  try {
    src = resolve_pull_name(name);
  } catch (const Error& e) {
    throw ApiError(400, e.what());
  }
  const CheckpointConverter convert = ctx.options.convert_checkpoint;
  if (src.safetensors && !convert) {
    throw ApiError(400, cat("pulling the safetensors checkpoint ", src.repo,
                            " needs a conversion this server cannot do: run `smolvlm pull ", name,
                            "` instead, or pull a GGUF repository (hf.co/ORG/REPO[:QUANT])"));
  }
  ModelStore* store = ctx.models.store();
  const HubConfig cfg = HubConfig::from_env();

  if (!stream) {
    try {
      pull_model(*store, name, cfg, {}, convert);
    } catch (const std::exception& e) {
      throw ApiError(500, e.what());
    }
    return send_json(res, {{"status", "success"}});
  }
  res.set_chunked_content_provider(
      "application/x-ndjson", [store, name, cfg, convert](size_t, httplib::DataSink& sink) {
        auto line = [&](const json& l) {
          const std::string s = l.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
          return sink.write(s.data(), s.size());
        };
        Throttle throttle;
        try {
          pull_model(*store, name, cfg, [&](const PullEvent& e) {
            if (throttle.pass(e) && !line(event_json(e))) throw ClientGone();
          }, convert);
        } catch (const ClientGone&) {
          return false;  // nobody to tell
        } catch (const std::exception& e) {
          note_request_error(e.what());
          line({{"error", e.what()}});
        }
        sink.done();
        return true;
      });
}

}  // namespace

void add_pull_route(Router& r, const RouteContext& ctx) {
  r.post("/api/pull", [ctx](const httplib::Request& req, httplib::Response& res) { pull(ctx, req, res); });
}

}  // namespace smolvlm::server
