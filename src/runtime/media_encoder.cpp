#include "runtime/media_encoder.h"

#include <openssl/evp.h>

#include <chrono>
#include <cstring>
#include <optional>

#include "base/error.h"
#include "base/file_util.h"
#include "media/image_decode.h"
#include "media/image_processor.h"
#include "media/image_prompt.h"
#include "media/video_decode.h"
#include "media/video_sampling.h"

namespace smolvlm {
namespace {

constexpr const char* kNoVideoBuild = " (and this smolvlm was built without video decoding: SMOLVLM_VIDEO=OFF)";

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// SHA-256 of the bytes, as 32 raw bytes.
std::string sha256(std::span<const uint8_t> bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr) != 1) fail("SHA-256 failed");
  return std::string(reinterpret_cast<const char*>(md), n);
}

// splitmix64's finalizer: distinct keys for the frames of one item.
uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

uint64_t first_u64(const std::string& digest) {
  uint64_t k = 0;
  std::memcpy(&k, digest.data(), sizeof k);
  return k;
}

const VisionModel& vision_of(const LoadedModel& m) {
  if (m.vision() == nullptr)
    fail(m.path(), " has no vision projector: images and videos need the mmproj GGUF too (--mmproj FILE, or a "
         "model folder holding both files)");
  return *m.vision();
}

// The image processor's settings for this projector: the tile is the tower's input size; the
// longest edge is clip.vision.preproc_image_size (4 tiles when an older file lacks the key).
ImageProcessorConfig processor_config(const VisionConfig& vc, const GgufFile& file, const MediaOptions& o) {
  ImageProcessorConfig c;
  c.tile = static_cast<int>(vc.image_size);
  const GgufValue* edge = file.find("clip.vision.preproc_image_size");
  c.longest_edge = edge != nullptr ? static_cast<int>(edge->as_int()) : 4 * c.tile;
  c.split = o.split;
  c.max_tiles = o.max_tiles;
  return c;
}
ImageProcessorConfig processor_config(const VisionModel& v, const MediaOptions& o) {
  return processor_config(v.config(), v.file(), o);
}

}  // namespace

MediaCost plan_image_cost(const GgufFile& mmproj, int height, int width, const MediaOptions& options) {
  const VisionConfig vc = read_vision_config(mmproj);
  const ImagePlan plan = ::smolvlm::plan_image(height, width, processor_config(vc, mmproj, options));
  return {plan.rows, plan.cols, plan.num_frames, plan.num_frames * vc.tokens_per_tile(), vc.tokens_per_tile()};
}

MediaEncoder::MediaEncoder(std::shared_ptr<const LoadedModel> model, size_t cache_entries)
    : model_(std::move(model)), capacity_(cache_entries) {
  vision_of(*model_);
}

std::shared_ptr<const EncodedMedia> MediaEncoder::lookup(const std::string& key, bool count_hit) {
  std::lock_guard lock(mu_);
  for (auto it = cache_.begin(); it != cache_.end(); ++it) {
    if (it->first == key) {
      cache_.splice(cache_.begin(), cache_, it);
      if (count_hit) ++hits_;
      return cache_.front().second;
    }
  }
  return nullptr;
}

void MediaEncoder::store(const std::string& key, std::shared_ptr<const EncodedMedia> m) {
  std::lock_guard lock(mu_);
  cache_.emplace_front(key, std::move(m));
  while (cache_.size() > capacity_) cache_.pop_back();
}

void MediaEncoder::encode_frames(EncodedMedia& m, const std::vector<float>& pixel_values, const MediaOptions& o,
                                 kernels::ThreadPool& pool) const {
  const VisionModel& v = vision_of(*model_);
  const auto t0 = std::chrono::steady_clock::now();
  VisionEncodeOptions vo;
  vo.on_progress = o.on_progress;
  if (!v.device().is_cpu() && model_->text().placement().input == &v.device()) {
    m.on_device = v.encode_on_device(pixel_values.data(), m.n_frames, pool, vo);  // the prefill reads them there
  } else {
    m.embeddings.resize(static_cast<size_t>(m.n_frames * m.tokens_per_frame * m.n_embd));
    v.encode(pixel_values.data(), m.n_frames, m.embeddings.data(), pool, vo);
  }
  m.encode_seconds = seconds_since(t0);
}

// An image decoded and planned: the item without its embeddings, and the pixels for the encoder.
struct MediaEncoder::PreparedImage {
  std::string key;
  std::shared_ptr<EncodedMedia> m;
  RgbImage image;
};

