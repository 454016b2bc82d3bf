// backend::Ops on a Vulkan device: each op checks its shapes, binds its tensors and records one
// dispatch (or one per row range of a weight larger than a storage binding may be).
#include <algorithm>
#include <array>
#include <cstring>
#include <initializer_list>
#include <numeric>
#include <string_view>
#include <vector>

#include "backend/offload_plan.h"
#include "backend/vulkan/vulkan_internal.h"
#include "base/error.h"

namespace smolvlm::vk {
namespace {

using backend::Matrix;
using backend::Tensor;

constexpr uint32_t kMatvecThreads = 64;  // (SMOLVLM_VK_MATVEC_THREADS: 16 to 256)
constexpr uint32_t kMatvecRows = 2;
constexpr int64_t kMatvecMaxCols = 8;  // more tokens than this take the tiled matmul
constexpr int64_t kGluFuseMaxExps = int64_t{1} << 21;  // see silu_mul_matmul_add
// A norm's workgroup (one row): a power of two near a quarter of the row, 32 to 256 invocations.
uint32_t norm_threads(int64_t dim) {
  uint32_t t = 32;
  while (t < 256 && int64_t(t) * 4 < dim) t *= 2;
  return t;
}
constexpr uint32_t kAttentionThreads = 64;
constexpr int64_t kAttentionTiledRows = 8;  // query rows from which attention_tiled.comp serves
constexpr int64_t kAttentionSplitFrom = 512, kAttentionMinSplit = 128, kAttentionMaxSplits = 64;  // split_keys
constexpr uint64_t kScratchChunk = 1ull << 20;
constexpr uint64_t kAttentionPartsCap = 8ull << 20;  // attention_parts

// A module name built on the stack ("matvec_" "Q4_K" "_norm" "_sg"): a decode step records ~330
// dispatches, and a std::string or two per dispatch cost as much as the rest of its recording.
class ModuleName {
 public:
  ModuleName(std::initializer_list<std::string_view> parts) {
    for (const std::string_view p : parts) append(p);
  }
  ModuleName& append(std::string_view p) {
    if (n_ + p.size() > sizeof s_) fail("GPU op: module name ", std::string_view(s_, n_), p, " too long");
    std::copy(p.begin(), p.end(), s_ + n_);
    n_ += p.size();
    return *this;
  }
  std::string_view view() const { return {s_, n_}; }

 private:
  char s_[48];
  size_t n_ = 0;
};

// ggml_type_name (upper case) without a string per call.
std::string_view type_name(GgmlType t) {
  static const std::array<std::string, 40> names = [] {
    std::array<std::string, 40> n;
    for (uint32_t id = 0; id < n.size(); ++id)
      if (ggml_type_info(id) != nullptr) n[id] = ggml_type_name(GgmlType(id));
    return n;
  }();
  const auto id = static_cast<uint32_t>(t);
  return id < names.size() ? std::string_view(names[id]) : std::string_view("?");
}

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

// The op before a product fused into the matvec's pass over x (matvec.comp FUSE_NORM, FUSE_GLU), and
// for q, k and v what follows it too (FUSE_ROPE).
struct Fuse {
  const char* kind = nullptr;  // "norm", "glu" or "norm_rope"; nullptr: none
  const Tensor* aux = nullptr;  // the norm weight, or the up projection
  float eps = 0;
  // norm_rope: matvec.comp's EPILOGUE (bit 0 rotate, bit 1 fp16 out), the cos/sin table, the head shape
  uint32_t epilogue = 0;
  Bind table{};
  uint32_t head_dim = 0, n_rot = 0;
};

class VulkanOps final : public backend::Ops {
 public:
  VulkanOps(VulkanDevice& dev, bool coopmat) : dev_(dev), slot_(dev.take_slot()), rec_(slot_->recorder), coopmat_(coopmat) {}
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
    rec_.dispatch(pipeline(variant({"rms_norm"}), 3, {norm_threads(x.cols)}), b, &push, sizeof push, gx, gy);
  }

