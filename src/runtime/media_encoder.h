// Images and videos -> the embeddings a prompt splices in at its <image> placeholders, through
// SmolVLM's image processor (transformers-exact) and the vision tower. Encoded media are cached by
// content (SHA-256 of the file bytes + the options), so a follow-up question about the same image
// neither decodes nor encodes it again.
//
//   MediaEncoder media(model);                          // model loaded with its mmproj
//   auto img = media.image(bytes, "cat.jpg", {}, pool);  // img->prompt_text replaces "<image>"
//   Prompt p = build_prompt(tokenizer, text, {img});     // text from render_chat()
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/thread_pool.h"
#include "runtime/loaded_model.h"
#include "runtime/session.h"

namespace smolvlm {

struct MediaOptions {
  int max_tiles = 0;          // images: at most this many tiles (0: the model's full resolution)
  bool split = true;          // images: tiles + global view (false: one global frame)
  double video_fps = 1.0;     // videos: frames sampled per second
  int video_max_frames = 64;  // videos: at most this many frames
  int64_t max_pixels = 100'000'000;  // decompression-bomb limit per image / frame
  // Called while the encoder runs: frames (tiles, video frames) encoded so far of the item's total.
  std::function<void(int64_t done, int64_t total)> on_progress = nullptr;
};

// One image or video, encoded.
struct EncodedMedia {
  enum class Kind { kImage, kVideo } kind = Kind::kImage;
  std::string prompt_text;      // replaces the item's "<image>" / "<video>" placeholder
  int rows = 0, cols = 0;       // image tile grid (0 x 0: one frame)
  int64_t n_frames = 0;         // tiles + global view, or video frames
  int64_t tokens_per_frame = 0; // 64 / 81
  int64_t n_embd = 0;           // the text model's hidden size
  // [n_frames * tokens_per_frame, n_embd]: on the host, or (when the vision encoder and the text
  // model's input are on the same GPU) left on it
  std::vector<float> embeddings;
  DeviceEmbeddings on_device;
  uint64_t key = 0;             // content key (prefix reuse)
  double preprocess_seconds = 0, encode_seconds = 0;
  bool planned_only = false;    // from plan(): everything but the embeddings
};

class MediaEncoder {
 public:
  // Throws Error when the model has no vision projector.
  explicit MediaEncoder(std::shared_ptr<const LoadedModel> model, size_t cache_entries = 16);

  std::shared_ptr<const EncodedMedia> image(std::span<const uint8_t> bytes, const std::string& name,
                                            const MediaOptions& options, kernels::ThreadPool& pool);
  std::shared_ptr<const EncodedMedia> video(const std::string& path, const MediaOptions& options,
                                            kernels::ThreadPool& pool);
  // Reads the file and calls image() or video() by its content (images by magic bytes).
  std::shared_ptr<const EncodedMedia> file(const std::string& path, const MediaOptions& options,
                                           kernels::ThreadPool& pool);

  // What an item will cost before any of the slow work: decoded (a video: probed and sampled) and
  // planned, so its prompt text, frames and tokens are known (planned_only, no embeddings); or the
  // encoded item when the cache has it. For checking that a prompt fits the context first.
  std::shared_ptr<const EncodedMedia> plan_image(std::span<const uint8_t> bytes, const std::string& name,
                                                 const MediaOptions& options);
  std::shared_ptr<const EncodedMedia> plan_file(const std::string& path, const MediaOptions& options);

  size_t cache_hits() const { return hits_; }

 private:
  struct PreparedImage;
  struct PreparedVideo;
  PreparedImage prepare_image(std::span<const uint8_t> bytes, const std::string& name, const MediaOptions& o) const;
  PreparedVideo prepare_video(const std::string& path, const std::string& data, const MediaOptions& o) const;
  std::shared_ptr<const EncodedMedia> lookup(const std::string& key, bool count_hit = true);
  void store(const std::string& key, std::shared_ptr<const EncodedMedia> m);
  void encode_frames(EncodedMedia& m, const std::vector<float>& pixel_values, const MediaOptions& o,
                     kernels::ThreadPool& pool) const;

  std::shared_ptr<const LoadedModel> model_;
  size_t capacity_;
  std::mutex mu_;
  std::list<std::pair<std::string, std::shared_ptr<const EncodedMedia>>> cache_;  // most recent first
  size_t hits_ = 0;
};

// What an image of height x width costs with the projector `mmproj` (its metadata only, no weights):
// the tile grid, frames and image tokens, exactly as image() plans it. Throws Error for a file that
// is not a SmolVLM projector or an empty size.
struct MediaCost {
  int rows = 0, cols = 0;  // 0 x 0: one frame
  int64_t frames = 0;
  int64_t tokens = 0;
  int64_t tokens_per_frame = 0;
};
MediaCost plan_image_cost(const GgufFile& mmproj, int height, int width, const MediaOptions& options);

// The prompt for `text` (from render_chat: one "<image>" or "<video>" placeholder per media item,
// in order): placeholders replaced by each item's prompt_text, tokenized, and each frame's
// embeddings spliced at its run of <image> tokens. Throws Error when the placeholders and the
// items disagree, or the text holds <image> tokens of its own.
Prompt build_prompt(const Tokenizer& tok, std::string_view text,
                    std::span<const std::shared_ptr<const EncodedMedia>> media);

}  // namespace smolvlm
