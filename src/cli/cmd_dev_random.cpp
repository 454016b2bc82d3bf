// `smolvlm dev random-checkpoint CONFIG SEED OUT_DIR`: a random-weight SmolVLM2 checkpoint in
// Hugging Face format, byte-identical to golden/tools/make_tiny_model.py (see
// convert/random_checkpoint.h).
#include <chrono>
#include <cstdio>

#include "cli/command.h"
#include "convert/model_configs.h"
#include "convert/random_checkpoint.h"

namespace smolvlm::cli {
namespace {

struct Args {
  RandomCheckpointOptions opt;
  bool quiet = false;
  bool no_progress = false;
};

Args& args() {
  static Args a;
  return a;
}

CLI::App* setup(CLI::App& app) {
  auto& a = args();
  auto* c = app.add_subcommand("random-checkpoint",
                               "Write a random-weight SmolVLM2 checkpoint (Hugging Face folder) like "
                               "golden/tools/make_tiny_model.py");
  c->footer(
      "CONFIG: tiny512, tiny384 (about 2M parameters, f32 by default) or real256m, real500m, real2b (the real\n"
      "SmolVLM2 shapes, bf16 by default). real* configs need --tokenizer DIR, whose tokenizer files are copied\n"
      "byte for byte. tiny* configs build the synthetic tokenizer from --merges FILE\n"
      "(golden/tools/tiny_merges.txt); without it the folder gets no tokenizer files.");
  c->add_option("CONFIG", a.opt.config, "Model configuration")->required()->check(CLI::IsMember(model_config_names()));
  c->add_option("SEED", a.opt.seed, "Generator seed (the golden checkpoints use 1)")->required();
  c->add_option("OUT_DIR", a.opt.out_dir, "Output folder (created if missing)")->required();
  c->add_option("--dtype", a.opt.dtype, "Weight dtype (default: f32 for tiny*, bf16 for real*)")
      ->check(CLI::IsMember({"f32", "bf16"}));
  c->add_option("--tokenizer", a.opt.tokenizer_dir, "Folder with the real SmolVLM tokenizer files (real* only; without it, a synthetic tokenizer of the real "
                  "vocabulary size)");
  c->add_option("--merges", a.opt.merges_file, "tiny_merges.txt for the synthetic tokenizer (tiny* only)");
  c->add_option("-t,--threads", a.opt.threads, "Worker threads (default: all cores)")->check(CLI::NonNegativeNumber);
  c->add_flag("-f,--force", a.opt.force, "Overwrite existing files");
  c->add_flag("--no-progress", a.no_progress, "Never draw a progress bar");
  c->add_flag("-q,--quiet", a.quiet, "Print nothing on success");
  return c;
}

int run() {
  auto& a = args();
  if (a.no_progress) a.opt.progress = 0;
  const auto t0 = std::chrono::steady_clock::now();
  const RandomCheckpointResult r = make_random_checkpoint(a.opt);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!r.tokenizer_written) {
    std::fprintf(stderr,
                 "note: no --merges FILE given: no tokenizer files written (use golden/tools/tiny_merges.txt)\n");
  }
  if (!a.quiet) {
    std::printf("wrote %s: config %s, %lld tensors, %lld parameters, %s, vocab %lld, model.safetensors %llu bytes, "
                "%.1f s\n",
                a.opt.out_dir.c_str(), a.opt.config.c_str(), static_cast<long long>(r.n_tensors),
                static_cast<long long>(r.n_params), r.dtype.c_str(), static_cast<long long>(r.n_vocab),
                static_cast<unsigned long long>(r.safetensors_bytes), secs);
  }
  return 0;
}

const CommandRegistrar kRegistrar{Command{
    .name = "random-checkpoint",
    .setup = setup,
    .run = run,
    .order = 900,
    .parent = "dev",
}};

}  // namespace
}  // namespace smolvlm::cli
