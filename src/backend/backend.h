// The device layer: where tensors live and ops run. The forward passes are written once over
// `Ops`; the CPU (cpu/, today's kernels, the reference) and Vulkan (vulkan/) implement it.
//
//   Device& dev = ...;                                   // backend::cpu(), or a Vulkan device
//   std::unique_ptr<Matrix> w = dev.upload(view);        // weights: bound once, at load
//   std::unique_ptr<Buffer> b = dev.alloc(bytes, "kv");  // caches and activations
//   std::unique_ptr<Ops> ops = dev.begin(pool);          // one pass
//   ops->matmul(*w, x, y); ops->add(h, y); ... ops->read(logits, host); ops->finish();
//
// Ops record in order. On the CPU they run at once; on a GPU they are recorded into a command
// buffer and run at finish() (the sync point), which also completes every read(). Kernels and
// shaders know no model; model code names no graphics API.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "base/error.h"
#include "io/ggml_type.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/thread_pool.h"

namespace smolvlm::backend {

// A device without room for an allocation (a loader fitting layers automatically retries with
// fewer on the GPU).
class OutOfDeviceMemory : public Error {
 public:
  using Error::Error;
};

// The device stopped working (a GPU reset, a driver crash): the work of the pass is lost, and so is
// everything on that device; a server unloads the model so that the next request loads it again.
class DeviceLost : public Error {
 public:
  using Error::Error;
};

// Memory of one device.
class Buffer {
 public:
  virtual ~Buffer() = default;
  virtual size_t bytes() const = 0;
  virtual uint8_t* host() const { return nullptr; }  // its address, when the CPU can address it
};

// Host memory the caller owns, seen as a Buffer (the CPU's tensors over it: the caller's logits).
class HostView final : public Buffer {
 public:
  HostView(void* data, size_t bytes) : data_(static_cast<uint8_t*>(data)), bytes_(bytes) {}
  size_t bytes() const override { return bytes_; }
  uint8_t* host() const override { return data_; }

 private:
  uint8_t* data_;
  size_t bytes_;
};

// rows x cols elements of `type`, row-major and packed, at `offset` bytes into a buffer.
struct Tensor {
  Buffer* buffer = nullptr;
  size_t offset = 0;
  GgmlType type = GgmlType::F32;
  int64_t rows = 0, cols = 0;

