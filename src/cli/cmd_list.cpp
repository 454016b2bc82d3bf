// `smolvlm list`: the models in the Ollama store, as `ollama list` prints them (NAME ID SIZE MODIFIED).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "base/error.h"
#include "cli/command.h"
#include "store/model_store.h"

namespace smolvlm::cli {
namespace {

// Ollama's HumanBytes: decimal units, one decimal below 10.
std::string human_bytes(int64_t b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1000 && u < 4) v /= 1000, ++u;
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(b));
  else if (v < 10) std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  else std::snprintf(buf, sizeof buf, "%.0f %s", v, units[u]);
  return buf;
}

// "2 hours ago"-style, from an RFC 3339 UTC time.
std::string human_time(const std::string& rfc3339) {
  std::tm tm{};
  if (!strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return rfc3339;
  const double secs = std::difftime(std::time(nullptr), timegm(&tm));
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
  const ModelStore store(ModelStore::default_root());
  std::vector<std::vector<std::string>> rows = {{"NAME", "ID", "SIZE", "MODIFIED"}};
  for (const auto& m : store.list()) {
    rows.push_back({m.short_name, m.digest.substr(0, 12), human_bytes(m.size), human_time(m.modified_at)});
  }
  std::vector<size_t> width(4, 0);
  for (const auto& r : rows) {
    for (size_t i = 0; i < 4; ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < 4; ++i) line += i + 1 < 4 ? r[i] + std::string(width[i] - r[i].size() + 4, ' ') : r[i];
    std::printf("%s\n", line.c_str());
  }
  return 0;
}

const CommandRegistrar kRegistrar{Command{
    "list",
    [](CLI::App& app) {
      CLI::App* sub = app.add_subcommand("list", "List the models in the Ollama model store");
      sub->alias("ls");
      return sub;
    },
    [] { return run_list(); },
    22,
    ""}};

}  // namespace
}  // namespace smolvlm::cli