MediaEncoder::PreparedImage MediaEncoder::prepare_image(std::span<const uint8_t> bytes, const std::string& name,
                                                        const MediaOptions& options) const {
  const VisionModel& v = vision_of(*model_);
  const std::string digest = sha256(bytes);
  PreparedImage p;
  p.key = cat("image:", digest, ":", options.max_tiles, ":", options.split);
  p.m = std::make_shared<EncodedMedia>();
  EncodedMedia& m = *p.m;
  m.kind = EncodedMedia::Kind::kImage;
  m.key = mix(first_u64(digest) ^ static_cast<uint64_t>(options.max_tiles) << 1 ^ (options.split ? 1u : 0u));
  const auto t0 = std::chrono::steady_clock::now();
  DecodeLimits limits;
  limits.max_pixels = options.max_pixels;
  p.image = decode_image(bytes, name, limits);
  const ImagePlan plan = ::smolvlm::plan_image(p.image.height, p.image.width, processor_config(v, options));
  m.rows = plan.rows;
  m.cols = plan.cols;
  m.n_frames = plan.num_frames;
  m.tokens_per_frame = v.config().tokens_per_tile();
  m.n_embd = v.config().projection_dim;
  m.prompt_text = image_prompt_text(m.rows, m.cols, static_cast<int>(m.tokens_per_frame));
  m.preprocess_seconds = seconds_since(t0);
  return p;
}

std::shared_ptr<const EncodedMedia> MediaEncoder::image(std::span<const uint8_t> bytes, const std::string& name,
                                                        const MediaOptions& options, kernels::ThreadPool& pool) {
  const VisionModel& v = vision_of(*model_);
  const std::string key = cat("image:", sha256(bytes), ":", options.max_tiles, ":", options.split);
  if (auto hit = lookup(key)) return hit;
  PreparedImage p = prepare_image(bytes, name, options);
  const auto t0 = std::chrono::steady_clock::now();
  const ProcessedImage processed = preprocess_image(p.image, processor_config(v, options), pool.size());
  const std::vector<float> pixels = processed.pixel_values(pool.size());
  p.m->preprocess_seconds += seconds_since(t0);
  encode_frames(*p.m, pixels, options, pool);
  store(p.key, p.m);
  return p.m;
}

std::shared_ptr<const EncodedMedia> MediaEncoder::plan_image(std::span<const uint8_t> bytes, const std::string& name,
                                                             const MediaOptions& options) {
  if (auto hit = lookup(cat("image:", sha256(bytes), ":", options.max_tiles, ":", options.split), false)) return hit;
  PreparedImage p = prepare_image(bytes, name, options);
  p.m->planned_only = true;
  return p.m;
}

// A video probed and its frames chosen: the item without its embeddings, and the reader.
struct MediaEncoder::PreparedVideo {
  std::string key;
  std::shared_ptr<EncodedMedia> m;
  std::optional<VideoReader> reader;
  VideoFrameSelection selection;
};

MediaEncoder::PreparedVideo MediaEncoder::prepare_video(const std::string& path, const std::string& data,
                                                        const MediaOptions& options) const {
  const VisionModel& v = vision_of(*model_);
  const std::string digest = sha256(as_bytes(data));
  PreparedVideo p;
  p.key = cat("video:", digest, ":", options.video_fps, ":", options.video_max_frames);
  p.m = std::make_shared<EncodedMedia>();
  EncodedMedia& m = *p.m;
  m.kind = EncodedMedia::Kind::kVideo;
  m.key = mix(first_u64(digest) ^ static_cast<uint64_t>(options.video_max_frames) << 8 ^
              static_cast<uint64_t>(options.video_fps * 1000.0) << 20);
  DecodeLimits limits;
  limits.max_pixels = options.max_pixels;
  p.reader.emplace(VideoReader::open(path, limits));
  VideoSamplingOptions so;
  so.fps = options.video_fps;
  so.max_frames = options.video_max_frames;
  p.selection = sample_video_frames(p.reader->frame_count(), p.reader->fps(), p.reader->duration_s(), so);
  m.n_frames = static_cast<int64_t>(p.selection.indices.size());
  m.tokens_per_frame = v.config().tokens_per_tile();
  m.n_embd = v.config().projection_dim;
  m.prompt_text = video_prompt_text(p.selection.timestamps, p.selection.duration, static_cast<int>(m.n_frames),
                                    static_cast<int>(m.tokens_per_frame));
  return p;
}

std::shared_ptr<const EncodedMedia> MediaEncoder::video(const std::string& path, const MediaOptions& options,
                                                        kernels::ThreadPool& pool) {
  const VisionModel& v = vision_of(*model_);
  const std::string data = read_file(path);
  const std::string key = cat("video:", sha256(as_bytes(data)), ":", options.video_fps, ":", options.video_max_frames);
  if (auto hit = lookup(key)) return hit;
  PreparedVideo p = prepare_video(path, data, options);
  EncodedMedia& m = *p.m;
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<RgbImage> frames = p.reader->read_frames(p.selection.indices);
  if (frames.empty()) fail(path, ": no decodable video frames");
  const int tile = static_cast<int>(v.config().image_size);
  // Each frame: longest edge to video_size.longest_edge (the tile for SmolVLM2), then tile x tile.
  const int video_edge = tile;
  m.n_frames = static_cast<int64_t>(frames.size());
  std::vector<float> pixels(static_cast<size_t>(m.n_frames) * 3 * tile * tile);
  for (size_t f = 0; f < frames.size(); ++f) {
    const RgbImage sq = preprocess_video_frame(frames[f], video_edge, tile, pool.size());
    normalize_frame(sq, pixels.data() + f * 3 * tile * tile);
  }
  m.preprocess_seconds = seconds_since(t0);
  encode_frames(m, pixels, options, pool);
  std::vector<double> stamps(p.selection.timestamps.begin(),
                             p.selection.timestamps.begin() + static_cast<long>(frames.size()));
  m.prompt_text = video_prompt_text(stamps, p.selection.duration, static_cast<int>(frames.size()),
                                    static_cast<int>(m.tokens_per_frame));
  store(p.key, p.m);
  return p.m;
}