  size_t row_bytes() const { return ggml_row_size(type, cols); }
  size_t bytes() const { return row_bytes() * static_cast<size_t>(rows); }
  Tensor slice(int64_t first_row, int64_t n_rows) const {  // rows [first_row, first_row + n_rows)
    return {buffer, offset + row_bytes() * static_cast<size_t>(first_row), type, n_rows, cols};
  }
  Tensor reshape(int64_t r, int64_t c) const { return {buffer, offset, type, r, c}; }  // same bytes
  float* f32() const { return reinterpret_cast<float*>(buffer->host() + offset); }  // CPU tensors, F32
  void* data() const { return buffer->host() + offset; }                          // CPU tensors
};

// A weight matrix bound to a device: W [rows, cols] in a ggml type (y = x W^T).
class Matrix {
 public:
  virtual ~Matrix() = default;
  virtual GgmlType type() const = 0;  // the type it runs as (F16 bound as bf16 on the CPU: BF16)
  virtual int64_t rows() const = 0;
  virtual int64_t cols() const = 0;
  virtual size_t bytes() const = 0;  // bytes a full pass over it reads
};

struct MatmulOut {
  const Matrix* w = nullptr;
  Tensor y;  // [n, w->rows()]
};

// A self-attention's inputs for one sequence (Ops::attention_inputs): h = rms_norm(x) * norm_w;
// q = rope(h Wq^T) in place; rope(h Wk^T) and h Wv^T into the cache rows k_cache, v_cache.
struct AttentionInputs {
  Tensor x, norm_w;  // [n, E], [1, E]
  float eps = 0;
  Tensor h;          // [n, E] scratch (the normed rows)
  const Matrix *wq = nullptr, *wk = nullptr, *wv = nullptr;
  Tensor q, k, v;    // [n, H*D], [n, Hkv*D] x 2 (k and v: scratch where a backend stores straight to the cache)
  Tensor k_cache, v_cache;  // [n, Hkv*D] rows of the cache, F16 or F32
  int64_t n_heads = 0, n_kv_heads = 0, head_dim = 0, n_rot = 0;
  const int32_t* pos = nullptr;  // position of each row
  float freq_base = 0;
};

// Attention of q's rows against a layer's cache (kernels::AttentionArgs over tensors).
struct AttentionOp {
  Tensor q;       // [n_q, n_heads * head_dim] f32
  Tensor k, v;    // the cache [n_ctx, n_kv_heads * head_dim], F16 or F32
  Tensor out;     // [n_q, n_heads * head_dim] f32
  int64_t n_kv = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0;
  int64_t q_pos0 = 0;  // position of q's row 0; key j sits at position j
  bool causal = true;
  float scale = 1.0f;
  // The CPU's float order (kernels::AttentionArgs); a GPU computes in its own order.
  kernels::AttentionArgs::Order order = kernels::AttentionArgs::Order::kTiled;
  bool one_token = false;
  // The CPU's fast vision attention: q, k, v and the probabilities as bf16 where the CPU multiplies
  // bf16 pairs natively (kernels::AttentionArgs::bf16); a GPU ignores it.
  bool bf16 = false;
  // Its int8 scores where bf16 does not run (kernels::AttentionArgs::int8); a GPU ignores it.
  bool int8 = false;
};

// The ops of one pass on one device, in order.
class Ops {
 public:
  virtual ~Ops() = default;
  // y[r] = x[r] / sqrt(mean(x[r]^2) + eps) * w (x, y [n, dim]; may be the same tensor; w [1, dim])
  virtual void rms_norm(const Tensor& x, const Tensor& w, float eps, const Tensor& y) = 0;
  // y = x W^T: x [n, cols] f32, y [n, rows] f32
  virtual void matmul(const Matrix& w, const Tensor& x, const Tensor& y) = 0;
  // y += x W^T (a residual connection); tmp [n, rows] is scratch for a backend that needs it
  virtual void matmul_add(const Matrix& w, const Tensor& x, const Tensor& y, const Tensor& tmp) = 0;
  // several weights over the same x (q/k/v, gate/up)
  virtual void matmul_many(std::span<const MatmulOut> outs, const Tensor& x) = 0;
  // RoPE NORM in place on x [n, n_heads * head_dim], row i at position pos[i]
  virtual void rope_norm(const Tensor& x, int64_t n_heads, int64_t head_dim, int64_t n_rot, const int32_t* pos,
                         float freq_base) = 0;
  // dst = src converted to dst's type (F32 or F16): src [n, c] f32, dst [n, c]
  virtual void store_rows(const Tensor& src, const Tensor& dst) = 0;
  virtual void attention(const AttentionOp& a) = 0;
  virtual void silu_mul(const Tensor& gate, const Tensor& up) = 0;  // gate = silu(gate) * up
  virtual void add(const Tensor& y, const Tensor& x) = 0;          // y += x
  // y[r] = (x[r] - mean) / sqrt(var + eps) * w + b (x, y [n, dim]; may be the same; w, b [1, dim])
  virtual void layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, float eps, const Tensor& y) = 0;
  // y[r] += x[r % x.rows] (a bias [1, C]; a position table [Np, C] over B tiles of Np rows)
  virtual void add_rows(const Tensor& y, const Tensor& x) = 0;
  virtual void gelu_tanh(const Tensor& x) = 0;  // in place, the tanh approximation
  // The patches of a stride-`patch` convolution (kernels::conv_patches): tiles [B, 3*S*S] with
  // S = side -> out [B*n*n, 3*patch*patch], n = side / patch
  virtual void conv_patches(const Tensor& tiles, int64_t side, int64_t patch, const Tensor& out) = 0;
  // x [B*side*side, C] -> out [B*(side/s)^2, C*s*s] (kernels::pixel_shuffle)
  virtual void pixel_shuffle(const Tensor& x, int64_t side, int64_t s, const Tensor& out) = 0;
  // out[i] = row ids[i] of table (an embedding lookup; ids checked by the caller)
  virtual void embed_rows(const Matrix& table, const int32_t* ids, const Tensor& out) = 0;

