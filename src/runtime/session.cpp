#include "runtime/session.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "base/error.h"
#include "runtime/json_schema_recognizer.h"
#include "runtime/stop_strings.h"

namespace smolvlm {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

bool cancelled(const std::atomic<bool>* cancel) { return cancel != nullptr && cancel->load(std::memory_order_relaxed); }

TextStateOptions state_options(const LoadedModel& model, const SessionOptions& o) {
  TextStateOptions s;
  s.n_ctx = o.n_ctx > 0 ? o.n_ctx : std::min(model.text().config().n_ctx_train, TextStateOptions::kDefaultCtx);
  s.kv_type = o.kv_type;
  s.n_batch = o.n_batch;
  return s;
}

// What identifies the content of one prompt position: the token id, or (top bit set) a hash of
// the media content key and the row within it.
std::vector<uint64_t> position_keys(const Prompt& p) {
  std::vector<uint64_t> keys(p.ids.begin(), p.ids.end());
  for (const PromptMedia& m : p.media) {
    for (int64_t j = 0; j < m.n; ++j) {
      uint64_t z = m.key + static_cast<uint64_t>(j) * 0x9e3779b97f4a7c15ull;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      keys[static_cast<size_t>(m.first + j)] = (z ^ (z >> 31)) | (1ull << 63);
    }
  }
  return keys;
}

}  // namespace

void append_prompt(Prompt& p, const Prompt& tail) {
  const auto offset = static_cast<int64_t>(p.ids.size());
  p.ids.insert(p.ids.end(), tail.ids.begin(), tail.ids.end());
  for (PromptMedia m : tail.media) {
    m.first += offset;
    p.media.push_back(m);
  }
  p.owners.insert(p.owners.end(), tail.owners.begin(), tail.owners.end());
}

const char* done_reason_name(DoneReason r) {
  switch (r) {
    case DoneReason::kStop: return "stop";
    case DoneReason::kLength: return "length";
    case DoneReason::kCancelled: return "cancel";
  }
  return "?";
}

Session::Session(std::shared_ptr<const LoadedModel> model, const SessionOptions& options, kernels::ThreadPool& pool)
    : model_(std::move(model)),
      pool_(&pool),
      state_(model_->text().new_state(state_options(*model_, options))),
      batcher_(options.batcher) {
  if (batcher_ && &batcher_->pool() != &pool) fail("a batched session must run on its batcher's thread pool");
  logits_.resize(static_cast<size_t>(model_->text().config().n_vocab));
}

void Session::check_fits(int64_t n_prompt) const {
  if (n_prompt >= state_.n_ctx())
    fail("the prompt has ", n_prompt, " tokens but the context holds ", state_.n_ctx(),
         " (with room for at least one reply token): shorten the prompt, use fewer image tiles (--max-tiles / "
         "max_tiles), or raise the context size (--ctx / num_ctx)");
}

void Session::reset() {
  state_.clear();
  cached_.clear();
  cached_keys_.clear();
}

bool Session::evaluate(const Prompt& prompt, size_t from, const std::atomic<bool>* cancel) {
  const std::vector<uint64_t> keys = position_keys(prompt);
  const auto n = static_cast<int64_t>(prompt.ids.size());
  std::vector<EmbeddingSpan> spans;
  for (int64_t a = static_cast<int64_t>(from); a < n; a += state_.n_batch()) {
    if (cancelled(cancel)) return false;
    const int64_t b = std::min(a + state_.n_batch(), n);
    spans.clear();  // the media rows inside [a, b), relative to a
    for (const PromptMedia& m : prompt.media) {
      const int64_t lo = std::max(a, m.first), hi = std::min(b, m.first + m.n);
      if (lo >= hi) continue;
      if (m.rows != nullptr) spans.push_back({lo - a, hi - lo, m.rows + (lo - m.first) * model_->text().config().n_embd});
      else spans.push_back({lo - a, hi - lo, nullptr, {m.on_device.device, m.on_device.rows.slice(lo - m.first, hi - lo)}});
    }
    const std::span<const int32_t> chunk(prompt.ids.data() + a, static_cast<size_t>(b - a));
    const auto run = [&] {
      model_->text().forward(TextInput::tokens(chunk, spans), state_, b == n ? LogitRows::kLast : LogitRows::kNone,
                             logits_.data(), *pool_);
    };
    if (batcher_) batcher_->exclusive(run);  // between the other sessions' decode passes
    else run();
    cached_.insert(cached_.end(), chunk.begin(), chunk.end());
    cached_keys_.insert(cached_keys_.end(), keys.begin() + a, keys.begin() + b);
  }
  return true;
}

void Session::decode_one(int32_t id) {
  const int32_t next[1] = {id};
  if (batcher_) batcher_->decode(state_, id, logits_.data());  // in one pass with the other sessions' steps
  else model_->text().forward(TextInput::tokens(next), state_, LogitRows::kLast, logits_.data(), *pool_);
  cached_.push_back(id);
  cached_keys_.push_back(static_cast<uint64_t>(id));
}

