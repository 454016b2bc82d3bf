// Internal to the server: route registration shared by the native and OpenAI handlers.
#pragma once

#include <httplib.h>

#include <functional>
#include <set>
#include <string>

#include "server/http_server.h"

namespace smolvlm::server {

struct RouteContext {
  ModelManager& models;
  const ServerOptions& options;
  const ServerState& state;
};

enum class ErrorShape { kOllama, kOpenAI };  // {"error":"m"} or {"error":{"message":"m","type",...}}
void send_error(httplib::Response& res, int status, const std::string& message, ErrorShape shape);

// Registers handlers that answer ApiError (and any other exception, as 500) in the route's error
// shape; finish() makes every other method on a known path answer 405 "method not allowed".
// POST and DELETE bodies are read in chunks up to max_body: a larger body is drained and answered
// with 413 {"error":"request body too large"}.
class Router {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  Router(httplib::Server& s, size_t max_body) : s_(s), max_body_(max_body) {}
  void get(const std::string& path, Handler h, ErrorShape shape = ErrorShape::kOllama);  // HEAD too
  void post(const std::string& path, Handler h, ErrorShape shape = ErrorShape::kOllama);
  void del(const std::string& path, Handler h, ErrorShape shape = ErrorShape::kOllama);
  void head(const std::string& path, Handler h);  // HEAD only (GET on the path answers 405)
  // POST whose body the handler reads itself, in chunks (no body limit: blob uploads).
  using StreamHandler = std::function<void(const httplib::Request&, httplib::Response&, const httplib::ContentReader&)>;
  void post_stream(const std::string& path, StreamHandler h);
  void finish();

 private:
  Handler wrap(Handler h, ErrorShape shape) const;
  httplib::Server::HandlerWithContentReader limited(Handler h, ErrorShape shape) const;
  httplib::Server& s_;
  size_t max_body_;
  std::set<std::string> get_, post_, del_, head_;
};

// GET /health, /ready, /metrics, and Ollama's routes we do not serve (501 in Ollama's error shape).
void add_ops_routes(Router& r, const RouteContext& ctx);
void add_native_routes(Router& r, const RouteContext& ctx);      // info_handlers.cpp: /, tags, show, ps, version
void add_generation_routes(Router& r, const RouteContext& ctx);  // generate_handlers.cpp: generate, chat
void add_openai_routes(Router& r, const RouteContext& ctx);
void add_store_routes(Router& r, const RouteContext& ctx);  // store_handlers.cpp: copy, delete, create, blobs
void add_ui_routes(Router& r, const RouteContext& ctx);     // ui_handlers.cpp: the chat page, /api/media/plan

// Sends `j` compactly as application/json; charset=utf-8.
void send_json(httplib::Response& res, const nlohmann::json& j, int status = 200);

}  // namespace smolvlm::server
