// `smolvlm dev preprocess IMAGE [--size 2048] [--tile 512] [--no-split] [--max-tiles N] [--seq N]
//                         [--threads N] --out TILES.npy [--float]`
//
// Runs SmolVLM's image processor (transformers' PIL SmolVLMImageProcessor, bit-exact) on IMAGE and
// writes the frames — tiles row-major, then the global view — as
//   uint8   [frames, S, S, 3]   (default; RGB interleaved, S = --tile)
//   float32 [frames, 3, S, S]   (--float; normalized (x/255 - 0.5) / 0.5, what the encoder takes).
// stdout, one "key value" per line, then the expansion of one <image> placeholder:
//   input WxH / step_a WxH / step_b WxH (or "none" without splitting) / longest_edge L /
//   rows R / cols C / frames N / tokens T / "prompt:" followed by the text, verbatim, no newline added.
// --seq is image_seq_len (tokens per frame): default 64 for --tile 512, 81 for --tile 384.
#include <cstdio>
#include <string>
#include <vector>

#include "base/error.h"
#include "cli/command.h"
#include "cli/npy.h"
#include "media/image_decode.h"
#include "media/image_processor.h"
#include "media/image_prompt.h"

namespace smolvlm::cli {
namespace {

struct PreprocessArgs {
  std::string image, out;
  int size = 2048, tile = 512, max_tiles = 0, seq = 0, threads = 0;
  bool no_split = false, as_float = false;
};
PreprocessArgs args;

int run_preprocess(const PreprocessArgs& a) {
  ImageProcessorConfig cfg;
  cfg.longest_edge = a.size;
  cfg.tile = a.tile;
  cfg.split = !a.no_split;
  cfg.max_tiles = a.max_tiles;
  int seq = a.seq;
  if (seq == 0) {
    if (a.tile == 512)
      seq = 64;
    else if (a.tile == 384)
      seq = 81;
    else
      fail("--seq: no default image_seq_len for --tile ", a.tile, " (64 for 512, 81 for 384); give --seq");
  }
  const RgbImage image = load_image(a.image);
  const ProcessedImage r = preprocess_image(image, cfg, a.threads);
  const auto n = static_cast<int64_t>(r.frames.size());
  const int64_t s = r.tile;
  if (a.as_float) {
    const std::vector<float> pv = r.pixel_values(a.threads);
    write_npy_f32(a.out, {n, 3, s, s}, pv);
  } else {
    std::vector<uint8_t> u8;
    u8.reserve(static_cast<size_t>(n * s * s * 3));
    for (const RgbImage& f : r.frames) u8.insert(u8.end(), f.pixels.begin(), f.pixels.end());
    write_npy(a.out, "|u1", {n, s, s, 3}, u8.data(), u8.size());
  }
  const ImagePlan& p = r.plan;
  std::printf("input %dx%d\n", p.input.width, p.input.height);
  std::printf("step_a %dx%d\n", p.step_a.width, p.step_a.height);
  if (cfg.split)
    std::printf("step_b %dx%d\n", p.step_b.width, p.step_b.height);
  else
    std::printf("step_b none\n");
  std::printf("longest_edge %d\nrows %d\ncols %d\nframes %d\n", p.longest_edge, p.rows, p.cols, p.num_frames);
  std::printf("tokens %lld\n", static_cast<long long>(image_prompt_num_tokens(p.rows, p.cols, seq)));
  const std::string prompt = image_prompt_text(p.rows, p.cols, seq);
  std::printf("prompt:\n");
  std::fwrite(prompt.data(), 1, prompt.size(), stdout);
  std::fflush(stdout);
  return 0;
}

const CommandRegistrar kRegistrar{Command{
    "preprocess",
    [](CLI::App& app) {
      CLI::App* sub = app.add_subcommand(
          "preprocess", "Run SmolVLM's image processor on an image: tiles as .npy, rows/cols, prompt text");
      sub->footer(
          "Writes the frames (tiles row-major, then the global view) as uint8 .npy [frames, S, S, 3], or with\n"
          "--float normalized float32 [frames, 3, S, S]. Prints 'key value' lines (input, step_a, step_b,\n"
          "longest_edge, rows, cols, frames, tokens), then 'prompt:' and the text that replaces one <image>.\n"
          "--max-tiles N lowers the step-A edge (in steps of the tile) until rows*cols <= N.");
      sub->add_option("image", args.image, "Image file (JPEG, PNG, WebP, GIF, BMP)")
          ->required()
          ->check(CLI::ExistingFile);
      sub->add_option("--out,-o", args.out, "Output .npy")->required();
      sub->add_option("--size", args.size, "Longest edge of step A (size.longest_edge)")->capture_default_str();
      sub->add_option("--tile", args.tile, "Tile size (max_image_size.longest_edge)")->capture_default_str();
      sub->add_flag("--no-split", args.no_split, "One frame: the image resized to tile x tile");
      sub->add_option("--max-tiles", args.max_tiles, "At most N tiles (0: no limit)")->check(CLI::NonNegativeNumber);
      sub->add_option("--seq", args.seq, "Tokens per frame in the prompt (default 64 for tile 512, 81 for 384)")
          ->check(CLI::PositiveNumber);
      sub->add_flag("--float", args.as_float, "Write normalized float32 [frames, 3, S, S] instead of uint8");
      sub->add_option("--threads,-t", args.threads, "Threads (default: all)")->check(CLI::NonNegativeNumber);
      return sub;
    },
    [] { return run_preprocess(args); }, 110, "dev"}};

}  // namespace
}  // namespace smolvlm::cli
