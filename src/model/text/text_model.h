// The Llama text decoder of SmolVLM2 (SmolLM2) over a llama text GGUF: ours, llama-quantize's or
// ggml-org's. Immutable after load; per-sequence state (KV cache, activations) lives in TextState.
// Each part runs on the backend device its TextPlacement names (all on the CPU by default; the
// last layers and the output on a GPU when offloaded): the forward pass is written once, over
// backend::Ops, and a pass ends with one sync point per device it used.
//
//   TextModel model = TextModel::open("text-Q8_0.gguf");
//   TextState state = model.new_state({.n_ctx = 2048});
//   model.forward(TextInput::tokens(prompt), state, LogitRows::kLast, logits, pool);  // prefill
//   model.forward(TextInput::tokens({&next, 1}), state, LogitRows::kLast, logits, pool);  // decode
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "io/gguf.h"
#include "kernels/thread_pool.h"
#include "model/numerics.h"
#include "model/text/text_config.h"
#include "model/text/text_state.h"
#include "model/text/text_weights.h"

namespace smolvlm {

// The rows of logits a forward pass writes.
enum class LogitRows {
  kNone,  // fill the cache only
  kLast,  // [1, n_vocab] for the last input position
  kAll,   // [n, n_vocab] for every input position
};

// Rows of embeddings left on the device that computed them (a GPU's image embeddings): a prefill
// on that device copies them there, with no round trip through the host.
struct DeviceRows {
  backend::Device* device = nullptr;
  backend::Tensor rows;  // [n, E] f32
};

// Input embeddings that replace the token embeddings of input rows [first, first + n): image
// features spliced in at the <image> placeholders of a prompt; host rows, or rows on a device.
struct EmbeddingSpan {
  int64_t first = 0;
  int64_t n = 0;
  const float* rows = nullptr;  // [n, E] on the host, or
  DeviceRows on_device = {};    // [n, E] on a device
};

// n inputs at consecutive positions: token ids (optionally with spliced embedding rows), or input
// embeddings of width E for every row.
struct TextInput {
  const int32_t* ids = nullptr;
  const float* embeddings = nullptr;  // [n, E]
  int64_t n = 0;
  std::span<const EmbeddingSpan> spliced;  // with ids: sorted, non-overlapping, inside [0, n)
  static TextInput tokens(std::span<const int32_t> ids) { return {ids.data(), nullptr, int64_t(ids.size()), {}}; }
  static TextInput tokens(std::span<const int32_t> ids, std::span<const EmbeddingSpan> spliced) {
    return {ids.data(), nullptr, int64_t(ids.size()), spliced};
  }
  static TextInput embedding_rows(const float* rows, int64_t n) { return {nullptr, rows, n, {}}; }
};

class TextPass;  // one forward pass (text_model.cpp)

class TextModel {
 public:
  // Reads the hyper-parameters and binds the weights on their devices (CPU weights for the active
  // ISA: force an ISA before loading). `place` (n_layer layer devices, or none: all on the CPU)
  // comes from the offload planner. Throws Error naming the file and the tensor or key at fault.
  explicit TextModel(GgufFile file, TextPlacement place = {});
  static TextModel open(const std::string& path, TextPlacement place = {}) {
    return TextModel(GgufFile::open(path), std::move(place));
  }

  const TextConfig& config() const { return config_; }
  const TextWeights& weights() const { return weights_; }
  const GgufFile& file() const { return file_; }
  const TextPlacement& placement() const { return place_; }
  Numerics numerics() const { return numerics_; }  // the float order it was bound with (model/numerics.h)

  TextState new_state(const TextStateOptions& options = {}) const { return TextState(config_, options, place_); }
  // Activations for passes of up to `rows` rows on this model's devices (decode_batch's).
  TextActivations new_activations(int64_t rows) const { return TextActivations(config_, rows, place_); }

  // Runs `in` at positions state.n_past() .. n_past + n - 1 (appending to the KV cache) in chunks
  // of state.n_batch() rows and writes the requested logits (row-major, n_vocab per row). Throws
  // Error before changing the state for a token id out of range or a context overflow.
  void forward(const TextInput& in, TextState& state, LogitRows rows, float* logits, kernels::ThreadPool& pool) const;

  // One decode step of B independent sequences in one pass (continuous batching: every weight is
  // read once for all of them): ids[i] at position states[i]->n_past() of sequence i, appended to
  // its KV cache; logits [B, n_vocab]. Activations in `act` (act.rows() >= B). Each row's result
  // is what forward() gives that sequence alone, up to float summation order in the matmuls.
  // Throws Error before changing any state for a bad id, a state of another model, the same state
  // twice or a full context.
  void decode_batch(std::span<const int32_t> ids, std::span<TextState* const> states, TextActivations& act,
                    float* logits, kernels::ThreadPool& pool) const;

 private:
  // One chunk of n <= n_batch rows, starting at input row `first`; logits for its last n_out rows.
  void forward_chunk(const TextInput& in, int64_t first, int64_t n, int64_t n_out, TextState& s, float* logits,
                     kernels::ThreadPool& pool) const;
  // hidden [T, E] (on the input device) at positions act.pos through every decoder layer.
  // project(ops, l, hidden, h, q, k, v) writes layer l's q [T, H*D] (rotated) of the normed hidden
  // rows (h: scratch) and puts its keys (rotated) and values [T, Hkv*D] into the cache(s) (k, v:
  // scratch); attend(ops, l, q, first, attn) writes attn [n, H*D] for query rows first .. first+n-1
  // (q: those rows). The last layer computes only the last n_out rows; then logits [n_out, V]
  // (nothing when n_out is 0). Defined and instantiated in text_model.cpp only.
  template <class Project, class Attend>
  void layers_and_head(TextPass& pass, int64_t T, int64_t n_out, const Project& project, const Attend& attend,
                       float* logits) const;
  // hidden = the input rows [first, first + T) of `in`: token embeddings, spliced media rows.
  void embed(TextPass& pass, const TextInput& in, int64_t first, int64_t T) const;
  void check_input(const TextInput& in, const TextState& s) const;
  void check_state(const TextState& s) const;

  GgufFile file_;  // the mapping the weight views point into
  TextConfig config_;
  TextPlacement place_;
  Numerics numerics_;  // the process's setting when the weights were bound
  TextWeights weights_;
};

}  // namespace smolvlm
