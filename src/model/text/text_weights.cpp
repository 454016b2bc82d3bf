// Binding the llama tensors of a text GGUF (reference/llamacpp-gguf-smolvlm.md §2.4). Shapes are in
// ggml order: a matrix with ne = [cols, rows] maps `cols` inputs to `rows` outputs.
#include "model/text/text_weights.h"

#include <string>

#include "base/error.h"
#include "io/gguf.h"
#include "kernels/matmul.h"
#include "quant/quant.h"

namespace smolvlm {
namespace {

std::string matmul_type_list() {
  std::string s;
  for (uint32_t id = 0; id < 64; ++id) {
    const GgmlTypeInfo* info = ggml_type_info(id);
    if (info == nullptr || !kernels::matmul_supports(info->type)) continue;
    s += (s.empty() ? "" : ", ") + ggml_type_name(info->type);
  }
  return s;
}

class Binder {
 public:
  Binder(const GgufFile& f, kernels::SumOrder order) : f_(f), order_(order) {}

  // The tensor `name` with ggml shape `ne` (trailing 1s allowed).
  const GgufTensorInfo& tensor(const std::string& name, const std::vector<int64_t>& ne) const {
    const GgufTensorInfo* t = f_.find_tensor(name);
    if (t == nullptr) fail(f_.path(), ": missing tensor '", name, "' (a llama text model needs it)");
    std::vector<int64_t> got = t->ne;
    while (got.size() > ne.size() && got.back() == 1) got.pop_back();
    if (got != ne)
      fail(f_.path(), ": tensor '", name, "' has shape ", shape_string(t->ne), ", expected ", shape_string(ne),
           " from the llama.* hyper-parameters");
    return *t;
  }

  backend::Tensor norm(const std::string& name, int64_t n, backend::Device& d,
                       std::vector<std::unique_ptr<backend::Buffer>>& owned) const {
    const GgufTensorInfo& t = tensor(name, {n});
    if (t.type != GgmlType::F32)
      fail(f_.path(), ": tensor '", name, "' has type ", ggml_type_name(t.type), "; norm weights must be F32");
    owned.emplace_back();
    return bind(name, [&] {
      return d.upload_f32(reinterpret_cast<const float*>(f_.tensor_data(t).data()), 1, n, owned.back());
    });
  }

  kernels::WeightView view(const GgufTensorInfo& t) const {
    return kernels::WeightView{t.type, t.ne.size() > 1 ? t.ne[1] : 1, t.ne[0], f_.tensor_data(t).data()};
  }

  // A projection y = W x with W of `rows` x `cols`, bound on device d.
  std::unique_ptr<backend::Matrix> matrix(const std::string& name, int64_t rows, int64_t cols, backend::Device& d) const {
    return pack(tensor(name, {cols, rows}), d);
  }

  std::unique_ptr<backend::Matrix> pack(const GgufTensorInfo& t, backend::Device& d) const {
    if (!kernels::matmul_supports(t.type))
      fail(f_.path(), ": tensor '", t.name, "' has type ", ggml_type_name(t.type),
           ", which the matmul kernels do not support (supported: ", matmul_type_list(), ")");
    return bind(t.name, [&] { return d.upload(view(t), order_); });
  }

  // Runs a device's bind step; its errors name the file and the tensor.
  template <class Fn>
  auto bind(const std::string& name, const Fn& fn) const -> decltype(fn()) {
    try {
      return fn();
    } catch (const backend::OutOfDeviceMemory& e) {  // the same kind: a loader may retry with fewer layers
      throw backend::OutOfDeviceMemory(cat(f_.path(), ": tensor '", name, "': ", e.what()));
    } catch (const Error& e) {
      fail(f_.path(), ": tensor '", name, "': ", e.what());
    }
  }

