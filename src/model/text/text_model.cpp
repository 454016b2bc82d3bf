// The Llama decoder forward pass, top to bottom (transformers' LlamaForCausalLM; llama.cpp's
// llm_build_llama for the GGUF conventions: q/k rows permuted so that RoPE rotates adjacent pairs).
// Shapes: T rows in this chunk, E width, H / Hkv heads of D dims, F MLP width, V vocabulary.
#include "model/text/text_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "base/error.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"

namespace smolvlm {

using backend::Tensor;
using kernels::ThreadPool;

namespace {

constexpr int64_t kGgmlAttentionTokens = 512;

// Attention of a chunk of T tokens on the CPU. Exact: llama.cpp's non-flash order (its bits, F32
// or F16 cache) for decode steps and chunks up to llama.cpp's default micro-batch (our default
// n_batch too), the flash-attention tiles for longer chunks (a larger --batch), where score rows
// grow with T. Fast: the tiles always. A GPU computes in its own order.
kernels::AttentionArgs::Order attention_order(int64_t T, Numerics n) {
  return n == Numerics::kExact && T <= kGgmlAttentionTokens ? kernels::AttentionArgs::Order::kGgml
                                                            : kernels::AttentionArgs::Order::kTiled;
}

}  // namespace

// The ops of one pass on the devices it uses (begun on first use, each synced once at the end),
// and where the residual stream is: a pass that goes from the CPU's layers to the GPU's copies
// the hidden rows across once.
class TextPass {
 public:
  TextPass(TextActivations& act, ThreadPool& pool, backend::Device* start) : act_(act), pool_(pool), here_(start) {}

  backend::Ops& ops(backend::Device* d) {
    for (Entry& e : entries_)
      if (e.device == d) return *e.ops;
    entries_.push_back({d, d->begin(pool_)});
    return *entries_.back().ops;
  }
  TextActivations::OnDevice& act(backend::Device* d) { return act_.on(d); }
  const int32_t* pos() const { return act_.pos.data(); }

  // Rows [first, first + n) of the residual stream onto device `to`.
  void move_hidden(backend::Device* to, int64_t first, int64_t n) {
    if (to == here_) return;
    const Tensor src = act(here_).hidden.slice(first, n), dst = act(to).hidden.slice(first, n);
    if (here_->is_cpu()) {
      ops(to).write(dst, src.data());
    } else if (to->is_cpu()) {
      ops(here_).read(src, dst.data());
      ops(here_).finish();
    } else {
      std::vector<float> host(src.bytes() / sizeof(float));
      ops(here_).read(src, host.data());
      ops(here_).finish();
      ops(to).write(dst, host.data());
    }
    here_ = to;
  }

  // dst (on device `to`) = src (on device `from`): a copy on the device when both are the same,
  // else through the host.
  void copy_rows(backend::Device* from, const Tensor& src, backend::Device* to, const Tensor& dst) {
    if (from == to) return ops(to).store_rows(src, dst);
    std::vector<float> host(src.bytes() / sizeof(float));
    ops(from).read(src, host.data());
    ops(from).finish();
    ops(to).write(dst, host.data());
  }

  void finish() {
    for (Entry& e : entries_) e.ops->finish();
  }

