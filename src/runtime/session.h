// A conversation with a loaded model: its own KV cache and the tokens in it. generate() evaluates
// a prompt, reusing the longest common prefix with what the cache already holds (a multi-turn
// chat re-sends its whole history but only the new turn is prefilled), then samples tokens and
// streams their text until an end-of-generation token, a stop string, num_predict, the context
// size, or cancellation.
//
//   Session s(model, {.n_ctx = 4096}, pool);
//   GenerateResult r = s.generate(ids, opts, [](std::string_view text) { print(text); return true; });
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/thread_pool.h"
#include "model/text/text_state.h"
#include "runtime/decode_batcher.h"
#include "runtime/json_constraint.h"
#include "runtime/json_schema.h"
#include "runtime/loaded_model.h"
#include "runtime/sampler.h"

namespace smolvlm {

// A prompt: one token id per position, where runs of positions may take media embeddings instead
// of their token embeddings (an image tile's or video frame's features at its <image> placeholders).
struct PromptMedia {
  int64_t first = 0;            // first position
  int64_t n = 0;                // positions
  const float* rows = nullptr;  // [n, E] on the host, or
  DeviceRows on_device = {};    // [n, E] on the device that encoded them
  uint64_t key = 0;             // content hash: equal keys mean equal rows (for prefix reuse)
};
struct Prompt {
  std::vector<int32_t> ids;
  std::vector<PromptMedia> media;             // sorted by position, non-overlapping
  std::vector<std::shared_ptr<const void>> owners;  // keep the media rows alive
  // The images / videos encoded to make this prompt (not those the media cache already held).
  int64_t media_encoded = 0, media_frames = 0;
  double media_seconds = 0;  // their decode + preprocess + encode time
};

// Appends `tail` to `p` (its media positions shifted past p's ids).
void append_prompt(Prompt& p, const Prompt& tail);

struct SessionOptions {
  int64_t n_ctx = 0;  // 0: min(trained context, 4096)
  GgmlType kv_type = GgmlType::F16;
  int64_t n_batch = 512;
  // Shared with the other sessions of the model: decode steps batched with theirs, prefill chunks
  // run with the batcher's pool to themselves (the session's pool must be batcher->pool()).
  std::shared_ptr<DecodeBatcher> batcher = nullptr;
};

struct GenerateOptions {
  SamplerParams sampling;
  int64_t num_predict = -1;        // < 0: until end of generation or the context is full
  std::vector<std::string> stop;   // stop strings (never emitted)
  bool skip_special = true;        // leave special tokens out of the streamed text
  // Constrained decoding: the reply is one JSON value matching json_schema when set, else (of
  // this top-level kind) json; generation stops once it is closed, and end of generation is
  // allowed only after a complete value.
  JsonKind json = JsonKind::kOff;
  std::shared_ptr<const JsonSchema> json_schema;
};

enum class DoneReason { kStop, kLength, kCancelled };
const char* done_reason_name(DoneReason r);  // "stop", "length", "cancel"

// Ollama's counters (durations in seconds here; the server converts to nanoseconds).
struct GenerateResult {
  DoneReason reason = DoneReason::kStop;
  int64_t prompt_tokens = 0;    // tokens of the prompt (prompt_eval_count)
  int64_t prompt_reused = 0;    // of which were already in the cache
  double prompt_seconds = 0;    // prefill time
  int64_t eval_tokens = 0;      // tokens generated (eval_count)
  double eval_seconds = 0;      // sampling + decode time
  std::vector<int32_t> tokens;  // the generated ids (the final end-of-generation id included)
  std::string text;             // the streamed text, concatenated
};

class Session {
 public:
  Session(std::shared_ptr<const LoadedModel> model, const SessionOptions& options, kernels::ThreadPool& pool);

  const LoadedModel& model() const { return *model_; }
  int64_t n_ctx() const { return state_.n_ctx(); }
  const std::vector<int32_t>& cached_tokens() const { return cached_; }  // the ids whose K/V the cache holds
  void reset();  // forget everything
  // Throws the Error generate() gives for a prompt of n_prompt tokens that does not fit the context
  // (before any media is encoded: see MediaEncoder::plan_file).
  void check_fits(int64_t n_prompt) const;

  // Streams the reply to `on_text` (return false to stop: DoneReason::kCancelled); `cancel`, when
  // given, is polled between prefill chunks and decode steps. Throws Error (state unchanged) for
  // an empty prompt, an id out of range, or a prompt that does not fit the context.
  using TextSink = std::function<bool(std::string_view text)>;
  GenerateResult generate(const Prompt& prompt, const GenerateOptions& options, const TextSink& on_text,
                          const std::atomic<bool>* cancel = nullptr);
  GenerateResult generate(std::span<const int32_t> ids, const GenerateOptions& options, const TextSink& on_text,
                          const std::atomic<bool>* cancel = nullptr);

 private:
  // Evaluates prompt positions [from, size) at the end of the cache; the logits of the last one
  // into logits_. Returns false when cancelled between chunks (the cache then holds what was
  // evaluated).
  bool evaluate(const Prompt& prompt, size_t from, const std::atomic<bool>* cancel);
  void decode_one(int32_t id);  // feeds one sampled token; its logits into logits_

  std::shared_ptr<const LoadedModel> model_;
  kernels::ThreadPool* pool_;
  TextState state_;
  std::vector<int32_t> cached_;       // the ids in the cache (media positions: their placeholder id)
  std::vector<uint64_t> cached_keys_; // per position: the id, or a media row's content key
  std::vector<float> logits_;
  std::shared_ptr<const JsonTokenMask> json_mask_;  // built on the first JSON-constrained generate
  std::shared_ptr<DecodeBatcher> batcher_;          // null: this session decodes on its own
};

}  // namespace smolvlm
