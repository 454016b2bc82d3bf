// backend::Ops on a Vulkan device: each op checks its shapes, binds its tensors and records one
// dispatch (or one per row range of a weight larger than a storage binding may be).
#include <algorithm>
#include <cstring>
#include <numeric>
#include <vector>

#include "backend/offload_plan.h"
#include "backend/vulkan/vulkan_internal.h"
#include "base/error.h"

namespace smolvlm::vk {
namespace {

using backend::Matrix;
using backend::Tensor;

constexpr uint32_t kMatvecThreads = 64;
constexpr uint32_t kMatvecRows = 2;
constexpr int64_t kMatvecMaxCols = 8;  // more tokens than this take the tiled matmul
// A norm's workgroup (one row): a power of two near a quarter of the row, 32 to 256 invocations.
uint32_t norm_threads(int64_t dim) {
  uint32_t t = 32;
  while (t < 256 && int64_t(t) * 4 < dim) t *= 2;
  return t;
}
constexpr uint32_t kAttentionThreads = 64;
constexpr int64_t kAttentionTiledRows = 8;  // query rows from which attention_tiled.comp serves
constexpr uint64_t kScratchChunk = 1ull << 20;

uint32_t u32(int64_t v) {
  if (v < 0 || v > int64_t(UINT32_MAX)) fail("GPU op: value ", v, " does not fit 32 bits");
  return static_cast<uint32_t>(v);
}

// A tensor bound at an offset the device accepts (aligned down); `off` is the tensor's first
// element inside the binding.
struct Bound {
  Bind bind;
  uint32_t off = 0;
};

class VulkanOps final : public backend::Ops {
 public:
  VulkanOps(VulkanDevice& dev, kernels::ThreadPool& pool) : dev_(dev), slot_(dev.take_slot()), rec_(slot_->recorder) {}
  ~VulkanOps() override {
    rec_.abandon();
    dev_.return_slot(std::move(slot_));
  }

  void rms_norm(const Tensor& x, const Tensor& w, float eps, const Tensor& y) override {
    const Bound bx = bind(x, false), bw = bind(w, false), by = bind(y, true);
    const struct {
      uint32_t dim, n_rows;
      float eps;
      uint32_t x_off, y_off;
    } push{u32(x.cols), u32(x.rows), eps, bx.off, by.off};
    const Bind b[] = {bx.bind, bw.bind, by.bind};
    uint32_t gx, gy;
    grid(u32(x.rows), &gx, &gy);
    rec_.dispatch(pipeline(variant("rms_norm"), 3, {norm_threads(x.cols)}), b, &push, sizeof push, gx, gy);
  }

  void matmul(const Matrix& w, const Tensor& x, const Tensor& y) override { product(w, x, y, false); }
  void matmul_add(const Matrix& w, const Tensor& x, const Tensor& y, const Tensor&) override { product(w, x, y, true); }

