// Binding the tensors of an idefics3 mmproj GGUF (reference/llamacpp-gguf-smolvlm.md §3.2). Shapes
// are in ggml order: a matrix with ne = [cols, rows] maps `cols` inputs to `rows` outputs.
#include "model/vision/vision_weights.h"

#include <string>

#include "base/error.h"
#include "io/gguf.h"
#include "kernels/matmul.h"
#include "model/numerics.h"
#include "quant/quant.h"

namespace smolvlm {
namespace {

class Binder {
 public:
  Binder(const GgufFile& f, VisionWeights& w, backend::Device& d) : f_(f), w_(w), d_(d) {}

  const GgufTensorInfo& find(const std::string& name) const {
    const GgufTensorInfo* t = f_.find_tensor(name);
    if (t == nullptr) fail(f_.path(), ": missing tensor '", name, "' (the SmolVLM vision encoder needs it)");
    return *t;
  }

  // The tensor `name` with ggml shape `ne` (trailing 1s allowed).
  const GgufTensorInfo& tensor(const std::string& name, const std::vector<int64_t>& ne) const {
    const GgufTensorInfo& t = find(name);
    std::vector<int64_t> got = t.ne;
    while (got.size() > ne.size() && got.back() == 1) got.pop_back();
    if (got != ne)
      fail(f_.path(), ": tensor '", name, "' has shape ", shape_string(t.ne), ", expected ", shape_string(ne),
           " from the clip.vision.* hyper-parameters");
    return t;
  }

  // A float32 vector (or table: rows of ne[0]) on the device: from a view of the file when F32,
  // else from a dequantized copy.
  backend::Tensor vec(const std::string& name, const std::vector<int64_t>& ne) {
    const GgufTensorInfo& t = tensor(name, ne);
    const float* data = nullptr;
    if (t.type == GgmlType::F32) {
      data = reinterpret_cast<const float*>(f_.tensor_data(t).data());
    } else {
      if (!can_dequantize(t.type) || t.ne[0] % ggml_type_info(t.type).block_size != 0)
        fail(f_.path(), ": tensor '", name, "' has type ", ggml_type_name(t.type), ", which cannot be read as floats");
      const int64_t n = t.n_elements();
      auto buf = std::make_unique<float[]>(static_cast<size_t>(n));
      dequantize_row(t.type, f_.tensor_data(t).data(), buf.get(), n);
      w_.owned.push_back(std::move(buf));
      data = w_.owned.back().get();
    }
    const int64_t cols = ne[0], rows = t.n_elements() / cols;
    w_.buffers.emplace_back();
    return bind(name, [&] { return d_.upload_f32(data, rows, cols, w_.buffers.back()); });
  }

  // A projection y = W x with W of `rows` x `cols` stored as `t` (any shape with those elements
  // in row-major order), bound on the device. The tower follows transformers, not llama.cpp (exact
  // convolution and GELU), so only exact mode (model/numerics.h) puts the CPU's sums in ggml's order;
  // the fast mode lets F16 weights run as bf16 where the CPU multiplies bf16 natively (the precision
  // of the published weights and of transformers' own bf16 runs; kernels/matmul.h).
  std::unique_ptr<backend::Matrix> pack(const GgufTensorInfo& t, int64_t rows, int64_t cols) const {
    if (!kernels::matmul_supports(t.type))
      fail(f_.path(), ": tensor '", t.name, "' has type ", ggml_type_name(t.type),
           ", which the matmul kernels do not support");
    return bind(t.name, [&] {
      const Numerics n = numerics();
      return d_.upload({t.type, rows, cols, f_.tensor_data(t).data()}, {sum_order(n), n == Numerics::kFast});
    });
  }

  // Runs a device's bind step; its errors name the file and the tensor (out of device memory stays
  // that kind of error: a loader may put the projector on the CPU instead).
  template <class Fn>
  auto bind(const std::string& name, const Fn& fn) const -> decltype(fn()) {
    try {
      return fn();
    } catch (const backend::OutOfDeviceMemory& e) {
      throw backend::OutOfDeviceMemory(cat(f_.path(), ": tensor '", name, "': ", e.what()));
    } catch (const Error& e) {
      fail(f_.path(), ": tensor '", name, "': ", e.what());
    }
  }