  void matmul(const Matrix& w, const Tensor& x, const Tensor& y) override { product(w, x, y, false); }
  void matmul_add(const Matrix& w, const Tensor& x, const Tensor& y, const Tensor&) override { product(w, x, y, true); }

  // y = (or +=) x W^T: the matvec for a few tokens, else the tiled matmul; per row range of W.
  void product(const Matrix& w, const Tensor& x, const Tensor& y, bool accumulate, const Fuse& fuse = {}) {
    const auto& m = static_cast<const VulkanMatrix&>(w);
    const int64_t n = x.rows, K = w.cols(), M = w.rows();
    if (x.cols != K || y.cols != M || y.rows < n)
      fail("GPU matmul: x [", x.rows, ", ", x.cols, "] and y [", y.rows, ", ", y.cols, "] do not fit W [", M, ", ", K, "]");
    const std::string_view type = type_name(w.type());
    const uint64_t row_bytes = ggml_row_size(w.type(), K);
    const auto row_blocks = u32(K / ggml_type_info(w.type()).block_size);
    const Bound bx = bind(x, false), by = bind(y.slice(0, n), true);
    const bool vec = n <= kMatvecMaxCols;
    if (fuse.kind != nullptr && !vec) fail("GPU matmul: a fused ", fuse.kind, " over ", n, " tokens");
    const Bound baux = fuse.aux != nullptr ? bind(*fuse.aux, false) : Bound{};
    // fp16 tiles round the decoded weights and the activations to fp16: fine for F16 and quantized
    // weights (ggml rounds activations to fp16 for F16 weights too), not for F32 or BF16 ones
    const bool f16_tiles = dev_.ctx().caps().fp16 && w.type() != GgmlType::F32 && w.type() != GgmlType::BF16;
    const bool cm = coopmat_ && f16_tiles;  // the tensor cores take fp16 tiles
    const uint32_t tile = cm ? 128 : switches().matmul_tile;  // rows and tokens per matmul workgroup
    const ModuleName vec_name = fuse.kind != nullptr ? ModuleName{"matvec_", type, "_", fuse.kind} : ModuleName{"matvec_", type};
    const bool rope = fuse.table.buffer != VK_NULL_HANDLE;
    const uint32_t n_binds = rope ? 5 : fuse.kind != nullptr ? 4 : 3;
    const uint32_t threads = switches().matvec_threads != 0 ? switches().matvec_threads : kMatvecThreads;
    const Pipeline& p = vec ? rope ? pipeline(variant(vec_name), n_binds, {threads, kMatvecRows, u32(n), fuse.epilogue})
                                   : pipeline(variant(vec_name), n_binds, {threads, kMatvecRows, u32(n)})
                        : cm ? pipeline({"matmul_", type, "_cm"}, 3, {})
                             : pipeline({"matmul_", type, tile == 128 ? "_t128" : "", f16_tiles ? "_f16" : ""}, 3, {});
    for_row_ranges(M, row_bytes, [&](int64_t r0, int64_t nr) {
      const Bind b[] = {{m.handle(), uint64_t(r0) * row_bytes, uint64_t(nr) * row_bytes, false}, bx.bind, by.bind,
                        baux.bind, fuse.table};
      const struct {
        uint32_t rows, cols, row_blocks, x_stride, y_stride, y_row0, n, x_off, y_off, accumulate, aux_off;
        float eps;
        uint32_t head_dim, n_rot;  // (read by the norm_rope modules only)
      } push{u32(nr), u32(K), row_blocks, u32(K), u32(M), u32(r0), u32(n), bx.off, by.off, accumulate ? 1u : 0u,
             baux.off, fuse.eps, fuse.head_dim, fuse.n_rot};
      if (vec) {
        uint32_t gx, gy;
        grid(u32((nr + kMatvecRows - 1) / kMatvecRows), &gx, &gy);
        rec_.dispatch(p, std::span(b, n_binds), &push, sizeof push, gx, gy);
      } else {
        rec_.dispatch(p, std::span(b, n_binds), &push, sizeof push, u32((nr + tile - 1) / tile),
                      u32((n + tile - 1) / tile));
      }
    });
  }

