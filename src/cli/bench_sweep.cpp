#include "cli/bench_sweep.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "base/error.h"
#include "cli/bench_stats.h"
#include "model/text/text_model.h"
#include "runtime/loaded_model.h"
#include "runtime/media_encoder.h"
#include "tokenizer/chat_template.h"

namespace smolvlm::cli {
namespace {

using Json = nlohmann::ordered_json;

void put_le(std::vector<uint8_t>& out, size_t at, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out[at + size_t(i)] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

std::vector<int64_t> parse_int_list(const std::string& s, const std::string& what) {
  std::vector<int64_t> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    int64_t v = -1;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || v < 0)
      fail(what, ": '", item, "' is not a non-negative integer (write a comma-separated list such as 0,1024,4096)");
    out.push_back(v);
  }
  if (out.empty()) fail(what, ": the list is empty");
  return out;
}

std::vector<uint8_t> synthetic_bmp(int width, int height) {
  const size_t stride = (static_cast<size_t>(width) * 3 + 3) & ~size_t(3);
  const size_t header = 14 + 40, size = header + stride * static_cast<size_t>(height);
  std::vector<uint8_t> b(size, 0);
  b[0] = 'B';
  b[1] = 'M';
  put_le(b, 2, static_cast<uint32_t>(size), 4);
  put_le(b, 10, static_cast<uint32_t>(header), 4);
  put_le(b, 14, 40, 4);                                // BITMAPINFOHEADER
  put_le(b, 18, static_cast<uint32_t>(width), 4);
  put_le(b, 22, static_cast<uint32_t>(height), 4);     // bottom-up rows
  put_le(b, 26, 1, 2);                                 // planes
  put_le(b, 28, 24, 2);                                // bits per pixel
  uint32_t x = 12345;
  for (int y = 0; y < height; ++y) {
    uint8_t* row = b.data() + header + stride * static_cast<size_t>(y);
    for (int i = 0; i < width; ++i) {
      x = x * 1664525u + 1013904223u;
      const int noise = static_cast<int>(x >> 28);  // 0..15
      row[3 * i + 0] = static_cast<uint8_t>((255 * i / std::max(1, width - 1) + noise) & 255);
      row[3 * i + 1] = static_cast<uint8_t>((255 * y / std::max(1, height - 1) + noise) & 255);
      row[3 * i + 2] = static_cast<uint8_t>(((i ^ y) + noise) & 255);
    }
  }
  return b;
}

Json sweep_depth(const DepthSweepArgs& a, double bandwidth_gbs, kernels::ThreadPool& pool) {
  const int64_t max_depth = *std::max_element(a.depths.begin(), a.depths.end());
  TextStateOptions o;
  o.n_ctx = max_depth + std::max<int64_t>(1, a.n_gen);
  o.kv_type = a.kv_f32 ? GgmlType::F32 : GgmlType::F16;
  o.n_batch = a.batch;
  backend::OffloadPlan plan;
  const TextModel model = open_text_model(
      a.text, {.num_gpu = a.num_gpu, .device = a.device, .n_ctx = o.n_ctx, .kv_type = o.kv_type, .n_batch = a.batch},
      &plan);
  const TextConfig& c = model.config();
  TextState state = model.new_state(o);
  const std::vector<int32_t> tokens = bench_tokens(o.n_ctx, c.n_vocab, 0x2545F4914F6CDD1Dull);
  std::vector<float> logits(static_cast<size_t>(c.n_vocab));
  const double kv_elt = a.kv_f32 ? 4.0 : 2.0;
  const double weight_bytes = static_cast<double>(model.weights().matmul_bytes());

  Json rows = Json::array();
  for (const int64_t depth : a.depths) {
    state.clear();
    double pp = 0;
    if (depth > 0) {
      const auto t0 = std::chrono::steady_clock::now();
      model.forward(TextInput::tokens({tokens.data(), size_t(depth)}), state, LogitRows::kLast, logits.data(), pool);
      pp = static_cast<double>(depth) / seconds_since(t0);
    }
    auto generate = [&] {
      state.truncate(depth);
      const auto t0 = std::chrono::steady_clock::now();
      for (int64_t i = 0; i < a.n_gen; ++i)
        model.forward(TextInput::tokens({&tokens[size_t(depth + i)], 1}), state, LogitRows::kLast, logits.data(), pool);
      return static_cast<double>(a.n_gen) / seconds_since(t0);
    };
    generate();  // warm-up
    std::vector<double> tg;
    for (int r = 0; r < a.repeats; ++r) tg.push_back(generate());
    // a step at position p reads K and V of positions 0..p in every layer: the mean over the steps
    const double mean_positions = static_cast<double>(depth) + 0.5 * static_cast<double>(a.n_gen + 1);
    const double kv_bytes = 2.0 * static_cast<double>(c.n_layer * c.kv_dim()) * kv_elt * mean_positions;
    Json r;
    r["depth"] = depth;
    r["tg"] = median(tg);
    r["tg_min_max"] = {*std::min_element(tg.begin(), tg.end()), *std::max_element(tg.begin(), tg.end())};
    if (depth > 0) r["pp"] = pp;
    r["kv_bytes_per_token"] = kv_bytes;
    if (plan.gpu_layers == 0) {
      const double bound = bandwidth_gbs * 1e9 / (weight_bytes + kv_bytes);
      r["bound_tg"] = bound;
      r["tg_of_bound"] = median(tg) / bound;
    }
    rows.push_back(r);
    std::fprintf(stderr, "  depth %6lld: tg %.1f t/s\n", static_cast<long long>(depth), median(tg));
  }
  return rows;
}

Json sweep_image(const ImageSweepArgs& a, kernels::ThreadPool& pool) {
  LoadOptions load;
  load.num_gpu = a.num_gpu;
  load.device = a.device;
  const auto model = LoadedModel::load(a.text, a.mmproj, load);
  const std::string text = render_chat({{"user", {ChatItem::image(), ChatItem::make_text("Describe this image.")}}});
  GenerateOptions first_token;
  first_token.sampling.temperature = 0;
  first_token.num_predict = 1;

  Json rows = Json::array();
  bool warmed = false;
  for (const int edge : a.edges) {
    const int w = a.aspect >= 1 ? edge : std::max(1, static_cast<int>(std::lround(edge * a.aspect)));
    const int h = a.aspect >= 1 ? std::max(1, static_cast<int>(std::lround(edge / a.aspect))) : edge;
    const std::vector<uint8_t> bytes = synthetic_bmp(w, h);
    const std::string name = cat("synthetic_", w, "x", h, ".bmp");
    for (const int max_tiles : a.max_tiles) {
      MediaOptions mo;
      mo.max_tiles = max_tiles;
      std::vector<double> encode_s, preprocess_s, ttft_s;
      std::shared_ptr<const EncodedMedia> item;
      GenerateResult g;
      const int runs = a.repeats + (warmed ? 0 : 1);
      for (int r = 0; r < runs; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        MediaEncoder media(model);  // a cold cache for every run
        item = media.image(bytes, name, mo, pool);
        const std::vector<std::shared_ptr<const EncodedMedia>> items = {item};
        Session session(model, {}, pool);
        g = session.generate(build_prompt(model->tokenizer(), text, items), first_token,
                             [](std::string_view) { return true; });
        const double ttft = seconds_since(t0);
        if (!warmed) {  // the first run of the sweep warms the caches and the pages of the weights
          warmed = true;
          continue;
        }
        ttft_s.push_back(ttft);
        encode_s.push_back(item->encode_seconds);
        preprocess_s.push_back(item->preprocess_seconds);
      }
      Json r;
      r["edge"] = edge;
      r["width"] = w;
      r["height"] = h;
      r["max_tiles"] = max_tiles;
      r["tiles"] = item->n_frames;
      r["rows"] = item->rows;
      r["cols"] = item->cols;
      r["image_tokens"] = item->n_frames * item->tokens_per_frame;
      r["prompt_tokens"] = g.prompt_tokens;
      r["preprocess_s"] = median(preprocess_s);
      r["encode_s"] = median(encode_s);
      r["ttft_s"] = median(ttft_s);
      rows.push_back(r);
      std::fprintf(stderr, "  edge %4d max_tiles %2d: %lld frames, ttft %.3f s\n", edge, max_tiles,
                   static_cast<long long>(item->n_frames), median(ttft_s));
    }
  }
  return rows;
}

}  // namespace smolvlm::cli