  std::unique_ptr<backend::Matrix> matrix(const std::string& name, int64_t rows, int64_t cols) const {
    return pack(tensor(name, {cols, rows}), rows, cols);
  }

 private:
  const GgufFile& f_;
  VisionWeights& w_;
  backend::Device& d_;
};

// Legacy files name fc1 'ffn_down' and fc2 'ffn_up'; clip.cpp recognises them by ffn_down's
// input width being C (fc1 maps C -> Fv).
bool ffn_names_swapped(const GgufFile& f, const VisionConfig& c) {
  const GgufTensorInfo* down = f.find_tensor("v.blk.0.ffn_down.weight");
  return down != nullptr && c.n_embd != c.n_ff && down->ne.size() >= 2 && down->ne[0] == c.n_embd &&
         down->ne[1] == c.n_ff;
}

}  // namespace

size_t VisionWeights::matmul_bytes() const {
  size_t n = patch_embedding->bytes() + projection->bytes();
  for (const auto& l : layers)
    for (const auto* w : {&l.q_proj, &l.k_proj, &l.v_proj, &l.out_proj, &l.fc1, &l.fc2}) n += (*w)->bytes();
  return n;
}

VisionWeights bind_vision_weights(const GgufFile& f, const VisionConfig& c, backend::Device& device) {
  VisionWeights w;
  Binder b(f, w, device);
  const int64_t C = c.n_embd, F = c.n_ff, P = c.patch_size, Np = c.n_patches();

  w.patch_embedding = b.pack(b.tensor("v.patch_embd.weight", {P, P, 3, C}), C, c.patch_dim());
  w.patch_bias = b.vec("v.patch_embd.bias", {C});
  w.position_embedding = b.vec("v.position_embd.weight", {C, Np});

  w.ffn_swapped = ffn_names_swapped(f, c);
  const std::string fc1_name = w.ffn_swapped ? "ffn_down" : "ffn_up";
  const std::string fc2_name = w.ffn_swapped ? "ffn_up" : "ffn_down";
  w.layers.resize(static_cast<size_t>(c.n_layer));
  for (int64_t i = 0; i < c.n_layer; ++i) {
    const std::string p = "v.blk." + std::to_string(i) + ".";
    VisionLayerWeights& l = w.layers[static_cast<size_t>(i)];
    l.layer_norm1_w = b.vec(p + "ln1.weight", {C});
    l.layer_norm1_b = b.vec(p + "ln1.bias", {C});
    l.q_proj = b.matrix(p + "attn_q.weight", C, C);
    l.k_proj = b.matrix(p + "attn_k.weight", C, C);
    l.v_proj = b.matrix(p + "attn_v.weight", C, C);
    l.q_bias = b.vec(p + "attn_q.bias", {C});
    l.k_bias = b.vec(p + "attn_k.bias", {C});
    l.v_bias = b.vec(p + "attn_v.bias", {C});
    l.out_proj = b.matrix(p + "attn_out.weight", C, C);
    l.out_bias = b.vec(p + "attn_out.bias", {C});
    l.layer_norm2_w = b.vec(p + "ln2.weight", {C});
    l.layer_norm2_b = b.vec(p + "ln2.bias", {C});
    l.fc1 = b.matrix(p + fc1_name + ".weight", F, C);
    l.fc1_bias = b.vec(p + fc1_name + ".bias", {F});
    l.fc2 = b.matrix(p + fc2_name + ".weight", C, F);
    l.fc2_bias = b.vec(p + fc2_name + ".bias", {C});
  }
  w.post_layernorm_w = b.vec("v.post_ln.weight", {C});
  w.post_layernorm_b = b.vec("v.post_ln.bias", {C});

  const GgufTensorInfo& fc = b.find("mm.model.fc.weight");
  if (fc.ne.size() >= 1 && fc.ne[0] != c.connector_dim())
    fail(f.path(), ": tensor 'mm.model.fc.weight' has shape ", shape_string(fc.ne), ", expected [",
         c.connector_dim(), ", ", c.projection_dim, "]: its input width must be C * scale_factor^2 = ", C, " * ",
         c.scale_factor, "^2");
  w.projection = b.matrix("mm.model.fc.weight", c.projection_dim, c.connector_dim());
  return w;
}

}  // namespace smolvlm