 private:
  const GgufFile& f_;
  kernels::SumOrder order_;
};

// The vocabulary size the metadata declares must match the embedding rows (llama.cpp checks the
// tokenizer's token count against token_embd; llama.vocab_size is written by the converter).
void check_vocab(const GgufFile& f, int64_t rows) {
  if (const GgufValue* v = f.find("llama.vocab_size")) {
    int64_t n = 0;
    try {
      n = v->as_int();
    } catch (const Error& e) {
      fail(f.path(), ": key 'llama.vocab_size': ", e.what());
    }
    if (n != rows)
      fail(f.path(), ": llama.vocab_size is ", n, " but token_embd.weight has ", rows, " rows (one per token)");
  }
  if (const GgufValue* t = f.find("tokenizer.ggml.tokens")) {
    const uint64_t n = t->is_array() ? t->array_size() : 0;
    if (static_cast<int64_t>(n) != rows)
      fail(f.path(), ": the tokenizer has ", n, " tokens but token_embd.weight has ", rows, " rows (one per token)");
  }
}

// Tensors that would change the math but that SmolLM2 never has: refuse them rather than ignore.
void reject_unsupported_extras(const GgufFile& f) {
  for (const auto& t : f.tensors()) {
    const bool bias = t.name.size() > 5 && t.name.compare(t.name.size() - 5, 5, ".bias") == 0;
    if (bias || t.name == "rope_freqs.weight")
      fail(f.path(), ": tensor '", t.name,
           "' is not supported (SmolVLM2's Llama decoder has no biases and no rope_freqs)");
  }
}

}  // namespace

size_t TextLayerWeights::bytes() const {
  size_t n = input_layernorm.bytes() + post_attention_layernorm.bytes();
  for (const auto* w : {&q_proj, &k_proj, &v_proj, &o_proj, &gate_proj, &up_proj, &down_proj}) n += (*w)->bytes();
  return n;
}

size_t TextWeights::matmul_bytes() const {
  size_t n = lm_head ? lm_head->bytes() : 0;
  for (const auto& l : layers) {
    for (const auto* w : {&l.q_proj, &l.k_proj, &l.v_proj, &l.o_proj, &l.gate_proj, &l.up_proj, &l.down_proj})
      n += (*w)->bytes();
  }
  return n;
}

TextWeightSizes text_weight_sizes(const GgufFile& f, const TextConfig& c) {
  const auto size = [&](const std::string& name) -> uint64_t {
    const GgufTensorInfo* t = f.find_tensor(name);
    return t == nullptr ? 0 : f.tensor_data(*t).size();
  };
  TextWeightSizes s;
  for (int64_t i = 0; i < c.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    uint64_t n = 0;
    for (const char* t : {"attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up",
                          "ffn_down"})
      n += size(p + t + ".weight");
    s.layers.push_back(n);
  }
  s.input = size("token_embd.weight");
  s.output = size("output_norm.weight") + (f.find_tensor("output.weight") ? size("output.weight") : s.input);
  return s;
}

TextWeights bind_text_weights(const GgufFile& f, TextConfig& c, const TextPlacement& place, kernels::SumOrder order) {
  const Binder b(f, order);
  reject_unsupported_extras(f);
  const int64_t E = c.n_embd, F = c.n_ff, Q = c.q_dim(), KV = c.kv_dim();

  TextWeights w;
  const GgufTensorInfo* embd = f.find_tensor("token_embd.weight");
  if (embd == nullptr) fail(f.path(), ": missing tensor 'token_embd.weight' (a llama text model needs it)");
  if (embd->ne.size() < 2 || embd->ne[0] != E)
    fail(f.path(), ": tensor 'token_embd.weight' has shape ", shape_string(embd->ne), ", expected [", E,
         ", n_vocab] (embedding_length ", E, ")");
  c.n_vocab = embd->ne[1];
  b.tensor("token_embd.weight", {E, c.n_vocab});
  check_vocab(f, c.n_vocab);
  if (!can_dequantize(embd->type))
    fail(f.path(), ": tensor 'token_embd.weight' has type ", ggml_type_name(embd->type),
         ", which cannot be read as embedding rows");
  w.embed_tokens = b.bind(embd->name, [&] { return place.input->upload_table(b.view(*embd)); });

  w.layers.resize(static_cast<size_t>(c.n_layer));
  for (int64_t i = 0; i < c.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    TextLayerWeights& l = w.layers[static_cast<size_t>(i)];
    backend::Device& d = *place.layer(i);
    l.input_layernorm = b.norm(p + "attn_norm.weight", E, d, l.owned);
    l.q_proj = b.matrix(p + "attn_q.weight", Q, E, d);
    l.k_proj = b.matrix(p + "attn_k.weight", KV, E, d);
    l.v_proj = b.matrix(p + "attn_v.weight", KV, E, d);
    l.o_proj = b.matrix(p + "attn_output.weight", E, Q, d);
    l.post_attention_layernorm = b.norm(p + "ffn_norm.weight", E, d, l.owned);
    l.gate_proj = b.matrix(p + "ffn_gate.weight", F, E, d);
    l.up_proj = b.matrix(p + "ffn_up.weight", F, E, d);
    l.down_proj = b.matrix(p + "ffn_down.weight", E, F, d);
  }
  w.norm = b.norm("output_norm.weight", E, *place.output, w.owned);
  w.tied_lm_head = f.find_tensor("output.weight") == nullptr;
  w.lm_head = w.tied_lm_head ? b.pack(*embd, *place.output) : b.matrix("output.weight", c.n_vocab, E, *place.output);
  return w;
}

}  // namespace smolvlm