  // y = (or +=) x W^T: the matvec for a few tokens, else the tiled matmul; per row range of W.
  void product(const Matrix& w, const Tensor& x, const Tensor& y, bool accumulate) {
    const auto& m = static_cast<const VulkanMatrix&>(w);
    const int64_t n = x.rows, K = w.cols(), M = w.rows();
    if (x.cols != K || y.cols != M || y.rows < n)
      fail("GPU matmul: x [", x.rows, ", ", x.cols, "] and y [", y.rows, ", ", y.cols, "] do not fit W [", M, ", ", K, "]");
    const std::string type = ggml_type_name(w.type());
    const uint64_t row_bytes = ggml_row_size(w.type(), K);
    const auto row_blocks = u32(K / ggml_type_info(w.type()).block_size);
    const Bound bx = bind(x, false), by = bind(y.slice(0, n), true);
    const bool vec = n <= kMatvecMaxCols;
    // fp16 tiles round the decoded weights and the activations to fp16: fine for F16 and quantized
    // weights (ggml rounds activations to fp16 for F16 weights too), not for F32 or BF16 ones
    const bool f16_tiles = dev_.ctx().caps().fp16 && w.type() != GgmlType::F32 && w.type() != GgmlType::BF16;
    const uint32_t tile = switches().matmul_tile;  // rows and tokens per matmul workgroup
    const Pipeline& p = vec ? pipeline(variant("matvec_" + type), 3, {kMatvecThreads, kMatvecRows, u32(n)})
                            : pipeline(cat("matmul_", type, tile == 128 ? "_t128" : "", f16_tiles ? "_f16" : ""), 3, {});
    for_row_ranges(M, row_bytes, [&](int64_t r0, int64_t nr) {
      const Bind b[] = {{m.handle(), uint64_t(r0) * row_bytes, uint64_t(nr) * row_bytes, false}, bx.bind, by.bind};
      const struct {
        uint32_t rows, cols, row_blocks, x_stride, y_stride, y_row0, n, x_off, y_off, accumulate;
      } push{u32(nr), u32(K), row_blocks, u32(K), u32(M), u32(r0), u32(n), bx.off, by.off, accumulate ? 1u : 0u};
      if (vec) {
        uint32_t gx, gy;
        grid(u32((nr + kMatvecRows - 1) / kMatvecRows), &gx, &gy);
        rec_.dispatch(p, b, &push, sizeof push, gx, gy);
      } else {
        rec_.dispatch(p, b, &push, sizeof push, u32((nr + tile - 1) / tile), u32((n + tile - 1) / tile));
      }
    });
  }

  void matmul_many(std::span<const backend::MatmulOut> outs, const Tensor& x) override {
    for (const backend::MatmulOut& o : outs) matmul(*o.w, x, o.y);  // no barrier between them
  }

  void rope_norm(const Tensor& x, int64_t n_heads, int64_t head_dim, int64_t n_rot, const int32_t* pos,
                 float freq_base) override {
    if (n_rot <= 0 || n_rot % 2 != 0 || n_rot > head_dim || x.cols != n_heads * head_dim)
      fail("GPU rope: bad shape (heads ", n_heads, ", head_dim ", head_dim, ", n_rot ", n_rot, ")");
    const int64_t n = x.rows;
    // q and k of a layer (and every layer of the pass) rotate by the same table
    if (rope_.pos != pos || rope_.n != n || rope_.n_rot != n_rot || rope_.base != freq_base) {
      std::vector<float> cs(static_cast<size_t>(n * n_rot));
      kernels::rope_cos_sin(pos, n, n_rot, freq_base, cs.data());
      rope_ = {pos, n, n_rot, freq_base, scratch(cs.data(), cs.size() * sizeof(float))};
    }
    const Bound bx = bind(x, true);
    const struct {
      uint32_t n_tokens, n_heads, head_dim, n_rot, x_off;
    } push{u32(n), u32(n_heads), u32(head_dim), u32(n_rot), bx.off};
    const Bind b[] = {bx.bind, rope_.table};
    uint32_t gx, gy;
    grid(u32((n * n_heads * n_rot / 2 + 63) / 64), &gx, &gy);
    rec_.dispatch(pipeline("rope_norm", 2, {}), b, &push, sizeof push, gx, gy);
  }

  void store_rows(const Tensor& src, const Tensor& dst) override {
    if (dst.type != GgmlType::F16 && dst.type != GgmlType::F32)
      fail("GPU store_rows: type ", ggml_type_name(dst.type), " (F16 or F32)");
    const Bound bs = bind(src, false), bd = bind(dst, true);
    const int64_t n = src.rows * src.cols;
    const struct {
      uint32_t n, dst_offset, src_offset;
    } push{u32(n), bd.off, bs.off};
    const Bind b[] = {bs.bind, bd.bind};
    uint32_t gx, gy;
    grid(u32((n + 255) / 256), &gx, &gy);
    rec_.dispatch(pipeline(dst.type == GgmlType::F16 ? "store_rows_f16" : "store_rows_f32", 2, {}), b, &push,
                  sizeof push, gx, gy);
  }

