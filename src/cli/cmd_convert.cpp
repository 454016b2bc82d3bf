// smolvlm convert HF_DIR [-o OUT_DIR] [--outtype f32|f16|bf16|q8_0] [--force] [--threads N]
#include <cstdio>

#include "base/error.h"
#include "cli/command.h"
#include "convert/hf_convert.h"

namespace smolvlm::cli {
namespace {

struct ConvertArgs {
  std::string hf_dir, out_dir, outtype = "f16";
  bool force = false;
  int threads = 0;
  bool no_progress = false;
};
ConvertArgs args;

CLI::App* setup(CLI::App& app) {
  CLI::App* c = app.add_subcommand(
      "convert", "Convert a Hugging Face SmolVLM2/SmolVLM checkpoint folder to a GGUF pair (text + mmproj)");
  c->footer(
      "Writes OUT_DIR/<name>-<TYPE>.gguf (arch llama) and OUT_DIR/mmproj-<name>-<TYPE>.gguf (arch clip, projector\n"
      "idefics3), exactly as llama.cpp's convert_hf_to_gguf.py lays them out. <name> is the folder's name (its\n"
      "parent's when the folder is called \"hf\"). 1-D tensors, norms and the vision embeddings stay F32; with\n"
      "q8_0, rows that are not a multiple of 32 fall back to F16.\n");
  c->add_option("HF_DIR", args.hf_dir, "Checkpoint folder (config.json, tokenizer files, *.safetensors)")->required();
  c->add_option("-o,--outdir", args.out_dir, "Output folder (default: HF_DIR)");
  c->add_option("--outtype", args.outtype, "Weight type: f32, f16, bf16 or q8_0")
      ->capture_default_str()
      ->check(CLI::IsMember({"f32", "f16", "bf16", "q8_0"}, CLI::ignore_case));
  c->add_flag("-f,--force", args.force, "Overwrite existing output files");
  c->add_option("-t,--threads", args.threads, "Worker threads (0 = all cores)")->capture_default_str()->check(
      CLI::NonNegativeNumber);
  c->add_flag("--no-progress", args.no_progress, "Do not draw a progress bar");
  return c;
}

std::string mb(uint64_t bytes) { return cat(bytes / 1000000, ".", (bytes / 100000) % 10, " MB"); }

int run() {
  ConvertOptions opt;
  opt.hf_dir = args.hf_dir;
  opt.out_dir = args.out_dir;
  opt.outtype = *parse_outtype(args.outtype);  // validated by CLI11
  opt.force = args.force;
  opt.threads = args.threads;
  opt.progress = args.no_progress ? 0 : -1;
  const ConvertResult r = convert_hf_checkpoint(opt);
  for (const std::string& n : r.notes) std::fprintf(stderr, "note: %s\n", n.c_str());
  if (!r.unused_tensors.empty()) {
    std::fprintf(stderr, "note: %zu checkpoint tensor(s) not used, e.g. %s\n", r.unused_tensors.size(),
                 r.unused_tensors.front().c_str());
  }
  for (const ConvertedFile* f : {&r.text, &r.mmproj}) {
    std::printf("wrote %s (%zu tensors, %s)\n", f->path.c_str(), f->n_tensors, mb(f->tensor_bytes).c_str());
  }
  return 0;
}

const CommandRegistrar reg{Command{"convert", setup, run, 20, ""}};

}  // namespace
}  // namespace smolvlm::cli
