// `smolvlm devices [--json]`: the Vulkan devices this machine has (index, name, type, memory,
// driver, the features smolvlm uses), which one runs models by default, and why one cannot.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backend/offload_plan.h"
#include "backend/vulkan/device.h"
#include "cli/command.h"
#include "cli/table_format.h"

namespace smolvlm::cli {
namespace {

bool json_out = false;

int run_devices() {
  std::string why;
  const std::vector<vk::DeviceInfo> list = vk::list_devices(&why);
  const int chosen = vk::default_device(list);
  if (json_out) {
    nlohmann::ordered_json j = {{"devices", nlohmann::json::array()}, {"default", chosen}};
    if (list.empty()) j["why_none"] = why;
    for (const vk::DeviceInfo& d : list) {
      nlohmann::ordered_json e = {{"index", d.index},       {"name", d.name},   {"type", d.type},
                                  {"memory", d.memory},     {"free", d.budget}, {"driver", d.driver},
                                  {"vulkan", d.api},        {"usable", d.usable}, {"features", d.features}};
      if (!d.usable) e["unusable_reason"] = d.unusable_reason;
      j["devices"].push_back(e);
    }
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  if (list.empty()) {
    std::printf("No Vulkan device: %s. Models run on the CPU.\n", why.c_str());
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"INDEX", "NAME", "TYPE", "MEMORY", "FREE", "DRIVER", "FEATURES"}};
  for (const vk::DeviceInfo& d : list) {
    std::string features;
    for (const std::string& f : d.features) features += (features.empty() ? "" : ", ") + f;
    if (!d.usable) features = "cannot run smolvlm: " + d.unusable_reason;
    rows.push_back({std::to_string(d.index) + (d.index == chosen ? "*" : ""), d.name, d.type,
                    backend::human_bytes(d.memory), backend::human_bytes(d.budget), d.driver, features});
  }
  print_table(rows);
  if (chosen >= 0)
    std::printf("\n* the default (first discrete GPU, else an integrated one); choose another with --device N|NAME "
                "or SMOLVLM_DEVICE, or --device cpu.\n");
  else
    std::printf("\nNo discrete or integrated GPU: models run on the CPU unless a device is named (--device N|NAME "
                "or SMOLVLM_DEVICE; a CPU-type device such as lavapipe is slower than smolvlm's own CPU kernels).\n");
  return 0;
}

const CommandRegistrar kRegistrar{Command{
    "devices",
    [](CLI::App& app) {
      CLI::App* sub = app.add_subcommand("devices", "List the GPUs (Vulkan devices) smolvlm can run models on");
      sub->add_flag("--json", json_out, "Print JSON");
      return sub;
    },
    [] { return run_devices(); },
    85,
    ""}};

}  // namespace
}  // namespace smolvlm::cli
