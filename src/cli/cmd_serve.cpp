// `smolvlm serve [--host HOST]`: the Ollama-compatible server (src/server) on 127.0.0.1:11434 by
// default (SMOLVLM_HOST, else OLLAMA_HOST; --host wins), models from $OLLAMA_MODELS or
// ~/.ollama/models. Ctrl-C (SIGINT) or SIGTERM stops it cleanly: requests in flight end, then it exits.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <thread>

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
  const int port = server.bind();
  std::printf("smolvlm serve: listening on %s:%d (Ollama API %s, models in %s)\n", options.host.c_str(), port,
              "0.33.0", root.c_str());
  std::fflush(stdout);
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&set, &sig);
    if (sig != SIGUSR1) {
      std::fprintf(stderr, "\nsmolvlm serve: stopping\n");
      server.stop();
    }
  });
  server.run();
  pthread_kill(waiter.native_handle(), SIGUSR1);
  waiter.join();
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
          "format \"json\" and JSON schemas are enforced by constrained decoding (docs/SERVER.md).");
      sub->add_option("--host", args.host, "Listen address, as OLLAMA_HOST (overrides the environment)");
      add_device_options(sub, args.num_gpu, args.device);
      return sub;
    },
    [] { return run_serve(); },
    5,
    {}}};

}  // namespace
}  // namespace smolvlm::cli
