// `smolvlm serve`: Ollama's REST API and the OpenAI-compatible /v1 routes over cpp-httplib
// (reference/ollama-contract.md §0-§2). Every connection is served on its own pool thread, so a
// request waiting for a model slot never blocks another's I/O. Host-header and Origin checks, CORS
// and the request body limit (413) as §0 describes.
//
//   HttpServer server(options_from_env(), store_source(ModelStore::default_root()));
//   int port = server.bind();   // port 0 in the options: any free port
//   server.run();               // until stop() (from another thread or a signal handler's thread)
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/generation.h"
#include "server/model_manager.h"
#include "store/create.h"
#include "store/pull.h"

namespace httplib {
class Server;
}

namespace smolvlm::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 11434;                      // 0: any free port
  std::vector<std::string> origins;      // OLLAMA_ORIGINS (added to the built-in ones)
  size_t max_body_bytes = 512u << 20;    // larger bodies: 413 (SMOLVLM_MAX_BODY)
  int http_threads = 0;                  // 0: 64
  ManagerConfig manager;
  TemplateRenderer renderer;             // Modelfile TEMPLATE support (null: native template only)
  // The converter and the quantizer live above the server (src/convert); the program passes them.
  CheckpointConverter convert_checkpoint;  // /api/pull of HuggingFaceTB/... checkpoints (null: 400)
  ModelQuantizer quantize;                 // /api/create "quantize" (null: 400)
};

// OLLAMA_HOST's forms: [scheme://]host[:port][/path]; quotes and spaces trimmed; no scheme -> port
// 11434, http:// -> 80, https:// -> 443; an empty host ("":port) binds every interface.
struct HostAddress {
  std::string scheme = "http";
  std::string host = "127.0.0.1";
  int port = 11434;
};
HostAddress parse_host(const std::string& value);
// SMOLVLM_HOST (else OLLAMA_HOST), OLLAMA_ORIGINS, OLLAMA_NUM_PARALLEL, OLLAMA_MAX_QUEUE,
// OLLAMA_MAX_LOADED_MODELS, OLLAMA_KEEP_ALIVE, SMOLVLM_MAX_BODY. Throws Error for a malformed value.
ServerOptions options_from_env();

// The Host-header check for a server bound to loopback (§0): empty, localhost, this machine's name,
// *.localhost / *.local / *.internal, or a loopback / private / unspecified IP.
bool host_allowed(const std::string& host_header);
// Origin allowed by the built-in list plus `extra` (glob patterns, "*" matches anything).
bool origin_allowed(const std::string& origin, const std::vector<std::string>& extra);

// Whether a request would be served now (GET /ready): not while preloads run or once a drain began.
struct ServerState {
  std::atomic<bool> draining{false};
  std::atomic<int> preloading{0};
  std::atomic<bool> preload_failed{false};  // a --preload model could not be loaded (the log says why)
  bool ready() const { return !draining && preloading == 0 && !preload_failed; }
};

class HttpServer {
 public:
  HttpServer(ServerOptions options, ModelSource source);
  ~HttpServer();

  int bind();   // binds host:port; returns the port. Throws Error when it cannot.
  void run();   // serves (after bind()) until stop(); returns at once if stop() came first
  void start(); // bind() if needed, then run() on a background thread
  void stop();  // safe from any thread, before or during run()
  // Loads these models on a background thread, pinned (they stay loaded whatever keep_alive requests
  // give); /ready answers 503 until every one is loaded, and stays 503 when one fails (logged).
  void preload(const std::vector<std::string>& names);
  // A graceful stop, for SIGTERM: /ready turns 503 at once; requests are served as before for
  // `grace` (balancers notice), then new ones get 503 (Retry-After) while those in flight,
  // streams included, finish; those still running `timeout` after the drain began are cancelled
  // with a 503 "shutting down" error. Then the listener closes; returns when run() has returned.
  void drain(std::chrono::milliseconds grace, std::chrono::milliseconds timeout);
  const ServerState& state() const { return state_; }
  int port() const { return port_; }
  ModelManager& models() { return *models_; }
  const ServerOptions& options() const { return options_; }

 private:
  void setup_routes();

  ServerOptions options_;
  std::unique_ptr<ModelManager> models_;
  std::unique_ptr<httplib::Server> http_;
  int port_ = -1;
  bool loopback_ = true;
  std::thread thread_;
  std::atomic<bool> stop_requested_{false}, in_run_{false};
  ServerState state_;
  std::thread preload_;
  std::atomic<int> in_flight_{0};    // requests routed and not yet answered (streams: until their end)
  std::atomic<bool> closing_{false}; // a drain past its grace: new requests get 503
};

}  // namespace smolvlm::server