  void matmul_many(std::span<const backend::MatmulOut> outs, const Tensor& x) override {
    for (const backend::MatmulOut& o : outs) matmul(*o.w, x, o.y);  // no barrier between them
  }

  // A decode step (the matvec) fuses; a prefill chunk runs the two ops. The fused shaders read x,
  // the norm weight and up as vec4s (offsets a multiple of 4 floats, as the activations have).
  bool fusable(const Tensor& x, const Tensor& aux) const {
    return switches().fuse && x.rows <= kMatvecMaxCols && bind(x, false).off % 4 == 0 && bind(aux, false).off % 4 == 0;
  }

  void rms_norm_matmul(const Tensor& x, const Tensor& norm_w, float eps, const Tensor& h,
                       std::span<const backend::MatmulOut> outs) override {
    if (!fusable(x, norm_w)) return Ops::rms_norm_matmul(x, norm_w, eps, h, outs);
    if (norm_w.rows * norm_w.cols != x.cols) fail("GPU rms_norm: a weight of ", norm_w.cols, " for rows of ", x.cols);
    for (const backend::MatmulOut& o : outs) product(*o.w, x, o.y, false, {"norm", &norm_w, eps});
  }

  // A decode step's q, k and v in three dispatches of one level (matvec.comp FUSE_ROPE): each
  // workgroup normalizes x, computes a pair of rows, rotates it and stores it, q in place, keys and
  // values straight into the cache (instead of 3 + 3 dispatches in two levels).
  void attention_inputs(const backend::AttentionInputs& a) override {
    const auto one_range = [&](const Matrix* w) {
      return ggml_row_size(w->type(), w->cols()) * uint64_t(w->rows()) <= dev_.ctx().caps().max_storage_range;
    };
    const auto cache_type = [](const Tensor& t) { return t.type == GgmlType::F16 || t.type == GgmlType::F32; };
    if (!fusable(a.x, a.norm_w) || !one_range(a.wq) || !one_range(a.wk) || !one_range(a.wv) || !cache_type(a.k_cache) ||
        !cache_type(a.v_cache) || a.n_rot <= 0 || a.n_rot % 2 != 0 || a.n_rot > a.head_dim || a.head_dim % 2 != 0 ||
        a.q.cols != a.n_heads * a.head_dim || a.k_cache.cols != a.n_kv_heads * a.head_dim ||
        a.k_cache.rows != a.x.rows || a.v_cache.rows != a.x.rows)
      return Ops::attention_inputs(a);
    if (a.norm_w.rows * a.norm_w.cols != a.x.cols) fail("GPU rms_norm: a weight of ", a.norm_w.cols, " for rows of ", a.x.cols);
    const Bind table = rope_table(a.pos, a.x.rows, a.n_rot, a.freq_base);
    const auto fuse = [&](uint32_t epilogue) {
      return Fuse{"norm_rope", &a.norm_w, a.eps, epilogue, table, u32(a.head_dim), u32(a.n_rot)};
    };
    const auto f16 = [](const Tensor& t) { return t.type == GgmlType::F16 ? 2u : 0u; };
    product(*a.wq, a.x, a.q, false, fuse(1));
    product(*a.wk, a.x, a.k_cache, false, fuse(1 | f16(a.k_cache)));
    product(*a.wv, a.x, a.v_cache, false, fuse(f16(a.v_cache)));
  }

  void silu_mul_matmul_add(const Matrix& w, const Tensor& gate, const Tensor& up, const Tensor& y,
                           const Tensor& tmp) override {
    // every workgroup of the fused matvec computes silu * up over all of its x: (rows / kMatvecRows)
    // x cols exps, free next to the weight reads of a small model's down projection (256M: 0.4 M;
    // 500M: 1.2 M), not clearly so for the 2.2B's (8.4 M, ~2 us of an H100's special-function units)
    const bool cheap = w.rows() / int64_t(kMatvecRows) * w.cols() <= kGluFuseMaxExps;
    if (!cheap || !fusable(gate, up)) return Ops::silu_mul_matmul_add(w, gate, up, y, tmp);
    if (up.rows != gate.rows || up.cols != gate.cols)
      fail("GPU silu_mul: gate [", gate.rows, ", ", gate.cols, "] and up [", up.rows, ", ", up.cols, "]");
    product(w, gate, y, true, {"glu", &up});
  }