std::shared_ptr<const EncodedMedia> MediaEncoder::file(const std::string& path, const MediaOptions& options,
                                                       kernels::ThreadPool& pool) {
  const std::string data = read_file(path);
  if (detect_image_format(as_bytes(data)) != ImageFormat::kUnknown) return image(as_bytes(data), path, options, pool);
  if (!video_decoding_available()) fail(not_media_message(path, as_bytes(data)), kNoVideoBuild);
  try {
    (void)VideoReader::open(path);  // not an image: a video, or neither
  } catch (const Error&) {
    fail(not_media_message(path, as_bytes(data)));
  }
  return video(path, options, pool);
}

std::shared_ptr<const EncodedMedia> MediaEncoder::plan_file(const std::string& path, const MediaOptions& options) {
  const std::string data = read_file(path);
  if (detect_image_format(as_bytes(data)) != ImageFormat::kUnknown) return plan_image(as_bytes(data), path, options);
  if (!video_decoding_available()) fail(not_media_message(path, as_bytes(data)), kNoVideoBuild);
  const std::string key = cat("video:", sha256(as_bytes(data)), ":", options.video_fps, ":", options.video_max_frames);
  if (auto hit = lookup(key, false)) return hit;
  std::optional<PreparedVideo> p;
  try {
    p.emplace(prepare_video(path, data, options));
  } catch (const Error&) {
    fail(not_media_message(path, as_bytes(data)));
  }
  p->m->planned_only = true;
  return p->m;
}

Prompt build_prompt(const Tokenizer& tok, std::string_view text,
                    std::span<const std::shared_ptr<const EncodedMedia>> media) {
  // Replace the k-th placeholder ("<image>" or "<video>") with the k-th item's text.
  std::string expanded;
  size_t pos = 0, k = 0;
  while (true) {
    const size_t i = text.find("<image>", pos), v = text.find("<video>", pos);
    const size_t at = std::min(i, v);
    if (at == std::string_view::npos) break;
    if (k >= media.size())
      fail("the prompt has more <image>/<video> placeholders than the ", media.size(), " images and videos given");
    const bool want_video = at == v;
    if (want_video != (media[k]->kind == EncodedMedia::Kind::kVideo))
      fail("placeholder ", k + 1, " is ", want_video ? "<video>" : "<image>", " but media item ", k + 1, " is ",
           want_video ? "an image" : "a video");
    expanded.append(text.substr(pos, at - pos)).append(media[k]->prompt_text);
    pos = at + 7;
    ++k;
  }
  expanded.append(text.substr(pos));
  if (k != media.size())
    fail("the prompt has ", k, " <image>/<video> placeholders but ", media.size(), " images and videos were given");

  Prompt p;
  p.ids = tok.encode(expanded);
  const std::optional<int32_t> image_id = tok.find_token("<image>");
  int64_t expected = 0;
  for (const auto& m : media) expected += m->n_frames * m->tokens_per_frame;
  if (expected > 0 && !image_id) fail("the vocabulary has no <image> token");
  std::vector<int64_t> at;
  for (size_t i = 0; i < p.ids.size(); ++i) {
    if (image_id && p.ids[i] == *image_id) at.push_back(static_cast<int64_t>(i));
  }
  if (static_cast<int64_t>(at.size()) != expected)
    fail("the prompt holds ", at.size(), " <image> tokens but its images and videos fill ", expected,
         " (is there a literal \"<image>\" in the text?)");
  size_t next = 0;
  for (const auto& m : media) {
    for (int64_t f = 0; f < m->n_frames; ++f) {
      const int64_t first = at[next], n = m->tokens_per_frame;
      if (at[next + static_cast<size_t>(n) - 1] != first + n - 1)
        fail("the <image> tokens of frame ", f, " are not contiguous in the prompt");
      const uint64_t key = mix(m->key + static_cast<uint64_t>(f) * 0x9e3779b97f4a7c15ull);
      if (!m->embeddings.empty())
        p.media.push_back({first, n, m->embeddings.data() + f * n * m->n_embd, {}, key});
      else
        p.media.push_back({first, n, nullptr, {m->on_device.device, m->on_device.rows.slice(f * n, n)}, key});
      next += static_cast<size_t>(n);
    }
    p.owners.push_back(m);
  }
  return p;
}

}  // namespace smolvlm
