// backend::cpu(): the Ops over today's kernels, exactly as the forward passes called them before
// there was a device layer (the same calls, threading and float order: the llama.cpp parity of
// the CPU path rests on it).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>

#include "backend/backend.h"
#include "base/error.h"
#include "kernels/layout.h"

namespace smolvlm::backend {
namespace {

using kernels::ThreadPool;

class HostBuffer final : public Buffer {
 public:
  HostBuffer(size_t bytes, const std::string& what) : bytes_(bytes) {
    constexpr size_t kAlign = 64;
    data_ = static_cast<uint8_t*>(std::aligned_alloc(kAlign, std::max<size_t>(kAlign, (bytes + kAlign - 1) / kAlign * kAlign)));
    if (data_ == nullptr) fail("cannot allocate ", bytes >> 20, " MiB of memory for ", what);
    owned_ = true;
  }
  HostBuffer(const void* external, size_t bytes) : data_(static_cast<uint8_t*>(const_cast<void*>(external))), bytes_(bytes) {}
  ~HostBuffer() override {
    if (owned_) std::free(data_);
  }
  size_t bytes() const override { return bytes_; }
  uint8_t* host() const override { return data_; }

 private:
  uint8_t* data_ = nullptr;
  size_t bytes_ = 0;
  bool owned_ = false;
};

// A packed weight for the matmul kernels, or (table) only the file's rows for embed_rows.
class CpuMatrix final : public Matrix {
 public:
  CpuMatrix(const kernels::WeightView& view, kernels::PackOptions options)
      : view_(view), packed_(kernels::pack_weight(view, options)) {}
  explicit CpuMatrix(const kernels::WeightView& table) : view_(table) {}
  GgmlType type() const override { return packed_ ? packed_->type() : view_.type; }  // as it runs
  int64_t rows() const override { return view_.rows; }
  int64_t cols() const override { return view_.cols; }
  size_t bytes() const override { return packed_ ? packed_->bytes() : ggml_row_size(view_.type, view_.cols) * size_t(view_.rows); }
  const kernels::WeightView& view() const { return view_; }
  const kernels::PackedWeight& packed() const { return *packed_; }

 private:
  kernels::WeightView view_;
  std::unique_ptr<kernels::PackedWeight> packed_;
};

const CpuMatrix& cpu_matrix(const Matrix& m) { return static_cast<const CpuMatrix&>(m); }

// Row-wise kernels (norms, activations) are single-threaded; a prefill chunk splits its rows over
// the pool (a vision pass, `fine`: in more parts, each of at least 16 rows). fn(first_row, n_rows).
// No result depends on the split.
void for_rows(ThreadPool& pool, int64_t n_rows, const std::function<void(int64_t, int64_t)>& fn, bool fine = false) {
  const int64_t parts = fine ? std::min<int64_t>(4 * pool.size(), n_rows / 16) : std::min<int64_t>(pool.size(), n_rows / 8);
  if (parts <= 1) return fn(0, n_rows);
  pool.run(parts, [&](int64_t p, int) {
    const int64_t r0 = n_rows * p / parts, r1 = n_rows * (p + 1) / parts;
    fn(r0, r1 - r0);
  });
}

class CpuOps final : public Ops {
 public:
  explicit CpuOps(ThreadPool& pool) : pool_(pool) {}