  void rope_norm(const Tensor& x, int64_t n_heads, int64_t head_dim, int64_t n_rot, const int32_t* pos,
                 float freq_base) override {
    rope(x, n_heads, head_dim, n_rot, pos, freq_base, nullptr);
  }
  void rope_norm_store(const Tensor& x, int64_t n_heads, int64_t head_dim, int64_t n_rot, const int32_t* pos,
                       float freq_base, const Tensor& dst) override {
    if (!switches().fuse) return Ops::rope_norm_store(x, n_heads, head_dim, n_rot, pos, freq_base, dst);
    if (dst.type != GgmlType::F16 && dst.type != GgmlType::F32)
      fail("GPU rope_norm_store: type ", ggml_type_name(dst.type), " (F16 or F32)");
    if (dst.rows * dst.cols != x.rows * x.cols)
      fail("GPU rope_norm_store: [", x.rows, ", ", x.cols, "] into [", dst.rows, ", ", dst.cols, "]");
    rope(x, n_heads, head_dim, n_rot, pos, freq_base, &dst);
  }

  // x rotated in place, or written rotated to *dst
  void rope(const Tensor& x, int64_t n_heads, int64_t head_dim, int64_t n_rot, const int32_t* pos, float freq_base,
            const Tensor* dst) {
    if (n_rot <= 0 || n_rot % 2 != 0 || n_rot > head_dim || head_dim % 2 != 0 || x.cols != n_heads * head_dim)
      fail("GPU rope: bad shape (heads ", n_heads, ", head_dim ", head_dim, ", n_rot ", n_rot, ")");
    const int64_t n = x.rows;
    const Bind table = rope_table(pos, n, n_rot, freq_base);
    const Bound bx = bind(x, dst == nullptr), bd = dst != nullptr ? bind(*dst, true) : Bound{};
    const struct {
      uint32_t n_tokens, n_heads, head_dim, n_rot, x_off, dst_off;
    } push{u32(n), u32(n_heads), u32(head_dim), u32(n_rot), bx.off, bd.off};
    const Bind b[] = {bx.bind, table, bd.bind};
    const int64_t pairs = n * n_heads * (dst != nullptr ? head_dim : n_rot) / 2;
    uint32_t gx, gy;
    grid(u32((pairs + 63) / 64), &gx, &gy);
    const char* name = dst == nullptr ? "rope_norm" : dst->type == GgmlType::F16 ? "rope_norm_store_f16" : "rope_norm_store_f32";
    const uint32_t n_binds = dst != nullptr ? 3 : 2;
    rec_.dispatch(pipeline({name}, n_binds, {}), std::span(b, n_binds), &push, sizeof push, gx, gy);
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
    rec_.dispatch(pipeline({dst.type == GgmlType::F16 ? "store_rows_f16" : "store_rows_f32"}, 2, {}), b, &push,
                  sizeof push, gx, gy);
  }