  void attention(const backend::AttentionOp& a) override {
    if (a.head_dim > 8 * int64_t(kAttentionThreads) || a.head_dim > 256 || a.n_heads % a.n_kv_heads != 0)
      fail("GPU attention: head_dim ", a.head_dim, ", heads ", a.n_heads, " / ", a.n_kv_heads, " not supported");
    const Bound bq = bind(a.q, false), bk = bind(a.k.slice(0, a.n_kv), false), bv = bind(a.v.slice(0, a.n_kv), false),
                bo = bind(a.out, true);
    const struct {
      uint32_t n_q, n_kv, n_heads, n_kv_heads, head_dim, q_stride, kv_stride, out_stride, q_pos0, causal;
      float scale;
      uint32_t q_off, k_off, v_off, out_off;
    } push{u32(a.q.rows), u32(a.n_kv), u32(a.n_heads), u32(a.n_kv_heads), u32(a.head_dim), u32(a.q.cols),
           u32(a.k.cols), u32(a.out.cols), u32(a.q_pos0), a.causal ? 1u : 0u, a.scale, bq.off, bk.off, bv.off, bo.off};
    const Bind b[] = {bq.bind, bk.bind, bv.bind, bo.bind};
    const std::string kv = a.k.type == GgmlType::F16 ? "f16" : "f32";
    // many rows (a prefill chunk, a vision tile): blocks of 64 rows, one per invocation, share
    // each chunk of keys in shared memory; a few rows (decode): one workgroup per row
    uint32_t chunk = 0;
    for (const uint32_t bc : {64u, 32u, 16u}) {
      if (chunk == 0 && 2ull * bc * uint64_t(a.head_dim) * 4 <= dev_.ctx().caps().max_shared) chunk = bc;
    }
    if (a.q.rows >= kAttentionTiledRows && a.head_dim <= 128 && chunk > 0) {
      rec_.dispatch(pipeline("attention_tiled_" + kv, 4, {0, chunk, u32(a.head_dim)}), b, &push, sizeof push,
                    u32(a.n_heads), u32((a.q.rows + 63) / 64));
      return;
    }
    rec_.dispatch(pipeline(variant("attention_" + kv), 4, {kAttentionThreads}), b, &push, sizeof push,
                  u32(a.n_heads), u32(a.q.rows));
  }

  void silu_mul(const Tensor& gate, const Tensor& up) override { elementwise("silu_mul", gate, up); }
  void add(const Tensor& y, const Tensor& x) override { elementwise("add", y, x); }
  void add_rows(const Tensor& y, const Tensor& x) override {
    if (x.cols != y.cols) fail("GPU add_rows: rows of ", x.cols, " onto rows of ", y.cols);
    elementwise("add_rows", y, x, y.cols, x.rows);
  }
  void gelu_tanh(const Tensor& x) override { elementwise("gelu", x, x); }

  void layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, float eps, const Tensor& y) override {
    const Bound bx = bind(x, false), bw = bind(w, false), bb = bind(b, false), by = bind(y, true);
    const struct {
      uint32_t dim, n_rows;
      float eps;
      uint32_t x_off, y_off;
    } push{u32(x.cols), u32(x.rows), eps, bx.off, by.off};
    const Bind binds[] = {bx.bind, bw.bind, bb.bind, by.bind};
    uint32_t gx, gy;
    grid(u32(x.rows), &gx, &gy);
    rec_.dispatch(pipeline(variant("layer_norm"), 4, {norm_threads(x.cols)}), binds, &push, sizeof push, gx, gy);
  }

  void conv_patches(const Tensor& tiles, int64_t side, int64_t patch, const Tensor& out) override {
    const int64_t n = side / patch;
    if (tiles.cols != 3 * side * side || out.rows != tiles.rows * n * n || out.cols != 3 * patch * patch)
      fail("GPU conv_patches: tiles [", tiles.rows, ", ", tiles.cols, "] -> [", out.rows, ", ", out.cols, "]");
    const Bound bt = bind(tiles, false), bo = bind(out, true);
    if (bt.off != 0) fail("GPU conv_patches: the tiles must start a binding");
    const struct {
      uint32_t n_tiles, S, P, n, out_off;
    } push{u32(tiles.rows), u32(side), u32(patch), u32(n), bo.off};
    const Bind binds[] = {bt.bind, bo.bind};
    uint32_t gx, gy;
    grid(u32((out.rows * out.cols + 255) / 256), &gx, &gy);
    rec_.dispatch(pipeline("patches", 2, {}), binds, &push, sizeof push, gx, gy);
  }

