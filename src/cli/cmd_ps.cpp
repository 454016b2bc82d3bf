// `smolvlm ps`: the models a running server has loaded (GET /api/ps), as `ollama ps` prints them:
// NAME ID SIZE PROCESSOR CONTEXT UNTIL.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "backend/offload_plan.h"
#include "cli/command.h"
#include "cli/table_format.h"
#include "cli/server_client.h"

namespace smolvlm::cli {
namespace {

// Ollama's humanDuration ("4 minutes", "About an hour").
std::string human_duration(double s) {
  auto n = [](double x, const char* unit) { return cat(static_cast<long>(x), " ", unit); };
  if (s < 1) return "Less than a second";
  if (s < 2) return "1 second";
  if (s < 60) return n(s, "seconds");
  if (s < 120) return "About a minute";
  if (s < 3600) return n(s / 60, "minutes");
  if (s < 7200) return "About an hour";
  if (s < 86400 * 2) return n(s / 3600, "hours");
  if (s < 86400 * 14) return n(s / 86400, "days");
  if (s < 86400 * 60) return n(s / (86400 * 7), "weeks");
  if (s < 86400 * 730) return n(s / (86400 * 30), "months");
  return n(s / (86400 * 365), "years");
}

// UNTIL from expires_at (RFC 3339): "4 minutes from now", "Forever" (20+ years), "Stopping...".
std::string until(const std::string& rfc3339) {
  const auto t = parse_rfc3339_utc(rfc3339);
  if (!t) return rfc3339;
  const double ahead = std::difftime(*t, std::time(nullptr));
  if (ahead < 0) return "Stopping...";
  if (ahead > 20.0 * 365 * 86400) return "Forever";
  return human_duration(ahead) + " from now";
}

int run_ps() {
  const nlohmann::json j = ServerClient().get("/api/ps");
  std::vector<std::vector<std::string>> rows = {{"NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"}};
  for (const auto& m : j.value("models", nlohmann::json::array())) {
    const int64_t size = m.value("size", int64_t{0}), vram = m.value("size_vram", int64_t{0});
    rows.push_back({m.value("name", ""), m.value("digest", "").substr(0, 12), human_bytes(size), backend::processor_string(uint64_t(size), uint64_t(vram)),
                    std::to_string(m.value("context_length", int64_t{0})), until(m.value("expires_at", ""))});
  }
  print_table(rows);
  return 0;
}

const CommandRegistrar kRegistrar{Command{
    "ps",
    [](CLI::App& app) {
      return app.add_subcommand("ps", "List the models a running server has loaded (SMOLVLM_HOST / OLLAMA_HOST)");
    },
    [] { return run_ps(); },
    24,
    ""}};

}  // namespace
}  // namespace smolvlm::cli