  void attention(const backend::AttentionOp& a) override {
    if (a.head_dim > 8 * int64_t(kAttentionThreads) || a.head_dim > 256 || a.n_heads % a.n_kv_heads != 0)
      fail("GPU attention: head_dim ", a.head_dim, ", heads ", a.n_heads, " / ", a.n_kv_heads, " not supported");
    const Bound bq = bind(a.q, false), bk = bind(a.k.slice(0, a.n_kv), false), bv = bind(a.v.slice(0, a.n_kv), false),
                bo = bind(a.out, true);
    struct {
      uint32_t n_q, n_kv, n_heads, n_kv_heads, head_dim, q_stride, kv_stride, out_stride, q_pos0, causal;
      float scale;
      uint32_t q_off, k_off, v_off, out_off, split_len;
    } push{u32(a.q.rows), u32(a.n_kv), u32(a.n_heads), u32(a.n_kv_heads), u32(a.head_dim), u32(a.q.cols),
           u32(a.k.cols), u32(a.out.cols), u32(a.q_pos0), a.causal ? 1u : 0u, a.scale, bq.off, bk.off, bv.off, bo.off,
           0};
    const Bind b[] = {bq.bind, bk.bind, bv.bind, bo.bind};
    const std::string_view kv = a.k.type == GgmlType::F16 ? "f16" : "f32";
    // many rows (a prefill chunk, a vision tile): blocks of 64 rows, one per invocation, share
    // each chunk of keys in shared memory; a few rows (decode): one workgroup per row
    uint32_t chunk = 0;
    for (const uint32_t bc : {64u, 32u, 16u}) {
      if (chunk == 0 && 2ull * bc * uint64_t(a.head_dim) * 4 <= dev_.ctx().caps().max_shared) chunk = bc;
    }
    if (a.q.rows >= kAttentionTiledRows && a.head_dim <= 128 && chunk > 0) {
      const bool wide = switches().attention_wide && a.head_dim % 4 == 0;
      rec_.dispatch(pipeline({"attention_tiled_", kv, wide ? "_wide" : ""}, 4, {0, chunk, u32(a.head_dim)}), b, &push,
                    sizeof push, u32(a.n_heads), u32((a.q.rows + 63) / 64));
      return;
    }
    // attention.comp reads each key row in 16-byte loads
    const int64_t kv_vec = a.k.type == GgmlType::F16 ? 8 : 4;
    if (a.head_dim % kv_vec != 0 || a.k.cols % kv_vec != 0 || bk.off % kv_vec != 0)
      fail("GPU attention: head_dim ", a.head_dim, " and the key rows (", a.k.cols, " wide, at element ", bk.off,
           ") must be multiples of ", kv_vec);
    // deep into a context, a few rows x heads would leave most of a GPU idle: each workgroup takes a
    // split of the keys, and a second dispatch merges the splits' softmax parts
    const int64_t split = switches().attention_split ? split_keys(a.n_kv) : 0;
    if (split == 0) {
      rec_.dispatch(pipeline(variant({"attention_", kv}), 4, {kAttentionThreads}), b, &push, sizeof push,
                    u32(a.n_heads), u32(a.q.rows));
      return;
    }
    const int64_t n_splits = (a.n_kv + split - 1) / split;
    push.split_len = u32(split);
    const Bind part = attention_parts(uint64_t(a.q.rows * a.n_heads * n_splits * (a.head_dim + 2)) * sizeof(float));
    const Bind bs[] = {bq.bind, bk.bind, bv.bind, part};
    rec_.dispatch(pipeline(variant({"attention_split_", kv}), 4, {kAttentionThreads}), bs, &push, sizeof push,
                  u32(a.n_heads), u32(a.q.rows), u32(n_splits));
    const struct {
      uint32_t n_q, n_heads, head_dim, n_splits, out_stride, out_off;
    } merge{u32(a.q.rows), u32(a.n_heads), u32(a.head_dim), u32(n_splits), u32(a.out.cols), bo.off};
    const Bind bm[] = {{part.buffer, part.offset, part.range, false}, bo.bind};
    uint32_t gx, gy;
    grid(u32((a.q.rows * a.n_heads * a.head_dim + 63) / 64), &gx, &gy);
    rec_.dispatch(pipeline({"attention_combine"}, 2, {}), bm, &merge, sizeof merge, gx, gy);
  }

  // Keys per workgroup of a split attention over n_kv keys (0: one workgroup takes them all):
  // from 512 keys on, splits of at least 128 keys (two chunks of the workgroup size), at most 64.
  static int64_t split_keys(int64_t n_kv) {
    if (n_kv < kAttentionSplitFrom) return 0;
    const int64_t per = (n_kv + kAttentionMaxSplits - 1) / kAttentionMaxSplits;
    return std::max<int64_t>(kAttentionMinSplit, (per + 63) / 64 * 64);
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
    rec_.dispatch(pipeline(variant({"layer_norm"}), 4, {norm_threads(x.cols)}), binds, &push, sizeof push, gx, gy);
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
    rec_.dispatch(pipeline({"patches"}, 2, {}), binds, &push, sizeof push, gx, gy);
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
    rec_.dispatch(pipeline({"pixel_shuffle"}, 2, {}), binds, &push, sizeof push, gx, gy);
  }

