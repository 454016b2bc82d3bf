// The image half of `smolvlm bench MODEL --mmproj MMPROJ --image IMG`: per-tile encode time, whole-
// image time (decode + preprocess + encode of every tile), prefill rate of the image prompt and
// time to first token for "Describe this image." from the image file, on a cold media cache.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "kernels/thread_pool.h"

namespace smolvlm::cli {

struct ImageBenchArgs {
  std::string text, mmproj, image;
  int repeats = 3;        // timed runs of each measure (median reported)
  int64_t num_gpu = -1;   // where the model runs (LoadOptions)
  std::string device;
};

// Runs the measures, prints a table unless json, and returns the figures as JSON keys
// encode_tile_s, encode_image_s, ttft_s, pp_image, image_frames, image_prompt_tokens,
// flops_per_tile, peak_gflops, tile_of_peak (the CPU's FMA peak: for a projector on the CPU),
// vision_device, [vision_matmul: "tensor cores" or "shader cores", for a GPU].
nlohmann::ordered_json bench_image(const ImageBenchArgs& a, kernels::ThreadPool& pool, bool json);

}  // namespace smolvlm::cli
