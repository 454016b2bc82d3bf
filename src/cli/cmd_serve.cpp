// `smolvlm serve [--host HOST]`: the Ollama-compatible server (src/server) on 127.0.0.1:11434 by
// default (SMOLVLM_HOST, else OLLAMA_HOST; --host wins), models from $OLLAMA_MODELS or
// ~/.ollama/models. Ctrl-C (SIGINT) or SIGTERM stops it cleanly: requests in flight end, then it exits.
#include <malloc.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>
#include <vector>

#include "base/file_util.h"
#include "cli/command.h"
#include "cli/model_conversion.h"
#include "cli/run_options.h"
#include "server/http_server.h"
#include "server/template_renderer.h"
#include "store/model_store.h"

namespace smolvlm::cli {
namespace {

struct ServeArgs {
  std::string host;
  int64_t num_gpu = -1;
  std::string device;
  std::vector<std::string> preload;  // also SMOLVLM_PRELOAD (comma-separated)
  double shutdown_timeout = 30;      // seconds a drain gives the requests in flight
  double drain_grace = 5;            // seconds the listener keeps accepting after the signal
};
ServeArgs args;

int run_serve() {
  server::ServerOptions options = server::options_from_env();
  if (!args.host.empty()) {
    const server::HostAddress a = server::parse_host(args.host);
    options.host = a.host;
    options.port = a.port;
  }
  options.manager.num_gpu = args.num_gpu;
  options.manager.device = args.device;
  options.renderer = server::ollama_template_renderer();
  options.convert_checkpoint = convert_checkpoint;
  options.quantize = quantize_gguf;
  const std::string root = ModelStore::default_root();
  // glibc gives each of the many request threads its own malloc arena and keeps what they free:
  // under load RSS grew to arenas x the biggest request. Two arenas halve the peak (soak:
  // 408 -> 190 MiB); MALLOC_ARENA_MAX in the environment still wins.
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) ::mallopt(M_ARENA_MAX, 2);

  // Signals go to one waiting thread (blocked everywhere else, so the server threads inherit the mask).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);  // ends the waiting thread after a stop from elsewhere
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  // As `ollama serve`: unreferenced blobs older than an hour and what killed processes left go.
  if (!ModelStore::prune_disabled() && std::filesystem::is_directory(root + "/blobs")) {
    const BlobStore::Pruned p = ModelStore(root).prune_stale();
    if (p.files > 0)
      std::fprintf(stderr, "smolvlm serve: pruned %zu unused file(s) from the store (%s)\n", p.files,
                   human_bytes(static_cast<uint64_t>(p.bytes)).c_str());
  }
  server::HttpServer server(options, server::store_source(root));
  std::vector<std::string> preload = args.preload;
  if (const char* env = std::getenv("SMOLVLM_PRELOAD")) {
    std::stringstream list(env);
    for (std::string name; std::getline(list, name, ',');)
      if (!name.empty()) preload.push_back(name);
  }
  server.preload(preload);  // an unknown name fails here, before listening
  const int port = server.bind();
  std::printf("smolvlm serve: listening on %s:%d (Ollama API %s, models in %s)\n", options.host.c_str(), port,
              "0.33.0", root.c_str());
  std::fflush(stdout);
  // The first SIGTERM / SIGINT drains (HttpServer::drain); a second one exits at once.
  std::thread drainer;
  std::atomic<bool> finished{false};  // set before main ends the waiter with SIGUSR1 (another sender is ignored)
  std::thread waiter([&] {
    for (int signals = 0;;) {
      int sig = 0;
      sigwait(&set, &sig);
      if (sig == SIGUSR1) {
        if (finished) return;
        continue;
      }
      if (++signals > 1) {
        std::fprintf(stderr, "\nsmolvlm serve: second signal: exiting now\n");
        std::_Exit(128 + sig);
      }
      std::fprintf(stderr, "\nsmolvlm serve: stopping (again to exit at once)\n");
      drainer = std::thread([&] {
        const auto ms = [](double s) { return std::chrono::milliseconds(static_cast<int64_t>(s * 1000)); };
        server.drain(ms(args.drain_grace), ms(args.shutdown_timeout));
      });
    }
  });
  server.run();
  finished = true;
  pthread_kill(waiter.native_handle(), SIGUSR1);
  waiter.join();
  if (drainer.joinable()) drainer.join();
  std::fprintf(stderr, "smolvlm serve: stopped\n");
  return 0;
}

const CommandRegistrar kRegistrar{Command{
    "serve",
    [](CLI::App& app) {
      CLI::App* sub = app.add_subcommand("serve", "Start the Ollama-compatible API server");
      sub->footer(
          "Environment: SMOLVLM_HOST / OLLAMA_HOST ([scheme://]host[:port], default 127.0.0.1:11434),\n"
          "OLLAMA_MODELS, OLLAMA_ORIGINS, OLLAMA_KEEP_ALIVE (default 5m), OLLAMA_NUM_PARALLEL (1),\n"
          "OLLAMA_MAX_QUEUE (512), OLLAMA_MAX_LOADED_MODELS (3), SMOLVLM_MAX_BODY (bytes, default 512 MiB),\n"
          "SMOLVLM_DEVICE (as --device). A request's or Modelfile's num_gpu overrides --num-gpu; the log\n"
          "names the device and the split of each model loaded.\n"
          "format \"json\" and JSON schemas are enforced by constrained decoding (docs/SERVER.md).\n"
          "GET /health (alive), /ready (503 while preloading or draining), /metrics (Prometheus). SIGTERM /\n"
          "SIGINT drain: /ready turns 503, the listener closes after --drain-grace, the requests in flight\n"
          "finish within --shutdown-timeout, then the process exits 0; a second signal exits at once.");
      sub->add_option("--host", args.host, "Listen address, as OLLAMA_HOST (overrides the environment)");
      sub->add_option("--preload", args.preload,
                      "Load this model before GET /ready answers 200 (repeatable; also SMOLVLM_PRELOAD=a,b); it stays "
                      "loaded");
      sub->add_option("--shutdown-timeout", args.shutdown_timeout,
                      "Seconds the requests in flight get to finish after SIGTERM / SIGINT (default 30); then they "
                      "are cancelled")
          ->check(CLI::NonNegativeNumber);
      sub->add_option("--drain-grace", args.drain_grace,
                      "Seconds the listener keeps accepting after the signal while /ready answers 503, so that "
                      "balancers stop sending (default 5)")
          ->check(CLI::NonNegativeNumber);
      add_device_options(sub, args.num_gpu, args.device);
      return sub;
    },
    [] { return run_serve(); },
    5,
    {}}};

}  // namespace
}  // namespace smolvlm::cli
