// `smolvlm quantize IN.gguf OUT.gguf TYPE [--threads N] [--dry-run] [--force]`
#include <cstdio>
#include <memory>

#include "base/error.h"
#include "cli/command.h"
#include "convert/quantize_model.h"

namespace smolvlm::cli {
namespace {

struct QuantizeArgs {
  std::string input, output, type;
  int threads = 0;
  bool dry_run = false;
  bool force = false;
};

int run_quantize(const QuantizeArgs& a) {
  const auto target = parse_quant_target(a.type);
  if (!target) fail("unknown quantization type '", a.type, "'; valid types: ", quant_target_list());
  QuantizeOptions o;
  o.input = a.input;
  o.output = a.output;
  o.target = *target;
  o.threads = a.threads;
  o.dry_run = a.dry_run;
  o.overwrite = a.force;
  const QuantizeReport r = quantize_model(o);
  if (a.dry_run) {
    std::fputs(format_quant_plan(r).c_str(), stdout);
    std::printf("dry run: nothing written\n");
    return 0;
  }
  size_t converted = 0;
  for (const auto& e : r.plan) converted += e.convert();
  std::printf("%s: %zu tensors (%zu converted), %.2f MiB -> %.2f MiB of tensor data\n", a.output.c_str(),
              r.plan.size(), converted, double(r.bytes_in) / (1 << 20), double(r.bytes_out) / (1 << 20));
  return 0;
}

QuantizeArgs args;  // filled by CLI11 when the command line is parsed

const CommandRegistrar kRegistrar{Command{
    "quantize",
    [](CLI::App& app) {
      CLI::App* sub = app.add_subcommand(
          "quantize", "Quantize a GGUF file exactly like llama.cpp's llama-quantize (text: " + quant_target_list() +
                          "; mmproj: " + quant_target_list(true) + ")");
      sub->add_option("input", args.input, "Input GGUF file (llama text model or clip mmproj)")->required();
      sub->add_option("output", args.output, "Output GGUF file")->required();
      sub->add_option("type", args.type, "Target type: " + quant_target_list())->required();
      sub->add_option("--threads,-t", args.threads, "Worker threads (default: all cores)")->check(CLI::NonNegativeNumber);
      sub->add_flag("--dry-run", args.dry_run, "Print the per-tensor plan and write nothing");
      sub->add_flag("--force,-f", args.force, "Overwrite an existing output file");
      return sub;
    },
    [] { return run_quantize(args); },
    30,
    {}}};

}  // namespace
}  // namespace smolvlm::cli
