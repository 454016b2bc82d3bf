// TextConfig from `llama.*` GGUF keys. Required and default values follow llama.cpp's loader for
// arch "llama" (llama-model.cpp / llama-hparams): context_length, embedding_length, block_count,
// feed_forward_length, head_count and the RMS epsilon are required; head_count_kv defaults to
// head_count, rope.freq_base to 10000, key/value_length to E / H, rope.dimension_count to key_length.
#include "model/text/text_config.h"

#include <cstring>
#include <optional>

#include "base/error.h"
#include "io/gguf.h"
#include "io/gguf_keys.h"

namespace smolvlm {
namespace {

constexpr std::string_view kWho = "a llama model";
std::optional<float> find_float(const GgufFile& f, const std::string& key) {
  const auto v = gguf_number(f, key);
  return v ? std::optional<float>(static_cast<float>(*v)) : std::nullopt;
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
  auto req = [&](const std::string& key) { return gguf_positive(f, key, gguf_int(f, key), kWho); };
  c.n_ctx_train = req(p + "context_length");
  c.n_embd = req(p + "embedding_length");
  c.n_layer = req(p + "block_count");
  c.n_ff = req(p + "feed_forward_length");
  c.n_head = req(p + "attention.head_count");

  const std::string kv_key = p + "attention.head_count_kv";
  c.n_head_kv = gguf_positive(f, kv_key, gguf_int(f, kv_key).value_or(c.n_head), kWho);
  const std::string k_key = p + "attention.key_length", v_key = p + "attention.value_length";
  c.head_dim = gguf_positive(f, k_key, gguf_int(f, k_key).value_or(c.n_embd / c.n_head), kWho);
  const int64_t v_dim = gguf_positive(f, v_key, gguf_int(f, v_key).value_or(c.n_embd / c.n_head), kWho);
  const std::string rot_key = p + "rope.dimension_count";
  c.n_rot = gguf_positive(f, rot_key, gguf_int(f, rot_key).value_or(c.head_dim), kWho);

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
