// `smolvlm list`: the models in the Ollama store, as `ollama list` prints them (NAME ID SIZE MODIFIED):
// GET /api/tags of a running server, else the store read in this process.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "base/error.h"
#include "cli/command.h"
#include "cli/server_autostart.h"
#include "cli/table_format.h"
#include "store/model_store.h"

namespace smolvlm::cli {
namespace {

// "2 hours ago"-style, from an RFC 3339 UTC time.
std::string human_time(const std::string& rfc3339) {
  const auto t = parse_rfc3339_utc(rfc3339);
  if (!t) return rfc3339;
  const double secs = std::difftime(std::time(nullptr), *t);
  auto ago = [](double n, const char* unit) {
    const long k = std::lround(std::floor(n));
    return k == 1 ? cat(k == 1 ? "1 " : "", unit, " ago") : cat(k, " ", unit, "s ago");
  };
  if (secs < 1) return "Less than a second ago";
  if (secs < 60) return ago(secs, "second");
  if (secs < 3600) return secs < 120 ? "About a minute ago" : ago(secs / 60, "minute");
  if (secs < 86400) return secs < 7200 ? "About an hour ago" : ago(secs / 3600, "hour");
  if (secs < 86400 * 7) return ago(secs / 86400, "day");
  if (secs < 86400 * 30) return ago(secs / (86400 * 7), "week");
  if (secs < 86400 * 365) return ago(secs / (86400 * 30), "month");
  return ago(secs / (86400 * 365), "year");
}

int run_list() {
  std::vector<std::vector<std::string>> rows = {{"NAME", "ID", "SIZE", "MODIFIED"}};
  if (const auto server = running_server()) {
    const nlohmann::json j = server->get("/api/tags");
    for (const auto& m : j.value("models", nlohmann::json::array())) {
      std::string digest = m.value("digest", "");
      if (digest.rfind("sha256:", 0) == 0) digest.erase(0, 7);
      rows.push_back({m.value("name", ""), digest.substr(0, 12), human_bytes(m.value("size", int64_t{0})),
                      human_time(m.value("modified_at", ""))});
    }
  } else {
    const ModelStore store(ModelStore::default_root());
    for (const auto& m : store.list()) {
      rows.push_back({m.short_name, m.digest.substr(0, 12), human_bytes(m.size), human_time(m.modified_at)});
    }
  }
  print_table(rows);
  return 0;
}

const CommandRegistrar kRegistrar{Command{
    "list",
    [](CLI::App& app) {
      CLI::App* sub = app.add_subcommand("list", "List the models in the Ollama model store");
      sub->alias("ls");
      sub->footer(kStoreCommandFooter);
      return sub;
    },
    [] { return run_list(); },
    22,
    ""}};

}  // namespace
}  // namespace smolvlm::cli
