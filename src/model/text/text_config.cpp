// TextConfig from `llama.*` GGUF keys. Required and default values follow llama.cpp's loader for
// arch "llama" (llama-model.cpp / llama-hparams): context_length, embedding_length, block_count,
// feed_forward_length, head_count and the RMS epsilon are required; head_count_kv defaults to
// head_count, rope.freq_base to 10000, key/value_length to E / H, rope.dimension_count to key_length.
#include "model/text/text_config.h"

#include <cstring>
#include <optional>

#include "base/error.h"
#include "io/gguf.h"

namespace smolvlm {
namespace {

// An integer key, or every element of a per-layer integer array when they are all equal (llama.cpp
// accepts both forms for feed_forward_length and the head counts).
std::optional<int64_t> find_int(const GgufFile& f, const std::string& key) {
  const GgufValue* v = f.find(key);
  if (v == nullptr) return std::nullopt;
  try {
    if (!v->is_array()) return v->as_int();
    const uint64_t n = v->array_size();
    if (n == 0) fail("is an empty array");
    std::optional<int64_t> first;
    for (uint64_t i = 0; i < n; ++i) {
      const size_t size = gguf_scalar_size(v->elem_type());
      if (size == 0 || v->elem_type() == GgufType::FLOAT32 || v->elem_type() == GgufType::FLOAT64 ||
          v->elem_type() == GgufType::BOOL)
        fail("is an array of ", v->type_string(), ", expected integers");
      uint64_t bits = 0;
      std::memcpy(&bits, v->packed().data() + i * size, size);
      const int64_t x = GgufValue::from_bits(v->elem_type(), bits).as_int();
      if (first && *first != x) fail("differs between layers (", *first, " vs ", x, "), which is not supported");
      first = x;
    }
    return first;
  } catch (const Error& e) {
    fail(f.path(), ": key '", key, "': ", e.what());
  }
}

int64_t require_positive(const GgufFile& f, const std::string& key, std::optional<int64_t> v) {
  if (!v) fail(f.path(), ": missing key '", key, "' (required for a llama model)");
  if (*v <= 0 || *v > (int64_t(1) << 30)) fail(f.path(), ": key '", key, "' has the invalid value ", *v);
  return *v;
}

std::optional<float> find_float(const GgufFile& f, const std::string& key) {
  const GgufValue* v = f.find(key);
  if (v == nullptr) return std::nullopt;
  try {
    return static_cast<float>(v->as_number());
  } catch (const Error& e) {
    fail(f.path(), ": key '", key, "': ", e.what());
  }
}

}  // namespace

std::string TextConfig::summary() const {
  return cat("E ", n_embd, ", ", n_layer, " layers, heads ", n_head, "/", n_head_kv, " x ", head_dim, ", MLP ", n_ff,
             ", vocab ", n_vocab, ", rope base ", rope_freq_base, " (", n_rot, " dims), rms eps ", rms_eps,
             ", trained context ", n_ctx_train);
}

TextConfig read_text_config(const GgufFile& f) {
  const std::string arch = f.architecture();
  if (arch != "llama") {
    fail(f.path(), ": not a llama text model (general.architecture is ",
         arch.empty() ? std::string("missing") : "'" + arch + "'",
         "); a SmolVLM2 text GGUF has architecture 'llama' (an mmproj file has 'clip')");
  }
  const std::string p = "llama.";
  TextConfig c;
  c.n_ctx_train = require_positive(f, p + "context_length", find_int(f, p + "context_length"));
  c.n_embd = require_positive(f, p + "embedding_length", find_int(f, p + "embedding_length"));
  c.n_layer = require_positive(f, p + "block_count", find_int(f, p + "block_count"));
  c.n_ff = require_positive(f, p + "feed_forward_length", find_int(f, p + "feed_forward_length"));
  c.n_head = require_positive(f, p + "attention.head_count", find_int(f, p + "attention.head_count"));

  const std::string kv_key = p + "attention.head_count_kv";
  c.n_head_kv = require_positive(f, kv_key, find_int(f, kv_key).value_or(c.n_head));
  const std::string k_key = p + "attention.key_length", v_key = p + "attention.value_length";
  c.head_dim = require_positive(f, k_key, find_int(f, k_key).value_or(c.n_embd / c.n_head));
  const int64_t v_dim = require_positive(f, v_key, find_int(f, v_key).value_or(c.n_embd / c.n_head));
  const std::string rot_key = p + "rope.dimension_count";
  c.n_rot = require_positive(f, rot_key, find_int(f, rot_key).value_or(c.head_dim));

  const std::string eps_key = p + "attention.layer_norm_rms_epsilon";
  const auto eps = find_float(f, eps_key);
  if (!eps) fail(f.path(), ": missing key '", eps_key, "' (required for a llama model)");
  if (!(*eps > 0.0f && *eps < 1.0f)) fail(f.path(), ": key '", eps_key, "' has the invalid value ", *eps);
  c.rms_eps = *eps;
  const std::string base_key = p + "rope.freq_base";
  c.rope_freq_base = find_float(f, base_key).value_or(10000.0f);
  if (!(c.rope_freq_base > 1.0f)) fail(f.path(), ": key '", base_key, "' has the invalid value ", c.rope_freq_base);

  if (c.n_head % c.n_head_kv != 0)
    fail(f.path(), ": ", c.n_head, " attention heads cannot be grouped over ", c.n_head_kv, " key/value heads");
  if (v_dim != c.head_dim)
    fail(f.path(), ": key_length ", c.head_dim, " differs from value_length ", v_dim, ", which is not supported");
  if (c.n_rot > c.head_dim || c.n_rot % 2 != 0)
    fail(f.path(), ": rope.dimension_count ", c.n_rot, " must be even and at most the head size ", c.head_dim);
  if (const GgufValue* s = f.find(p + "rope.scaling.type")) {
    const std::string type = s->type() == GgufType::STRING ? s->as_str() : "?";
    if (type != "none") fail(f.path(), ": rope scaling '", type, "' (llama.rope.scaling.type) is not supported");
  }
  return c;
}

}  // namespace smolvlm
