// `smolvlm pull NAME`: fetches a model from the Hugging Face Hub into the Ollama store
// ($OLLAMA_MODELS or ~/.ollama/models), with `ollama pull`'s progress lines ("pulling manifest",
// one bar per file, "verifying sha256 digest", "writing manifest", "success"). NAME:
// hf.co/ORG/REPO[:QUANT] or smolvlm2:256m | 500m | 2.2b[-QUANT] (src/store/pull.h). With a server
// running, POST /api/pull (streamed) does the pull and its lines draw the same progress.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>

#include "base/error.h"
#include "base/progress.h"
#include "cli/command.h"
#include "cli/model_conversion.h"
#include "cli/server_autostart.h"
#include "store/pull.h"

namespace smolvlm::cli {
namespace {

struct PullArgs {
  std::string name;
  int parallel = 4;
};
PullArgs args;

// Draws ollama-style progress: a bar per file on a terminal, plain status lines otherwise.
class PullPrinter {
 public:
  void operator()(const PullEvent& e) {
    if (e.digest.empty() || e.total < 0) {
      end_bar();
      if (e.status != last_status_) std::fprintf(stderr, "%s\n", e.status.c_str());
      last_status_ = e.status;
      return;
    }
    if (e.digest != digest_) {
      end_bar();
      digest_ = e.digest;
      done_ = 0;
      bar_ = std::make_unique<Progress>(e.status, static_cast<uint64_t>(e.total), Progress::Unit::kBytes);
    }
    const int64_t now = std::max<int64_t>(e.completed, 0);
    if (now > done_) bar_->advance(static_cast<uint64_t>(now - done_));
    done_ = std::max(done_, now);
    if (!tty_ && now >= e.total && last_status_ != e.digest) {
      std::fprintf(stderr, "%s 100%% %lld bytes\n", e.status.c_str(), static_cast<long long>(e.total));
      last_status_ = e.digest;
    }
  }

 private:
  void end_bar() {
    if (bar_) bar_->finish();
    bar_.reset();
    digest_.clear();
  }
  bool tty_ = ::isatty(2) != 0;
  std::unique_ptr<Progress> bar_;
  std::string digest_, last_status_;
  int64_t done_ = 0;
};

// /api/pull's NDJSON lines are PullEvents: the same printer draws them.
PullEvent event_from(const nlohmann::json& j) {
  PullEvent e;
  e.status = j.value("status", "");
  e.digest = j.value("digest", "");
  if (j.contains("total") && j["total"].is_number()) e.total = j["total"].get<int64_t>();
  if (j.contains("completed") && j["completed"].is_number()) e.completed = j["completed"].get<int64_t>();
  return e;
}

int run_pull() {
  PullPrinter printer;
  if (const auto server = running_server()) {
    server->post_stream("/api/pull", {{"model", args.name}}, [&](const nlohmann::json& j) {
      printer(event_from(j));
      return true;
    });
    return 0;
  }
  HubConfig cfg = HubConfig::from_env();
  cfg.parallel = std::max(1, args.parallel);
  ModelStore store(ModelStore::default_root());
  pull_model(store, args.name, cfg, [&](const PullEvent& e) { printer(e); }, convert_checkpoint);
  return 0;
}

const CommandRegistrar kRegistrar{Command{
    "pull",
    [](CLI::App& app) {
      CLI::App* sub = app.add_subcommand(
          "pull", "Pull a model from the Hugging Face Hub into the Ollama model store "
                  "(hf.co/ORG/REPO[:QUANT], smolvlm2:256m|500m|2.2b[-QUANT], HuggingFaceTB/REPO[:QUANT] converted); honours HF_ENDPOINT, HF_TOKEN, HF_HOME");
      sub->add_option("name", args.name, "Model name, e.g. smolvlm2:2.2b or hf.co/ggml-org/SmolVLM2-2.2B-Instruct-GGUF:Q8_0")
          ->required();
      sub->add_option("--parallel", args.parallel, "Parallel ranges for large files (default 4; a pull in this process)");
      sub->footer(std::string(kStoreCommandFooter) +
                  "\nThrough a server, the server downloads with its own environment (HF_ENDPOINT, HF_TOKEN, ...).");
      return sub;
    },
    [] { return run_pull(); },
    15,
    ""}};

}  // namespace
}  // namespace smolvlm::cli
