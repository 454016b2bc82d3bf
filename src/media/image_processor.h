// SmolVLM's image processor, bit-exact with transformers' PIL ("slow") SmolVLMImageProcessor
// (smolvlm2-spec §7): every resize is Pillow LANCZOS on uint8 (media/resample.h).
//
//   step A  resize so the longest edge is L (int() truncation, odd short side bumped to even);
//   step B  (splitting) resize so both sides are multiples of the tile M (short side rounded up);
//   step C  (splitting) M x M tiles of the step-B image, row-major, then the global view = the
//           step-B image resized to M x M, appended last. Without splitting (or when step B gives
//           M x M) the single frame is the step-A image resized to M x M, rows = cols = 0;
//   step D  float32 channels-first: v = float(x * (1/255 as double)), out = (v - 0.5f) / 0.5f.
//
// Resolution control (ours, not transformers'): with split on and max_tiles > 0, step A uses the
// largest edge L' in {L, L - M, L - 2M, ...} (values > M) whose step-B grid has rows * cols <=
// max_tiles; if none fits, L' = min(L, M), which always yields one unsplit M x M frame. The global
// view is not counted. Tokens per image = rows * cols * (seq + 2) + rows + seq + 3 (split) or
// seq + 3 (see media/image_prompt.h).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "media/image.h"

namespace smolvlm {

struct ImageProcessorConfig {
  int longest_edge = 2048;  // size.longest_edge (L): 2048 for 256M/500M, 1536 for 2.2B
  int tile = 512;           // max_image_size.longest_edge (M): 512 / 384
  bool split = true;        // do_image_splitting
  int max_tiles = 0;        // 0: no limit; else rows * cols <= max_tiles (see above)
};

struct ImageSize {
  int height = 0;
  int width = 0;
  bool operator==(const ImageSize&) const = default;
};

// Step A target size (transformers' get_resize_output_image_size with the 4096 cap).
ImageSize step_a_size(int height, int width, int longest_edge);
// Step B target size (resize_for_vision_encoder).
ImageSize step_b_size(int height, int width, int tile);

// The geometry of one image under a config, without touching pixels.
struct ImagePlan {
  ImageSize input;
  int longest_edge = 0;  // the step-A edge used (config.longest_edge unless max_tiles lowered it)
  ImageSize step_a;
  ImageSize step_b;  // {0, 0} without splitting
  int rows = 0;      // 0 / 0 when the image is a single frame
  int cols = 0;
  int num_frames = 0;  // rows * cols + 1 when split, else 1
};
// Throws smolvlm::Error for an empty input or an invalid config.
ImagePlan plan_image(int height, int width, const ImageProcessorConfig& config);

struct ProcessedImage {
  ImagePlan plan;
  int tile = 0;
  std::vector<RgbImage> frames;  // tile x tile each: tiles row-major, then the global view
  RgbImage step_a;               // intermediates, only kept when asked for
  RgbImage step_b;

  // float32 [num_frames, 3, tile, tile] (step D); `threads` as for preprocess_image.
  std::vector<float> pixel_values(int threads = 1) const;
};

// Runs steps A-C. `threads` <= 0: all hardware threads (results do not depend on it).
ProcessedImage preprocess_image(const RgbImage& image, const ImageProcessorConfig& config, int threads = 1,
                                bool keep_intermediates = false);

// Step D for one frame: writes 3 * height * width floats, channel planes R, G, B.
void normalize_frame(const RgbImage& frame, float* out_chw);
// The 256 possible normalized values (index = uint8 input).
const std::array<float, 256>& normalize_lut();

}  // namespace smolvlm
