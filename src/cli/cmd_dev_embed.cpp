// `smolvlm dev embed MMPROJ.gguf --tiles TILES.npy --out EMB.npy [--threads N]
//                   [--post-ln FILE.npy] [--embeddings FILE.npy] [--tiles-per-pass N]`
//
// Runs SmolVLM2's vision encoder and connector on normalized float32 tiles [frames, 3, S, S]
// (what `dev preprocess --float` writes) and writes the image embeddings as float32
// [frames, tokens_per_tile, text_hidden]; optionally the encoder input (patch embeddings +
// positions) and the post-layernorm output, each [frames, n_patches, C]. Prints the shape and the
// time per tile. SMOLVLM_FORCE_ISA picks the kernels.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "base/error.h"
#include "cli/command.h"
#include "cli/npy.h"
#include "cli/run_options.h"
#include "kernels/isa.h"
#include "kernels/thread_pool.h"
#include "model/vision/vision_model.h"

namespace smolvlm::cli {
namespace {

struct EmbedArgs {
  std::string mmproj;
  std::string tiles;
  std::string out;
  std::string post_ln;
  std::string embeddings;
  int threads = 0;
  int64_t tiles_per_pass = VisionEncodeOptions{}.max_tiles_per_pass;
};
EmbedArgs args;

int run_embed(const EmbedArgs& a) {
  const NpyArray tiles_npy = read_npy(a.tiles);
  const VisionModel model = VisionModel::open(a.mmproj);
  const VisionConfig& c = model.config();
  try {
    model.check_tiles_shape(tiles_npy.shape);
  } catch (const Error& e) {
    fail(a.tiles, ": ", e.what());
  }
  const std::vector<float> tiles = npy_floats(tiles_npy, a.tiles);
  const int64_t n = tiles_npy.shape[0];

  std::vector<float> out(static_cast<size_t>(n * c.tokens_per_tile() * c.projection_dim));
  std::vector<float> post_ln, embeddings;
  VisionEncodeOptions o;
  o.max_tiles_per_pass = a.tiles_per_pass;
  const size_t inter = static_cast<size_t>(n * c.n_patches() * c.n_embd);
  if (!a.post_ln.empty()) {
    post_ln.resize(inter);
    o.post_ln = post_ln.data();
  }
  if (!a.embeddings.empty()) {
    embeddings.resize(inter);
    o.embeddings = embeddings.data();
  }

  kernels::ThreadPool pool(a.threads);
  const auto t0 = std::chrono::steady_clock::now();
  model.encode(tiles.data(), n, out.data(), pool, o);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  write_npy_f32(a.out, {n, c.tokens_per_tile(), c.projection_dim}, out);
  if (!a.post_ln.empty()) write_npy_f32(a.post_ln, {n, c.n_patches(), c.n_embd}, post_ln);
  if (!a.embeddings.empty()) write_npy_f32(a.embeddings, {n, c.n_patches(), c.n_embd}, embeddings);
  std::printf("%s: [%lld, %lld, %lld] float32 (%s)\n", a.out.c_str(), static_cast<long long>(n),
              static_cast<long long>(c.tokens_per_tile()), static_cast<long long>(c.projection_dim),
              c.summary().c_str());
  std::printf("encoded %lld tiles in %.3f s (%.3f s per tile, %d threads, %s kernels, %.1f GFLOP/s)\n",
              static_cast<long long>(n), secs, secs / double(n), pool.size(), kernels::isa_name(kernels::active_isa()),
              model.flops_per_tile() * double(n) / secs * 1e-9);
  return 0;
}

const CommandRegistrar kRegistrar{Command{
    "embed",
    [](CLI::App& app) {
      CLI::App* sub = app.add_subcommand(
          "embed", "Run the vision encoder + connector of an mmproj GGUF on float32 tiles; embeddings as .npy");
      sub->footer(
          "Input: --tiles, a float32 .npy [frames, 3, S, S] of normalized tiles (S = clip.vision.image_size;\n"
          "`dev preprocess --float` writes one). Output: --out, float32 .npy [frames, tokens_per_tile,\n"
          "text_hidden] (64 or 81 tokens per tile, in pixel-shuffle order). --embeddings / --post-ln also\n"
          "write the encoder input and the post_layernorm output, float32 [frames, n_patches, C].\n"
          "SMOLVLM_FORCE_ISA=scalar|avx2|avx512 forces the kernels.");
      sub->add_option("mmproj", args.mmproj, "Vision projector GGUF (architecture clip, projector idefics3)")
          ->required()
          ->check(CLI::ExistingFile);
      sub->add_option("--tiles", args.tiles, "Normalized float32 tiles, .npy [frames, 3, S, S]")
          ->required()
          ->check(CLI::ExistingFile);
      sub->add_option("--out,-o", args.out, "Write the embeddings, float32 .npy [frames, tokens, text_hidden]")
          ->required();
      sub->add_option("--post-ln", args.post_ln, "Also write the post_layernorm output [frames, n_patches, C]");
      sub->add_option("--embeddings", args.embeddings, "Also write the encoder input [frames, n_patches, C]");
      sub->add_option("--threads,-t", args.threads, "Threads (default: the physical performance cores)")
          ->check(CLI::NonNegativeNumber);
      add_exact_flag(sub);
      sub->add_option("--tiles-per-pass", args.tiles_per_pass,
                      "Tiles per matrix x matrix pass through the tower (more is not faster today)")
          ->check(CLI::PositiveNumber)
          ->capture_default_str();
      return sub;
    },
    [] { return run_embed(args); },
    110,
    "dev"}};

}  // namespace
}  // namespace smolvlm::cli