  void pixel_shuffle(const Tensor& x, int64_t side, int64_t s, const Tensor& out) override {
    const int64_t B = x.rows / (side * side);
    if (side % s != 0 || B * side * side != x.rows || out.rows * out.cols != x.rows * x.cols)
      fail("GPU pixel_shuffle: [", x.rows, ", ", x.cols, "] with side ", side, " and scale ", s);
    const Bound bx = bind(x, false), bo = bind(out, true);
    if (bo.off != 0) fail("GPU pixel_shuffle: the output must start a binding");
    const struct {
      uint32_t n_tiles, side, C, s, x_off;
    } push{u32(B), u32(side), u32(x.cols), u32(s), bx.off};
    const Bind binds[] = {bx.bind, bo.bind};
    uint32_t gx, gy;
    grid(u32((out.rows * out.cols + 255) / 256), &gx, &gy);
    rec_.dispatch(pipeline("pixel_shuffle", 2, {}), binds, &push, sizeof push, gx, gy);
  }

  void embed_rows(const Matrix& table, const int32_t* ids, const Tensor& out) override {
    const auto& m = static_cast<const VulkanMatrix&>(table);
    const int64_t n = out.rows, cols = table.cols();
    const Bind bids = scratch(ids, static_cast<uint64_t>(n) * sizeof(int32_t));
    const Bound bo = bind(out, true);
    const uint64_t row_bytes = ggml_row_size(table.type(), cols);
    const auto row_blocks = u32(cols / ggml_type_info(table.type()).block_size);
    const Pipeline& p = pipeline("get_rows_" + ggml_type_name(table.type()), 3, {});
    for_row_ranges(table.rows(), row_bytes, [&](int64_t r0, int64_t nr) {
      const Bind b[] = {{m.handle(), uint64_t(r0) * row_bytes, uint64_t(nr) * row_bytes, false}, bids, bo.bind};
      const struct {
        uint32_t cols, row_blocks, row_lo, rows, out_stride, out_off;
      } push{u32(cols), row_blocks, u32(r0), u32(nr), u32(out.cols), bo.off};
      rec_.dispatch(p, b, &push, sizeof push, u32((cols / 8 + 63) / 64), u32(n));
    });
  }

  void write(const Tensor& dst, const void* src) override {
    rec_.upload(handle(dst), dst.offset, src, dst.bytes());
  }
  void read(const Tensor& src, void* dst) override { rec_.download(handle(src), src.offset, dst, src.bytes()); }

  void finish() override {
    rope_ = {};
    slot_->scratch_chunk = 0;
    slot_->scratch_used = 0;
    if (!rec_.empty()) dev_.ctx().count_pass();
    rec_.finish();
  }

 private:
  static VkBuffer handle(const Tensor& t) { return static_cast<const VulkanBuffer*>(t.buffer)->handle(); }

  std::string variant(const std::string& name) const {
    return dev_.ctx().caps().subgroup_size > 0 ? name + "_sg" : name;
  }
  const Pipeline& pipeline(const std::string& name, uint32_t n_bindings, const std::vector<uint32_t>& constants) {
    return dev_.pipelines().get(name, n_bindings, constants);
  }

  // Binding offsets must be multiples of the device's alignment (and of 16 for vec4 views).
  uint64_t align() const { return std::max<uint64_t>(16, dev_.ctx().caps().storage_align); }

