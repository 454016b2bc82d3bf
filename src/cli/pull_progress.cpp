// Pulling with `ollama pull`'s progress lines, through a running server or in this process.
#include "cli/pull_progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "base/error.h"
#include "base/progress.h"
#include "cli/model_conversion.h"
#include "cli/server_autostart.h"
#include "store/pull.h"

namespace smolvlm::cli {
namespace {

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

}  // namespace

void pull_with_progress(const std::string& name, int parallel) {
  PullPrinter printer;
  if (const auto server = running_server()) {
    server->post_stream("/api/pull", {{"model", name}}, [&](const nlohmann::json& j) {
      printer(event_from(j));
      return true;
    });
    return;
  }
  HubConfig cfg = HubConfig::from_env();
  cfg.parallel = std::max(1, parallel);
  ModelStore store(ModelStore::default_root());
  pull_model(store, name, cfg, [&](const PullEvent& e) { printer(e); }, convert_checkpoint);
}

bool pullable(const std::string& name) {
  try {
    (void)resolve_pull_name(name);
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace smolvlm::cli

