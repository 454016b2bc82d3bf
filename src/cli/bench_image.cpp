#include "cli/bench_image.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <span>
#include <vector>

#include "backend/vulkan/vulkan_backend.h"
#include "base/file_util.h"
#include "cli/bench_stats.h"
#include "kernels/peak.h"
#include "media/image_decode.h"
#include "media/image_processor.h"
#include "runtime/media_encoder.h"
#include "tokenizer/chat_template.h"

namespace smolvlm::cli {
namespace {

template <typename F>
double seconds(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return seconds_since(t0);
}

}  // namespace

nlohmann::ordered_json bench_image(const ImageBenchArgs& a, kernels::ThreadPool& pool, bool json) {
  LoadOptions load;
  load.num_gpu = a.num_gpu;
  load.device = a.device;
  const auto model = LoadedModel::load(a.text, a.mmproj, load);
  const VisionModel& vision = *model->vision();
  const std::string data = read_file(a.image);
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(data.data()), data.size());

  // One tile of this image through the tower (after a warm-up run).
  const RgbImage rgb = decode_image(bytes, a.image);
  ImageProcessorConfig pc;
  pc.tile = static_cast<int>(vision.config().image_size);
  pc.longest_edge = static_cast<int>(vision.config().preproc_image_size);
  const std::vector<float> pixels = preprocess_image(rgb, pc, pool.size()).pixel_values(pool.size());
  std::vector<float> out(static_cast<size_t>(vision.config().tokens_per_tile() * vision.config().projection_dim));
  std::vector<double> tile_s, image_s, ttft_s, pp;
  vision.encode(pixels.data(), 1, out.data(), pool);
  for (int r = 0; r < a.repeats; ++r) tile_s.push_back(seconds([&] { vision.encode(pixels.data(), 1, out.data(), pool); }));

  // The whole image, and the first token of a question about it, each from the file's bytes with
  // an empty media cache and a fresh session.
  int64_t frames = 0, prompt_tokens = 0;
  GenerateOptions first_token;
  first_token.sampling.temperature = 0;
  first_token.num_predict = 1;
  for (int r = 0; r < a.repeats; ++r) {
    image_s.push_back(seconds([&] { frames = MediaEncoder(model).image(bytes, a.image, {}, pool)->n_frames; }));
    GenerateResult g;
    ttft_s.push_back(seconds([&] {
      MediaEncoder media(model);
      const std::vector<std::shared_ptr<const EncodedMedia>> items = {media.image(bytes, a.image, {}, pool)};
      const std::string text = render_chat({{"user", {ChatItem::image(), ChatItem::make_text("Describe this image.")}}});
      Session session(model, {}, pool);
      g = session.generate(build_prompt(model->tokenizer(), text, items), first_token, [](std::string_view) { return true; });
    }));
    prompt_tokens = g.prompt_tokens;
    pp.push_back(static_cast<double>(g.prompt_tokens) / g.prompt_seconds);
  }
  // The tile's arithmetic against the peak of the instruction its matrices run on (kernels/peak.h).
  const GgmlType wt = vision.weights().layers.front().fc1->type();
  const bool integer = wt != GgmlType::F32 && wt != GgmlType::F16 && wt != GgmlType::BF16;
  const kernels::Peaks peaks = kernels::measure_peaks(pool);
  const double flops = vision.flops_per_tile(), peak = kernels::peak_for(peaks, integer, wt == GgmlType::BF16);
  const char* peak_kind = peak == peaks.int8 ? "int8" : peak == peaks.bf16 ? "bf16" : "FMA";

  nlohmann::ordered_json j;
  j["encode_tile_s"] = median(tile_s);
  j["encode_image_s"] = median(image_s);
  j["ttft_s"] = median(ttft_s);
  j["pp_image"] = median(pp);
  j["image_frames"] = frames;
  j["image_prompt_tokens"] = prompt_tokens;
  j["flops_per_tile"] = flops;
  j["vision_matmul_type"] = ggml_type_name(wt);  // as the matrices run (F16 runs as BF16 where vdpbf16ps is)
  j["peak_gflops"] = peak / 1e9;
  j["peak_kind"] = peak_kind;
  j["tile_of_peak"] = flops / median(tile_s) / peak;
  j["vision_device"] = vision.device().name();
  if (!vision.device().is_cpu()) j["vision_matmul"] = vk::uses_tensor_cores(vision.device()) ? "tensor cores" : "shader cores";
  if (!json) {
    const std::string name = std::filesystem::path(a.image).filename().string();
    std::printf("image %s (%dx%d): %lld frames, prompt %lld tokens; median of %d runs, cold media cache; vision on %s\n",
                name.c_str(), rgb.width, rgb.height, static_cast<long long>(frames),
                static_cast<long long>(prompt_tokens), a.repeats, vision.device().name().c_str());
    std::printf("  encode one tile   %8.3f s   (%.1f GFLOP -> %.0f GFLOP/s = %.0f%% of the %.0f G/s %s peak; %s matrices)\n",
                median(tile_s), flops / 1e9, flops / median(tile_s) / 1e9, 100.0 * flops / median(tile_s) / peak,
                peak / 1e9, peak_kind, ggml_type_name(wt).c_str());
    std::printf("  encode the image  %8.3f s   (decode + preprocess + %lld tiles)\n", median(image_s),
                static_cast<long long>(frames));
    std::printf("  prefill           %8.1f t/s (the image prompt)\n", median(pp));
    std::printf("  time to 1st token %8.3f s   (\"Describe this image.\", from the file)\n", median(ttft_s));
  }
  return j;
}

}  // namespace smolvlm::cli