  Bound bind(const Tensor& t, bool write) const {
    const size_t elem = ggml_type_info(t.type).type_size;
    if (t.offset % elem != 0) fail("GPU op: a tensor at byte ", t.offset, " is not aligned to its elements");
    const uint64_t start = t.offset / align() * align();
    const uint64_t range = t.offset + t.bytes() - start;
    if (range > dev_.ctx().caps().max_storage_range)
      fail("GPU op: a tensor of ", backend::human_bytes(range), " exceeds the device's storage binding range");
    return {{handle(t), start, range, write}, u32(static_cast<int64_t>((t.offset - start) / elem))};
  }

  // fn(first_row, n_rows) for row ranges of a weight that each fit one storage binding and start at
  // an aligned offset.
  template <class Fn>
  void for_row_ranges(int64_t rows, uint64_t row_bytes, const Fn& fn) const {
    const uint64_t a = align();
    const uint64_t step = a / std::gcd(row_bytes, a);  // rows whose bytes are a multiple of the alignment
    uint64_t per = dev_.ctx().caps().max_storage_range / row_bytes;
    if (per >= uint64_t(rows)) return fn(0, rows);
    per = per / step * step;
    if (per == 0) fail("GPU op: a weight row of ", row_bytes, " bytes does not fit a storage binding");
    for (int64_t r0 = 0; r0 < rows; r0 += int64_t(per)) fn(r0, std::min<int64_t>(int64_t(per), rows - r0));
  }

  // A linear count of workgroups as an (x, y) grid within the device's limits.
  void grid(uint32_t n, uint32_t* gx, uint32_t* gy) const {
    const uint32_t max_x = std::min<uint32_t>(dev_.ctx().caps().max_groups[0], 65535);
    *gx = std::min(n, max_x);
    *gy = *gx == 0 ? 0 : (n + *gx - 1) / *gx;
  }

  // y op= x over y's values (add_rows: x's `period` rows of `cols` repeat down y)
  void elementwise(const char* name, const Tensor& y, const Tensor& x, int64_t cols = 0, int64_t period = 0) {
    if (period == 0 && y.rows * y.cols != x.rows * x.cols)
      fail("GPU ", name, ": ", y.rows * y.cols, " and ", x.rows * x.cols, " values");
    const Bound by = bind(y, true), bx = bind(x, false);
    const int64_t n = y.rows * y.cols;
    const struct {
      uint32_t n, y_off, x_off, cols, period;
    } push{u32(n), by.off, bx.off, u32(cols), u32(period)};
    const Bind b[] = {by.bind, bx.bind};
    uint32_t gx, gy;
    grid(u32((n + 255) / 256), &gx, &gy);
    rec_.dispatch(pipeline(name, 2, {}), b, &push, sizeof push, gx, gy);
  }

  // Uploads `bytes` into this pass's device-local scratch and binds them.
  Bind scratch(const void* data, uint64_t bytes) {
    const uint64_t need = (bytes + align() - 1) / align() * align();
    auto& chunks = slot_->scratch;
    while (slot_->scratch_chunk < chunks.size() && slot_->scratch_used + need > chunks[slot_->scratch_chunk]->bytes()) {
      ++slot_->scratch_chunk;
      slot_->scratch_used = 0;
    }
    if (slot_->scratch_chunk == chunks.size()) {
      chunks.push_back(std::make_unique<VulkanBuffer>(dev_.ctx(), std::max(kScratchChunk, need), "pass scratch"));
      slot_->scratch_used = 0;
    }
    const VkBuffer buf = chunks[slot_->scratch_chunk]->handle();
    const uint64_t at = slot_->scratch_used;
    slot_->scratch_used += need;
    rec_.upload(buf, at, data, bytes);
    return {buf, at, bytes, false};
  }

  struct RopeTable {
    const int32_t* pos = nullptr;
    int64_t n = 0, n_rot = 0;
    float base = 0;
    Bind table{};
  };

  VulkanDevice& dev_;
  std::unique_ptr<Slot> slot_;
  Recorder& rec_;
  RopeTable rope_;
};

}  // namespace

std::unique_ptr<backend::Ops> make_vulkan_ops(VulkanDevice& device, kernels::ThreadPool& pool) {
  return std::make_unique<VulkanOps>(device, pool);
}

}  // namespace smolvlm::vk