  void embed_rows(const Matrix& table, const int32_t* ids, const Tensor& out) override {
    const auto& m = static_cast<const VulkanMatrix&>(table);
    const int64_t n = out.rows, cols = table.cols();
    const Bind bids = scratch(ids, static_cast<uint64_t>(n) * sizeof(int32_t));
    const Bound bo = bind(out, true);
    const uint64_t row_bytes = ggml_row_size(table.type(), cols);
    const auto row_blocks = u32(cols / ggml_type_info(table.type()).block_size);
    const Pipeline& p = pipeline({"get_rows_", type_name(table.type())}, 3, {});
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
    parts_.clear();
    parts_bytes_ = 0;
    next_part_ = 0;
    slot_->scratch_chunk = 0;
    slot_->scratch_used = 0;
    if (!rec_.empty()) dev_.ctx().count_pass();
    rec_.finish();
  }

 private:
  static VkBuffer handle(const Tensor& t) { return static_cast<const VulkanBuffer*>(t.buffer)->handle(); }

  // cos, sin [n, n_rot / 2] of the rows' positions (kernels::rope_cos_sin): q and k of a layer, and
  // every layer of the pass, rotate by the same table
  Bind rope_table(const int32_t* pos, int64_t n, int64_t n_rot, float freq_base) {
    if (rope_.pos != pos || rope_.n != n || rope_.n_rot != n_rot || rope_.base != freq_base) {
      std::vector<float> cs(static_cast<size_t>(n * n_rot));
      kernels::rope_cos_sin(pos, n, n_rot, freq_base, cs.data());
      rope_ = {pos, n, n_rot, freq_base, scratch(cs.data(), cs.size() * sizeof(float))};
    }
    return rope_.table;
  }

  // the module with subgroup reductions where the device has them
  ModuleName variant(ModuleName name) const {
    if (dev_.ctx().caps().subgroup_size > 0) name.append("_sg");
    return name;
  }
  const Pipeline& pipeline(const ModuleName& name, uint32_t n_bindings, std::initializer_list<uint32_t> constants) {
    return dev_.pipelines().get(name.view(), n_bindings, std::span(constants.begin(), constants.size()));
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
    rec_.dispatch(pipeline({name}, 2, {}), b, &push, sizeof push, gx, gy);
  }

  // Uploads `bytes` into this pass's device-local scratch and binds them.
  Bind scratch(const void* data, uint64_t bytes) {
    Bind b = reserve(bytes);
    rec_.upload(b.buffer, b.offset, data, bytes);
    b.write = false;  // the ops read it
    return b;
  }

  // Room for a split attention's parts: regions of the pass scratch, taken round-robin once they
  // total kAttentionPartsCap (2.2B deep into a context: ~0.5 MiB per layer and row; the recorder
  // puts a barrier where a reuse must wait, which layers apart it never has to).
  Bind attention_parts(uint64_t bytes) {
    for (int round = 0; round < 2; ++round) {
      for (; next_part_ < parts_.size(); ++next_part_)
        if (parts_[next_part_].range >= bytes) return parts_[next_part_++];
      if (parts_bytes_ < kAttentionPartsCap) break;
      next_part_ = 0;  // wrap around, once
    }
    parts_.push_back(reserve(bytes));
    parts_bytes_ += bytes;
    next_part_ = parts_.size();
    return parts_.back();
  }

  // `bytes` of this pass's device-local scratch, bound for writing (an op's intermediate result).
  Bind reserve(uint64_t bytes) {
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
    return {buf, at, bytes, true};
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
  const bool coopmat_;
  RopeTable rope_;
  std::vector<Bind> parts_;  // attention_parts
  uint64_t parts_bytes_ = 0;
  size_t next_part_ = 0;
};

}  // namespace

std::unique_ptr<backend::Ops> make_vulkan_ops(VulkanDevice& device, bool coopmat) {
  return std::make_unique<VulkanOps>(device, coopmat);
}

}  // namespace smolvlm::vk
