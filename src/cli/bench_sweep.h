// Cost curves for `smolvlm bench`: how the cost grows with the work, measured.
//
// Context depth (--sweep-depth): for each depth d, d random prompt tokens are prefilled once (timed:
// pp at that depth), then n_gen decode steps from depth d are timed (the cache truncated back to d
// before each repetition). The decode bound at depth d adds the KV cache a step reads (every layer's
// K and V up to its position) to the weight bytes per token.
//
// Image size (--sweep-edge): for each longest edge E (and each max_tiles setting), a synthetic image
// with E as its longest edge and the aspect ratio given goes from its file bytes (BMP) through
// decode, SmolVLM's processor and the vision tower, then the first token of "Describe this image."
// is generated: tiles, image tokens, the encode time and the time to first token, cold cache each.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kernels/thread_pool.h"

namespace smolvlm::cli {

struct DepthSweepArgs {
  std::string text;
  std::vector<int64_t> depths;  // cache positions before the timed decode steps
  int64_t n_gen = 128;          // decode steps timed at each depth
  int repeats = 3;              // timed runs per depth (median)
  bool kv_f32 = false;
  int64_t batch = 512;
  int64_t num_gpu = -1;
  std::string device;
};

// Rows {depth, tg, tg_min_max, pp, bound_tg, kv_bytes_per_token, tg_of_bound}; bandwidth_gbs is the
// CPU's measured read bandwidth (the bound assumes the CPU reads everything; with layers on a GPU
// the bound is left out).
nlohmann::ordered_json sweep_depth(const DepthSweepArgs& a, double bandwidth_gbs, kernels::ThreadPool& pool);

struct ImageSweepArgs {
  std::string text, mmproj;
  std::vector<int> edges;      // longest edges in pixels
  std::vector<int> max_tiles;  // each edge is run with each setting (0: the model's full resolution)
  double aspect = 1.0;         // width / height of the synthetic images
  int repeats = 1;             // timed runs per point (median)
  int64_t num_gpu = -1;
  std::string device;
};

// Rows {edge, width, height, max_tiles, tiles, rows, cols, image_tokens, prompt_tokens, preprocess_s,
// encode_s, ttft_s}.
nlohmann::ordered_json sweep_image(const ImageSweepArgs& a, kernels::ThreadPool& pool);

// A synthetic width x height 24-bit BMP file's bytes (a smooth pattern with some noise).
std::vector<uint8_t> synthetic_bmp(int width, int height);

// "0,1024,4096" -> {0, 1024, 4096}; throws Error naming `what` for a bad or negative entry.
std::vector<int64_t> parse_int_list(const std::string& s, const std::string& what);

}  // namespace smolvlm::cli