 private:
  struct Entry {
    backend::Device* device;
    std::unique_ptr<backend::Ops> ops;
  };
  TextActivations& act_;
  ThreadPool& pool_;
  backend::Device* here_;
  std::vector<Entry> entries_;
};

TextModel::TextModel(GgufFile file, TextPlacement place)
    : file_(std::move(file)), config_(read_text_config(file_)), place_(std::move(place)), numerics_(::smolvlm::numerics()) {
  if (!place_.layers.empty() && static_cast<int64_t>(place_.layers.size()) != config_.n_layer)
    fail(file_.path(), ": a placement of ", place_.layers.size(), " layers for a model of ", config_.n_layer);
  weights_ = bind_text_weights(file_, config_, place_, sum_order(numerics_));
}

void TextModel::check_state(const TextState& s) const {
  const TextConfig& sc = s.config();
  if (sc.n_embd != config_.n_embd || sc.n_layer != config_.n_layer || sc.kv_dim() != config_.kv_dim() ||
      sc.q_dim() != config_.q_dim() || sc.n_ff != config_.n_ff)
    fail("text state was made for another model (", sc.summary(), ")");
}

void TextModel::check_input(const TextInput& in, const TextState& s) const {
  check_state(s);
  if (in.n <= 0) fail("empty input: nothing to evaluate");
  if ((in.ids == nullptr) == (in.embeddings == nullptr)) fail("text input needs either token ids or embeddings");
  if (!in.spliced.empty() && in.ids == nullptr) fail("spliced embedding rows need token ids for the other rows");
  int64_t end = 0;
  for (const EmbeddingSpan& sp : in.spliced) {
    if ((sp.rows == nullptr && sp.on_device.device == nullptr) || sp.n <= 0 || sp.first < end || sp.first + sp.n > in.n)
      fail("spliced embedding rows [", sp.first, ", ", sp.first + sp.n, ") are empty, overlap or lie outside the ",
           in.n, " input rows");
    end = sp.first + sp.n;
  }
  for (int64_t i = 0; in.ids != nullptr && i < in.n; ++i) {
    if (in.ids[i] < 0 || in.ids[i] >= config_.n_vocab)
      fail("token id ", in.ids[i], " (input position ", i, ") is out of range: the vocabulary has ", config_.n_vocab,
           " tokens (0 .. ", config_.n_vocab - 1, ")");
  }
  if (s.n_past() + in.n > s.n_ctx())
    fail("context overflow: ", in.n, " more positions after ", s.n_past(), " exceed the context size of ", s.n_ctx(),
         " positions");
}

void TextModel::forward(const TextInput& in, TextState& s, LogitRows rows, float* logits, ThreadPool& pool) const {
  check_input(in, s);
  if (rows != LogitRows::kNone && logits == nullptr) fail("forward: no buffer for the requested logits");
  for (int64_t first = 0; first < in.n; first += s.n_batch()) {
    const int64_t n = std::min(s.n_batch(), in.n - first);
    const bool last_chunk = first + n == in.n;
    const int64_t n_out = rows == LogitRows::kAll ? n : (rows == LogitRows::kLast && last_chunk ? 1 : 0);
    float* out = rows == LogitRows::kAll ? logits + first * config_.n_vocab : logits;
    forward_chunk(in, first, n, n_out, s, out, pool);
    s.kv.advance(n);
  }
}

void TextModel::embed(TextPass& pass, const TextInput& in, int64_t first, int64_t T) const {
  const int64_t E = config_.n_embd;
  backend::Ops& o = pass.ops(place_.input);
  const Tensor hidden = pass.act(place_.input).hidden.slice(0, T);  // [T, E]
  if (in.ids != nullptr) {
    // hidden = embed_tokens(input_ids)
    o.embed_rows(*weights_.embed_tokens, in.ids + first, hidden);
    for (const EmbeddingSpan& sp : in.spliced) {  // image features at their placeholders
      const int64_t lo = std::max(sp.first, first), hi = std::min(sp.first + sp.n, first + T);
      if (lo >= hi) continue;
      const Tensor dst = hidden.slice(lo - first, hi - lo);
      if (sp.rows != nullptr) o.write(dst, sp.rows + (lo - sp.first) * E);
      else pass.copy_rows(sp.on_device.device, sp.on_device.rows.slice(lo - sp.first, hi - lo), place_.input, dst);
    }
  } else {
    o.write(hidden, in.embeddings + first * E);  // the given input embeddings
  }
}

void TextModel::forward_chunk(const TextInput& in, int64_t first, int64_t T, int64_t n_out, TextState& s,
                              float* logits, ThreadPool& pool) const {
  const TextConfig& c = config_;
  const int64_t H = c.n_head, Hkv = c.n_head_kv, D = c.head_dim;
  const int64_t pos0 = s.n_past();
  for (int64_t i = 0; i < T; ++i) s.act.pos[static_cast<size_t>(i)] = static_cast<int32_t>(pos0 + i);
  TextPass pass(s.act, pool, place_.input);

  // hidden = embed_tokens(input_ids), or the given input embeddings                    [T, E]
  embed(pass, in, first, T);

  const float attn_scale = 1.0f / std::sqrt(static_cast<float>(D));
  // q, k, v of input_layernorm(hidden), q and k rotated (adjacent pairs: the GGUF rows are permuted);
  // past_key_value.update(k, v): positions pos0 .. pos0+T-1 of this layer's cache
  const auto project = [&](backend::Ops& o, int64_t l, const Tensor& hidden, const Tensor& h, const Tensor& q,
                           const Tensor& k, const Tensor& v) {
    const TextLayerWeights& w = weights_.layers[static_cast<size_t>(l)];
    o.attention_inputs({.x = hidden, .norm_w = w.input_layernorm, .eps = c.rms_eps, .h = h, .wq = w.q_proj.get(),
                        .wk = w.k_proj.get(), .wv = w.v_proj.get(), .q = q, .k = k, .v = v,
                        .k_cache = s.kv.keys(l).slice(pos0, T), .v_cache = s.kv.values(l).slice(pos0, T),
                        .n_heads = H, .n_kv_heads = Hkv, .head_dim = D, .n_rot = c.n_rot, .pos = pass.pos(),
                        .freq_base = c.rope_freq_base});
  };
  // softmax(q k^T / sqrt(D), causal) v over cached positions 0 .. pos0+T-1, GQA
  const auto attend = [&](backend::Ops& o, int64_t l, const Tensor& q, int64_t q_first, const Tensor& attn) {
    o.attention({.q = q, .k = s.kv.keys(l), .v = s.kv.values(l), .out = attn, .n_kv = pos0 + T, .n_heads = H,
                 .n_kv_heads = Hkv, .head_dim = D, .q_pos0 = pos0 + q_first, .causal = true, .scale = attn_scale,
                 .order = attention_order(T, numerics_), .one_token = T == 1});
  };
  layers_and_head(pass, T, n_out, project, attend, logits);
  pass.finish();
}

void TextModel::decode_batch(std::span<const int32_t> ids, std::span<TextState* const> states, TextActivations& a,
                             float* logits, ThreadPool& pool) const {
  const TextConfig& c = config_;
  const auto B = static_cast<int64_t>(ids.size());
  const int64_t H = c.n_head, Hkv = c.n_head_kv, D = c.head_dim;
  if (B == 0) return;
  if (static_cast<int64_t>(states.size()) != B) fail("decode_batch: ", B, " ids for ", states.size(), " sequences");
  if (a.rows() < B) fail("decode_batch: activations for ", a.rows(), " rows, ", B, " needed");
  if (logits == nullptr) fail("decode_batch: no buffer for the logits");
  for (int64_t i = 0; i < B; ++i) {
    check_input(TextInput::tokens(ids.subspan(static_cast<size_t>(i), 1)), *states[static_cast<size_t>(i)]);
    for (int64_t j = 0; j < i; ++j)
      if (states[static_cast<size_t>(j)] == states[static_cast<size_t>(i)]) fail("decode_batch: sequence ", i, " twice");
    a.pos[static_cast<size_t>(i)] = static_cast<int32_t>(states[static_cast<size_t>(i)]->n_past());
  }
  TextPass pass(a, pool, place_.input);

  // hidden = embed_tokens(ids): one row per sequence                                   [B, E]
  embed(pass, TextInput::tokens(ids), 0, B);

  const float attn_scale = 1.0f / std::sqrt(static_cast<float>(D));
  const auto cache = [&](int64_t i) -> const KvCache& { return states[static_cast<size_t>(i)]->kv; };
  const auto pos = [&](int64_t i) { return int64_t{a.pos[static_cast<size_t>(i)]}; };
  // q, k, v of input_layernorm(hidden), q and k rotated at their rows' positions; row i's k and v
  // go to position pos[i] of sequence i's cache
  const auto project = [&](backend::Ops& o, int64_t l, const Tensor& hidden, const Tensor& h, const Tensor& q,
                           const Tensor& k, const Tensor& v) {
    const TextLayerWeights& w = weights_.layers[static_cast<size_t>(l)];
    const backend::MatmulOut qkv[] = {{w.q_proj.get(), q}, {w.k_proj.get(), k}, {w.v_proj.get(), v}};
    o.rms_norm_matmul(hidden, w.input_layernorm, c.rms_eps, h, qkv);
    o.rope_norm(q, H, D, c.n_rot, pass.pos(), c.rope_freq_base);
    o.rope_norm(k, Hkv, D, c.n_rot, pass.pos(), c.rope_freq_base);
    for (int64_t i = 0; i < B; ++i) {
      o.store_rows(k.slice(i, 1), cache(i).keys(l).slice(pos(i), 1));
      o.store_rows(v.slice(i, 1), cache(i).values(l).slice(pos(i), 1));
    }
  };
  // row i attends over its own sequence's positions 0 .. pos[i]
  const auto attend = [&](backend::Ops& o, int64_t l, const Tensor& q, int64_t q_first, const Tensor& attn) {
    for (int64_t r = 0; r < q.rows; ++r) {
      const int64_t i = q_first + r;
      o.attention({.q = q.slice(r, 1), .k = cache(i).keys(l), .v = cache(i).values(l), .out = attn.slice(r, 1),
                   .n_kv = pos(i) + 1, .n_heads = H, .n_kv_heads = Hkv, .head_dim = D, .q_pos0 = pos(i),
                   .causal = true, .scale = attn_scale, .order = attention_order(1, numerics_), .one_token = true});
    }
  };
  layers_and_head(pass, B, B, project, attend, logits);
  pass.finish();
  for (TextState* s : states) s->kv.advance(1);
}

template <class Project, class Attend>
void TextModel::layers_and_head(TextPass& pass, int64_t T, int64_t n_out, const Project& project, const Attend& attend,
                                float* logits) const {
  const TextConfig& c = config_;
  const int64_t V = c.n_vocab;  // (H heads of D, Hkv of them for k and v, in the shape comments)

  int64_t n = T, q_first = 0;  // rows still computed: all of them, except in the last layer (below)
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const TextLayerWeights& w = weights_.layers[static_cast<size_t>(l)];
    backend::Device* dev = place_.layer(l);
    pass.move_hidden(dev, 0, T);
    backend::Ops& o = pass.ops(dev);
    const TextActivations::OnDevice& a = pass.act(dev);
    Tensor hidden = a.hidden.slice(0, T);  // [T, E]
    Tensor h = a.normed.slice(0, T);       // [T, E]
    Tensor q = a.q.slice(0, T);            // [T, H*D]
    const Tensor k = a.k.slice(0, T);      // [T, Hkv*D]
    const Tensor v = a.v.slice(0, T);      // [T, Hkv*D]

    // ---- self_attn ----
    // h = input_layernorm(hidden)                                                       [T, E]
    // q = q_proj(h), k = k_proj(h), v = v_proj(h), in one pass over h      [T, H*D], [T, Hkv*D] x 2
    // rotary embedding of every q and k head at its position, then past_key_value.update(k, v)
    project(o, l, hidden, h, q, k, v);

    // In the last layer only the rows whose logits are wanted go on (llama.cpp does the same):
    // the cache is complete, and nothing else reads the other rows.
    if (l == c.n_layer - 1) {
      if (n_out == 0) return;
      q_first = T - n_out, n = n_out;
      hidden = hidden.slice(q_first, n), q = q.slice(q_first, n);
    }
    h = h.slice(0, n);
    const Tensor attn = a.attn.slice(0, n);  // [n, H*D]
    const Tensor gate = a.gate.slice(0, n);  // [n, F]
    const Tensor up = a.up.slice(0, n);      // [n, F]
    // attn = softmax(q k^T / sqrt(D), causal) v, GQA                                   [n, H*D]
    attend(o, l, q, q_first, attn);
    // hidden = hidden + o_proj(attn)                                                    [n, E]
    o.matmul_add(*w.o_proj, attn, hidden, h);

    // ---- mlp ----
    // h = post_attention_layernorm(hidden)                                              [n, E]
    // gate = gate_proj(h), up = up_proj(h), in one pass over h                         [n, F]
    const backend::MatmulOut gate_up[] = {{w.gate_proj.get(), gate}, {w.up_proj.get(), up}};
    o.rms_norm_matmul(hidden, w.post_attention_layernorm, c.rms_eps, h, gate_up);
    // gate = act_fn(gate) * up  (SiLU)                                                  [n, F]
    // hidden = hidden + down_proj(gate)                                                 [n, E]
    o.silu_mul_matmul_add(*w.down_proj, gate, up, hidden, h);
  }

  // logits = lm_head(norm(hidden))                                                      [n_out, V]
  pass.move_hidden(place_.output, q_first, n);
  backend::Ops& o = pass.ops(place_.output);
  const TextActivations::OnDevice& a = pass.act(place_.output);
  const Tensor hidden = a.hidden.slice(q_first, n), h = a.normed.slice(0, n);  // [n, E]
  if (place_.output->is_cpu()) {
    backend::HostView out(logits, static_cast<size_t>(n * V) * sizeof(float));
    const backend::MatmulOut head[] = {{weights_.lm_head.get(), {&out, 0, GgmlType::F32, n, V}}};
    o.rms_norm_matmul(hidden, weights_.norm, c.rms_eps, h, head);
    return;
  }
  for (int64_t r = 0; r < n; r += a.logits.rows) {  // in chunks of the device's logits rows
    const int64_t m = std::min(a.logits.rows, n - r);
    const backend::MatmulOut head[] = {{weights_.lm_head.get(), a.logits.slice(0, m)}};
    o.rms_norm_matmul(hidden.slice(r, m), weights_.norm, c.rms_eps, h.slice(r, m), head);
    o.read(a.logits.slice(0, m), logits + r * V);
  }
}

}  // namespace smolvlm