  // Fused pairs: what the two ops give, in one pass where a backend can (a GPU's decode step: a
  // dispatch and a barrier fewer). The tensor that carried the intermediate result is scratch
  // afterwards. The defaults run the two ops (the CPU: its float order unchanged).
  // h = rms_norm(x) * norm_w, then outs = h W^T (the norm before q/k/v, gate/up, the head)
  virtual void rms_norm_matmul(const Tensor& x, const Tensor& norm_w, float eps, const Tensor& h,
                               std::span<const MatmulOut> outs) {
    rms_norm(x, norm_w, eps, h);
    matmul_many(outs, h);
  }
  // gate = silu(gate) * up, then y += gate W^T (the MLP's down projection)
  virtual void silu_mul_matmul_add(const Matrix& w, const Tensor& gate, const Tensor& up, const Tensor& y,
                                   const Tensor& tmp) {
    silu_mul(gate, up);
    matmul_add(w, gate, y, tmp);
  }
  // dst = rope_norm(x) converted to dst's type (keys rotated on their way into the cache)
  virtual void rope_norm_store(const Tensor& x, int64_t n_heads, int64_t head_dim, int64_t n_rot, const int32_t* pos,
                               float freq_base, const Tensor& dst) {
    rope_norm(x, n_heads, head_dim, n_rot, pos, freq_base);
    store_rows(x, dst);
  }
  // The four above as one: q, k and v of the normed x, q and k rotated, k and v into the cache
  virtual void attention_inputs(const AttentionInputs& a) {
    const MatmulOut qkv[] = {{a.wq, a.q}, {a.wk, a.k}, {a.wv, a.v}};
    rms_norm_matmul(a.x, a.norm_w, a.eps, a.h, qkv);
    rope_norm(a.q, a.n_heads, a.head_dim, a.n_rot, a.pos, a.freq_base);
    rope_norm_store(a.k, a.n_kv_heads, a.head_dim, a.n_rot, a.pos, a.freq_base, a.k_cache);
    store_rows(a.v, a.v_cache);
  }

  // host -> tensor, in order with the ops
  virtual void write(const Tensor& dst, const void* src) = 0;
  // tensor -> host; dst holds the bytes once finish() returned
  virtual void read(const Tensor& src, void* dst) = 0;
  // Runs what was recorded and waits (the sync point). Throws Error when the device fails.
  virtual void finish() = 0;
};

class Device {
 public:
  virtual ~Device() = default;
  virtual std::string name() const = 0;  // "CPU", or the GPU's name
  virtual bool is_cpu() const = 0;
  // Throws Error naming `what` and the size when the device has no room.
  virtual std::unique_ptr<Buffer> alloc(size_t bytes, const std::string& what) = 0;
  // Binds a weight once (uploads it; the CPU packs it for its ISA, in `order`). w.data must
  // outlive the Matrix on the CPU. Throws Error for a type or shape the device cannot run.
  virtual std::unique_ptr<Matrix> upload(const kernels::WeightView& w, kernels::PackOptions options) = 0;
  // A table read only by embed_rows (the CPU keeps the file's bytes as they are, no packing).
  virtual std::unique_ptr<Matrix> upload_table(const kernels::WeightView& w) = 0;
  // A vector or small table of f32 (norm weights) [rows, cols], copied or (CPU) referenced.
  virtual Tensor upload_f32(const float* data, int64_t rows, int64_t cols, std::unique_ptr<Buffer>& keep) = 0;
  virtual bool supports(GgmlType weight_type, int64_t cols) const = 0;
  // One pass's ops; the pool runs the CPU kernels (and the host side of a GPU pass).
  virtual std::unique_ptr<Ops> begin(kernels::ThreadPool& pool) = 0;
};

// The CPU: today's kernels (src/kernels), for the active ISA.
Device& cpu();

}  // namespace smolvlm::backend