GenerateResult Session::generate(std::span<const int32_t> ids, const GenerateOptions& options,
                                 const TextSink& on_text, const std::atomic<bool>* cancel) {
  Prompt p;
  p.ids.assign(ids.begin(), ids.end());
  return generate(p, options, on_text, cancel);
}

GenerateResult Session::generate(const Prompt& prompt, const GenerateOptions& options, const TextSink& on_text,
                                 const std::atomic<bool>* cancel) {
  const Tokenizer& tok = model_->tokenizer();
  const auto n_prompt = static_cast<int64_t>(prompt.ids.size());
  if (n_prompt == 0) fail("empty prompt: nothing to generate from");
  for (int64_t i = 0; i < n_prompt; ++i) {
    if (prompt.ids[i] < 0 || prompt.ids[i] >= tok.n_vocab())
      fail("prompt token ", i, " has id ", prompt.ids[i], ", outside the vocabulary (0 .. ", tok.n_vocab() - 1, ")");
  }
  int64_t media_end = 0;
  for (const PromptMedia& m : prompt.media) {
    if ((m.rows == nullptr && m.on_device.device == nullptr) || m.n <= 0 || m.first < media_end ||
        m.first + m.n > n_prompt)
      fail("prompt media rows [", m.first, ", ", m.first + m.n, ") are empty, overlap or lie outside the ", n_prompt,
           " prompt positions");
    media_end = m.first + m.n;
  }
  check_fits(n_prompt);

  GenerateResult r;
  r.prompt_tokens = n_prompt;
  // Keep the longest common prefix; at least the last prompt token is evaluated again for its logits.
  const std::vector<uint64_t> keys = position_keys(prompt);
  size_t keep = 0;
  while (keep < cached_keys_.size() && keep < keys.size() && cached_keys_[keep] == keys[keep]) ++keep;
  keep = std::min(keep, keys.size() - 1);
  state_.truncate(static_cast<int64_t>(keep));
  cached_.resize(keep);
  cached_keys_.resize(keep);
  r.prompt_reused = static_cast<int64_t>(keep);

  const auto t_prompt = std::chrono::steady_clock::now();
  const bool prefilled = evaluate(prompt, keep, cancel);
  r.prompt_seconds = seconds_since(t_prompt);
  if (!prefilled) {
    r.reason = DoneReason::kCancelled;
    return r;
  }

  const auto t_eval = std::chrono::steady_clock::now();
  Sampler sampler(options.sampling);
  TokenStreamDecoder decoder(tok, options.skip_special);
  StopMatcher stops(options.stop);
  std::shared_ptr<const JsonSchema> schema = options.json_schema;  // (kept alive for json below)
  if (!schema && options.json != JsonKind::kOff) schema = JsonSchema::of_kind(options.json);
  std::optional<JsonSchemaRecognizer> json;
  if (schema) {
    if (!json_mask_) json_mask_ = std::make_shared<const JsonTokenMask>(tok);
    json.emplace(*schema);
  }
  bool sink_open = true;
  auto emit = [&](const std::string& text) {
    if (text.empty() || !sink_open) return sink_open;
    r.text += text;
    sink_open = on_text(text);
    return sink_open;
  };

  r.reason = DoneReason::kStop;  // unless cancelled or cut by num_predict / the context size
  std::optional<DecodeBatcher::Member> member;  // one of the sessions whose steps a pass waits for
  if (batcher_) member.emplace(*batcher_);
  while (true) {
    if (cancelled(cancel)) {
      r.reason = DoneReason::kCancelled;
      break;
    }
    if (options.num_predict >= 0 && r.eval_tokens >= options.num_predict) {
      r.reason = DoneReason::kLength;
      break;
    }
    if (json && json_mask_->apply(*json, logits_) == 0) break;  // (cannot happen with a real vocabulary)
    const int32_t id = sampler.sample(logits_, cached_);  // history: the prompt and the reply so far
    r.tokens.push_back(id);
    ++r.eval_tokens;
    if (tok.is_eog(id)) break;
    if (json) json->advance(json_mask_->bytes(id));
    if (!emit(stops.push(decoder.push(id)))) {
      r.reason = DoneReason::kCancelled;
      break;
    }
    if (stops.stopped()) break;
    if (json && json->done()) break;  // the JSON value is closed
    if (options.num_predict >= 0 && r.eval_tokens >= options.num_predict) {  // (no decode for the last one)
      r.reason = DoneReason::kLength;
      break;
    }
    if (state_.n_past() >= state_.n_ctx()) {  // no room to feed it: the context is full
      r.reason = DoneReason::kLength;
      break;
    }
    decode_one(id);
  }
  if (r.reason != DoneReason::kCancelled && !stops.stopped()) {
    // Release what the decoder and the stop matcher held back (no stop string can start any more).
    emit(stops.push(decoder.flush()));
    if (!stops.stopped()) emit(stops.flush());
  }
  r.eval_seconds = seconds_since(t_eval);
  return r;
}

}  // namespace smolvlm