  void rms_norm(const Tensor& x, const Tensor& w, float eps, const Tensor& y) override {
    const int64_t dim = x.cols;
    const float *xs = x.f32(), *ws = w.f32();
    float* ys = y.f32();
    for_rows(pool_, x.rows, [&](int64_t r, int64_t m) { kernels::rms_norm(xs + r * dim, ws, eps, m, dim, ys + r * dim); });
  }
  void matmul(const Matrix& w, const Tensor& x, const Tensor& y) override {
    kernels::matmul(cpu_matrix(w).packed(), x.f32(), x.rows, y.f32(), pool_);
  }
  void matmul_add(const Matrix& w, const Tensor& x, const Tensor& y, const Tensor& tmp) override {
    matmul(w, x, tmp);  // the product, then the add: the float order the model always had
    add(y, tmp);
  }
  void matmul_many(std::span<const MatmulOut> outs, const Tensor& x) override {
    kernels::MatmulOut k[8];
    if (outs.size() > 8) fail("matmul_many: ", outs.size(), " weights (at most 8)");
    for (size_t i = 0; i < outs.size(); ++i) k[i] = {&cpu_matrix(*outs[i].w).packed(), outs[i].y.f32()};
    kernels::matmul_many(k, static_cast<int>(outs.size()), x.f32(), x.rows, pool_);
  }
  void rope_norm(const Tensor& x, int64_t n_heads, int64_t head_dim, int64_t n_rot, const int32_t* pos,
                 float freq_base) override {
    kernels::rope_norm(x.f32(), x.rows, n_heads, head_dim, n_rot, pos, freq_base);
  }
  void store_rows(const Tensor& src, const Tensor& dst) override {
    kernels::store_row(dst.type, src.f32(), dst.data(), src.rows * src.cols);
  }
  void attention(const AttentionOp& a) override {
    kernels::attention({.q = a.q.f32(), .k = a.k.data(), .v = a.v.data(), .out = a.out.f32(), .kv_type = a.k.type,
                        .n_q = a.q.rows, .n_kv = a.n_kv, .n_heads = a.n_heads, .n_kv_heads = a.n_kv_heads,
                        .head_dim = a.head_dim, .kv_row_stride = a.k.row_bytes(), .q_pos0 = a.q_pos0,
                        .causal = a.causal, .scale = a.scale, .order = a.order, .one_token = a.one_token, .bf16 = a.bf16,
                        .int8 = a.int8},
                       pool_);
  }
  void silu_mul(const Tensor& gate, const Tensor& up) override {
    const int64_t dim = gate.cols;
    float* g = gate.f32();
    const float* u = up.f32();
    for_rows(pool_, gate.rows, [&](int64_t r, int64_t m) { kernels::silu_mul(g + r * dim, u + r * dim, g + r * dim, m * dim); });
  }
  void add(const Tensor& y, const Tensor& x) override { kernels::add(y.f32(), x.f32(), y.rows * y.cols); }
  void layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, float eps, const Tensor& y) override {
    const int64_t dim = x.cols;
    const float *xs = x.f32(), *ws = w.f32(), *bs = b.f32();
    float* ys = y.f32();
    for_rows(
        pool_, x.rows, [&](int64_t r, int64_t m) { kernels::layer_norm(xs + r * dim, ws, bs, eps, m, dim, ys + r * dim); },
        true);
  }
  void add_rows(const Tensor& y, const Tensor& x) override {
    const int64_t C = y.cols;
    float* ys = y.f32();
    const float* xs = x.f32();
    for_rows(
        pool_, y.rows,
        [&](int64_t r0, int64_t m) {
          for (int64_t r = r0; r < r0 + m; ++r) kernels::add(ys + r * C, xs + (r % x.rows) * C, C);
        },
        true);
  }
  void gelu_tanh(const Tensor& x) override {
    const int64_t C = x.cols;
    float* xs = x.f32();
    for_rows(pool_, x.rows, [&](int64_t r0, int64_t m) { kernels::gelu_tanh(xs + r0 * C, m * C); }, true);
  }
  void conv_patches(const Tensor& tiles, int64_t side, int64_t patch, const Tensor& out) override {
    kernels::conv_patches(tiles.f32(), tiles.rows, side, patch, out.f32(), pool_);
  }
  void pixel_shuffle(const Tensor& x, int64_t side, int64_t s, const Tensor& out) override {
    kernels::pixel_shuffle(x.f32(), x.rows / (side * side), side, x.cols, s, out.f32());
  }
  void embed_rows(const Matrix& table, const int32_t* ids, const Tensor& out) override {
    kernels::embed_rows(cpu_matrix(table).view(), ids, out.rows, out.f32());
  }
  void write(const Tensor& dst, const void* src) override {
    if (dst.data() != src) std::memcpy(dst.data(), src, dst.bytes());
  }
  void read(const Tensor& src, void* dst) override {
    if (src.data() != dst) std::memcpy(dst, src.data(), src.bytes());
  }
  void finish() override {}

 private:
  ThreadPool& pool_;
};

class CpuDevice final : public Device {
 public:
  std::string name() const override { return "CPU"; }
  bool is_cpu() const override { return true; }
  std::unique_ptr<Buffer> alloc(size_t bytes, const std::string& what) override {
    return std::make_unique<HostBuffer>(bytes, what);
  }
  std::unique_ptr<Matrix> upload(const kernels::WeightView& w, kernels::PackOptions options) override {
    return std::make_unique<CpuMatrix>(w, options);
  }
  std::unique_ptr<Matrix> upload_table(const kernels::WeightView& w) override {
    return std::make_unique<CpuMatrix>(w);
  }
  Tensor upload_f32(const float* data, int64_t rows, int64_t cols, std::unique_ptr<Buffer>& keep) override {
    keep = std::make_unique<HostBuffer>(data, static_cast<size_t>(rows * cols) * sizeof(float));
    return {keep.get(), 0, GgmlType::F32, rows, cols};
  }
  bool supports(GgmlType t, int64_t) const override { return kernels::matmul_supports(t); }
  std::unique_ptr<Ops> begin(ThreadPool& pool) override { return std::make_unique<CpuOps>(pool); }
};

}  // namespace

Device& cpu() {
  static CpuDevice device;
  return device;
}

}  // namespace smolvlm::backend
