// The Llama decoder forward pass, top to bottom (transformers' LlamaForCausalLM; llama.cpp's
// llm_build_llama for the GGUF conventions: q/k rows permuted so that RoPE rotates adjacent pairs).
// Shapes: T rows in this chunk, E width, H / Hkv heads of D dims, F MLP width, V vocabulary.
#include "model/text/text_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

#include "base/error.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"

namespace smolvlm {

using kernels::ThreadPool;

namespace {

constexpr int64_t kGgmlAttentionTokens = 512;

// Row-wise kernels (norms, activations) are single-threaded; a prefill chunk splits its rows over
// the pool. fn(first_row, n_rows).
void for_rows(ThreadPool& pool, int64_t n_rows, const std::function<void(int64_t, int64_t)>& fn) {
  const int64_t parts = std::min<int64_t>(pool.size(), n_rows / 8);
  if (parts <= 1) return fn(0, n_rows);
  pool.run(parts, [&](int64_t p, int) {
    const int64_t r0 = n_rows * p / parts, r1 = n_rows * (p + 1) / parts;
    fn(r0, r1 - r0);
  });
}

// y[r] = rms_norm(x[r]) * w for n rows of width dim.
void rms_norm_rows(ThreadPool& pool, const float* x, const float* w, float eps, int64_t n, int64_t dim, float* y) {
  for_rows(pool, n, [&](int64_t r, int64_t m) { kernels::rms_norm(x + r * dim, w, eps, m, dim, y + r * dim); });
}

// gate[r] = silu(gate[r]) * up[r] for n rows of width dim.
void silu_mul_rows(ThreadPool& pool, float* gate, const float* up, int64_t n, int64_t dim) {
  for_rows(pool, n, [&](int64_t r, int64_t m) {
    kernels::silu_mul(gate + r * dim, up + r * dim, gate + r * dim, m * dim);
  });
}

// Attention of a chunk of T tokens: llama.cpp's non-flash order (its bits, F32 or F16 cache) for
// decode steps and chunks up to llama.cpp's default micro-batch (our default n_batch too); the
// flash-attention tiles for longer chunks (a larger --batch), where score rows grow with T.
kernels::AttentionArgs::Order attention_order(int64_t T) {
  return T <= kGgmlAttentionTokens ? kernels::AttentionArgs::Order::kGgml : kernels::AttentionArgs::Order::kTiled;
}

}  // namespace

TextModel::TextModel(GgufFile file) : file_(std::move(file)), config_(read_text_config(file_)) {
  weights_ = bind_text_weights(file_, config_);
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
    if (sp.rows == nullptr || sp.n <= 0 || sp.first < end || sp.first + sp.n > in.n)
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

void TextModel::forward_chunk(const TextInput& in, int64_t first, int64_t T, int64_t n_out, TextState& s,
                              float* logits, ThreadPool& pool) const {
  const TextConfig& c = config_;
  const int64_t E = c.n_embd, H = c.n_head, Hkv = c.n_head_kv, D = c.head_dim;
  const int64_t pos0 = s.n_past();
  TextActivations& a = s.act;
  for (int64_t i = 0; i < T; ++i) a.pos[i] = static_cast<int32_t>(pos0 + i);

  // hidden = embed_tokens(input_ids), or the given input embeddings                    [T, E]
  float* hidden = a.hidden.data();
  if (in.ids != nullptr) {
    kernels::embed_rows(weights_.embed_tokens, in.ids + first, T, hidden);
    for (const EmbeddingSpan& sp : in.spliced) {  // image features at their placeholders
      const int64_t lo = std::max(sp.first, first), hi = std::min(sp.first + sp.n, first + T);
      if (lo < hi)
        std::memcpy(hidden + (lo - first) * E, sp.rows + (lo - sp.first) * E,
                    static_cast<size_t>((hi - lo) * E) * sizeof(float));
    }
  } else {
    std::memcpy(hidden, in.embeddings + first * E, static_cast<size_t>(T * E) * sizeof(float));
  }

  const float attn_scale = 1.0f / std::sqrt(static_cast<float>(D));
  // past_key_value.update(k, v): positions pos0 .. pos0+T-1 of this layer's cache
  const auto store = [&](int64_t l, const float* k, const float* v) { s.kv.store(l, pos0, T, k, v); };
  // softmax(q k^T / sqrt(D), causal) v over cached positions 0 .. pos0+T-1, GQA
  const auto attend = [&](int64_t l, const float* q, int64_t q_first, int64_t n, float* attn) {
        kernels::attention({.q = q, .k = s.kv.keys(l), .v = s.kv.values(l), .out = attn, .kv_type = s.kv.type(),
                            .n_q = n, .n_kv = pos0 + T, .n_heads = H, .n_kv_heads = Hkv, .head_dim = D,
                            .kv_row_stride = s.kv.row_bytes(), .q_pos0 = pos0 + q_first, .causal = true,
                            .scale = attn_scale, .order = attention_order(T), .one_token = T == 1},
                           pool);
  };
  layers_and_head(T, n_out, a, store, attend, logits, pool);
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
    a.pos[i] = static_cast<int32_t>(states[static_cast<size_t>(i)]->n_past());
  }

  // hidden = embed_tokens(ids): one row per sequence                                   [B, E]
  kernels::embed_rows(weights_.embed_tokens, ids.data(), B, a.hidden.data());

  const float attn_scale = 1.0f / std::sqrt(static_cast<float>(D));
  const int64_t KV = c.kv_dim();
  // row i's k, v go to position pos[i] of sequence i's cache
  const auto store = [&](int64_t l, const float* k, const float* v) {
    for (int64_t i = 0; i < B; ++i) states[static_cast<size_t>(i)]->kv.store(l, a.pos[i], 1, k + i * KV, v + i * KV);
  };
  // row i attends over its own sequence's positions 0 .. pos[i]
  const auto attend = [&](int64_t l, const float* q, int64_t q_first, int64_t n, float* attn) {
        for (int64_t r = 0; r < n; ++r) {
          KvCache& cache = states[static_cast<size_t>(q_first + r)]->kv;
          const int64_t p = a.pos[q_first + r];
          kernels::attention({.q = q + r * H * D, .k = cache.keys(l), .v = cache.values(l), .out = attn + r * H * D,
                              .kv_type = cache.type(), .n_q = 1, .n_kv = p + 1, .n_heads = H, .n_kv_heads = Hkv,
                              .head_dim = D, .kv_row_stride = cache.row_bytes(), .q_pos0 = p, .causal = true,
                              .scale = attn_scale, .order = attention_order(1), .one_token = true},
                             pool);
    }
  };
  layers_and_head(B, B, a, store, attend, logits, pool);
  for (TextState* s : states) s->kv.advance(1);
}

template <class Store, class Attend>
void TextModel::layers_and_head(int64_t T, int64_t n_out, TextActivations& a, const Store& store,
                                const Attend& attend, float* logits, ThreadPool& pool) const {
  const TextConfig& c = config_;
  const int64_t E = c.n_embd, F = c.n_ff, H = c.n_head, Hkv = c.n_head_kv, D = c.head_dim;
  float* hidden = a.hidden.data();  // [T, E]
  float* h = a.normed.data();       // [T, E]
  float* q = a.q.data();            // [T, H*D]
  float* k = a.k.data();            // [T, Hkv*D]
  float* v = a.v.data();            // [T, Hkv*D]
  float* attn = a.attn.data();      // [T, H*D]
  float* gate = a.gate.data();      // [T, F]
  float* up = a.up.data();          // [T, F]
  const int32_t* pos = a.pos.data();

  int64_t n = T, q_first = 0;  // rows still computed: all of them, except in the last layer (below)
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const TextLayerWeights& w = weights_.layers[static_cast<size_t>(l)];

    // ---- self_attn ----
    // h = input_layernorm(hidden)                                                       [T, E]
    rms_norm_rows(pool, hidden, w.input_layernorm, c.rms_eps, T, E, h);
    // q = q_proj(h), k = k_proj(h), v = v_proj(h), in one pass over h      [T, H*D], [T, Hkv*D] x 2
    const kernels::MatmulOut qkv[] = {{w.q_proj.get(), q}, {w.k_proj.get(), k}, {w.v_proj.get(), v}};
    kernels::matmul_many(qkv, 3, h, T, pool);
    // rotary embedding of every q and k head at its position (adjacent pairs: the GGUF rows are permuted)
    kernels::rope_norm(q, T, H, D, c.n_rot, pos, c.rope_freq_base);
    kernels::rope_norm(k, T, Hkv, D, c.n_rot, pos, c.rope_freq_base);
    // past_key_value.update(k, v)
    store(l, k, v);

    // In the last layer only the rows whose logits are wanted go on (llama.cpp does the same):
    // the cache is complete, and nothing else reads the other rows.
    if (l == c.n_layer - 1) {
      if (n_out == 0) return;
      q_first = T - n_out;
      hidden += q_first * E, q += q_first * H * D, n = n_out;
    }
    // attn = softmax(q k^T / sqrt(D), causal) v, GQA                                   [n, H*D]
    attend(l, q, q_first, n, attn);
    // hidden = hidden + o_proj(attn)                                                    [n, E]
    kernels::matmul(*w.o_proj, attn, n, h, pool);
    kernels::add(hidden, h, n * E);

    // ---- mlp ----
    // h = post_attention_layernorm(hidden)                                              [n, E]
    rms_norm_rows(pool, hidden, w.post_attention_layernorm, c.rms_eps, n, E, h);
    // gate = gate_proj(h), up = up_proj(h), in one pass over h                         [n, F]
    const kernels::MatmulOut gate_up[] = {{w.gate_proj.get(), gate}, {w.up_proj.get(), up}};
    kernels::matmul_many(gate_up, 2, h, n, pool);
    // gate = act_fn(gate) * up  (SiLU)                                                  [n, F]
    silu_mul_rows(pool, gate, up, n, F);
    // hidden = hidden + down_proj(gate)                                                 [n, E]
    kernels::matmul(*w.down_proj, gate, n, h, pool);
    kernels::add(hidden, h, n * E);
  }

  // logits = lm_head(norm(hidden))                                                      [n_out, V]
  kernels::rms_norm(hidden, weights_.norm, c.rms_eps, n, E, h);
  kernels::matmul(*weights_.lm_head, h, n, logits, pool);
}

}  // namespace smolvlm
