// What operators and balancers ask a replica: GET /health (alive), /ready (would a request be
// served now: not while --preload models load or once a drain began), /metrics (Prometheus), and
// a clear 501 for the Ollama routes this server does not implement.
#include "base/error.h"
#include "server/metrics.h"
#include "server/routes.h"

namespace smolvlm::server {

void add_ops_routes(Router& r, const RouteContext& ctx) {
  r.get("/health", [](const httplib::Request&, httplib::Response& res) { send_json(res, {{"status", "ok"}}); });
  r.get("/ready", [ctx](const httplib::Request&, httplib::Response& res) {
    const ServerState& s = ctx.state;
    if (s.ready()) return send_json(res, {{"status", "ready"}});
    const char* why = s.draining         ? "draining: this replica is shutting down"
                      : s.preload_failed ? "a --preload model failed to load (see the log)"
                                         : "loading the --preload models";
    send_json(res, {{"status", "unavailable"}, {"error", why}}, 503);
    res.set_header("Retry-After", "1");
  });
  r.get("/metrics", [ctx](const httplib::Request&, httplib::Response& res) {
    res.set_content(ctx.models.metrics.render(ctx.models.gauges(), ctx.state.ready()), "text/plain; version=0.0.4; charset=utf-8");
  });
  // Ollama's routes that a SmolVLM2 server has no use for: Ollama's error shape, not a bare 404.
  for (const char* path : {"/api/push", "/api/embed", "/api/embeddings", "/v1/embeddings"}) {
    const std::string p = path;
    r.post(path, [p](const httplib::Request&, httplib::Response&) {
      throw ApiError(501, cat(p, " is not implemented by smolvlm: SmolVLM2 is a generative model (no embedding "
                                 "endpoint), and models are pushed with `smolvlm export` + `ollama push`"));
    }, p.starts_with("/v1/") ? ErrorShape::kOpenAI : ErrorShape::kOllama);
  }
}

}  // namespace smolvlm::server
