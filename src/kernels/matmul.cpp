// The one dispatch point of the matmul kernels: pack_weight picks the active ISA's kernel for the
// weight type (falling back to a lower ISA where that one has none) and repacks if the kernel
// wants its own layout; from then on the weight runs on that kernel, whatever the active ISA.
// matmul / matmul_many convert the activations once per call and split the outputs into tiles of
// rows x tokens over the thread pool (decode: fixed row slices per thread, see
// decode_with_affinity).
#include "kernels/matmul.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fp16.h"
#include "base/parallel.h"
#include "kernels/matmul_act.h"
#include "kernels/matmul_impl.h"

namespace smolvlm::kernels {
namespace {

using mm::Kernel;

const Kernel* kernel_for(Isa isa, GgmlType t, SumOrder order) {
  if (isa == Isa::kAvx512) {
    if (const Kernel* k = mm::avx512_kernel(t, order)) return k;
    isa = Isa::kAvx2;
  }
  if (isa == Isa::kAvx2) {
    if (const Kernel* k = mm::avx2_kernel(t, order)) return k;
  }
  return mm::scalar_kernel(t);
}

// Packed weights are carved out of 2 MiB-aligned blocks that ask for transparent huge pages
// (madvise; only advice, and a no-op where THP is off). Decode streams every weight byte once per
// token: with 4 KiB pages that is a TLB miss and a page walk every 4 KiB, with 2 MiB pages
// almost none. Small weights share blocks (a block lives as long as any weight carved from it);
// large ones get their own.
constexpr size_t kHugePage = size_t(2) << 20;
constexpr size_t kArenaBlock = 16 * kHugePage;

size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

std::shared_ptr<uint8_t> huge_alloc(size_t bytes) {  // bytes: a multiple of kHugePage
  void* p = std::aligned_alloc(kHugePage, bytes);
  if (p == nullptr) return nullptr;
#ifdef MADV_HUGEPAGE
  madvise(p, bytes, MADV_HUGEPAGE);
#endif
  return std::shared_ptr<uint8_t>(static_cast<uint8_t*>(p), [](uint8_t* q) { std::free(q); });
}

std::shared_ptr<uint8_t> alloc_packed(size_t n) {
  n = round_up(n, 64);
  if (n >= kArenaBlock / 4) return huge_alloc(round_up(n, kHugePage));
  static std::mutex mu;
  static std::shared_ptr<uint8_t> block;
  static size_t used = 0;
  std::lock_guard lock(mu);
  if (!block || used + n > kArenaBlock) {
    block = huge_alloc(kArenaBlock);
    used = 0;
    if (!block) return nullptr;
  }
  std::shared_ptr<uint8_t> out(block, block.get() + used);  // shares the block's lifetime
  used += n;
  return out;
}

// F16 rows re-encoded as bf16 (F16 -> F32 is exact, F32 -> BF16 rounds to nearest even) into
// `owned` (rows * cols codes); returns the BF16 view of them.
WeightView to_bf16_view(const WeightView& w, std::shared_ptr<uint8_t>& owned) {
  const size_t n = size_t(w.rows) * size_t(w.cols);
  owned = alloc_packed(n * sizeof(uint16_t));
  if (!owned) fail("pack_weight: out of memory for ", n * sizeof(uint16_t), " bytes of bf16 weights");
  const auto* src = static_cast<const uint16_t*>(w.data);
  auto* dst = reinterpret_cast<uint16_t*>(owned.get());
  const int threads = n * sizeof(uint16_t) >= (size_t(8) << 20) ? 0 : 1;  // big weights in parallel, as pack_quant
  parallel_for(w.rows, threads, [&](int64_t r0, int64_t r1) {
    for (size_t i = size_t(r0) * size_t(w.cols); i < size_t(r1) * size_t(w.cols); ++i)
      dst[i] = fp32_to_bf16(fp16_to_fp32(src[i]));
  }, 64);
  return WeightView{GgmlType::BF16, w.rows, w.cols, owned.get()};
}

std::atomic<int>& f16_as_bf16_override() {
  static std::atomic<int> v{-1};  // -1: where the BF16 kernel multiplies bf16 natively
  return v;
}

class Packed final : public PackedWeight {
 public:
  // as_bf16: w is F16 and runs as BF16 on k (a BF16 kernel).
  Packed(const WeightView& w, const Kernel* k, bool as_bf16 = false) : w_(as_bf16 ? to_bf16_view(w, converted_) : w), k_(k) {
    if (k->pack) {
      const size_t n = k->packed_bytes(w.rows, w.cols);
      owned_ = alloc_packed(n);
      if (!owned_) fail("pack_weight: out of memory for ", n, " bytes of packed ", ggml_type_name(w_.type), " weights");
      k->pack(w_, owned_.get());
      converted_.reset();  // the packed copy is what runs
      w_.data = nullptr;
    }
    data_.data = owned_ ? owned_.get() : static_cast<const uint8_t*>(w_.data);
    data_.rows = w_.rows;
    data_.cols = w_.cols;
  }
  GgmlType type() const override { return w_.type; }
  int64_t rows() const override { return w_.rows; }
  int64_t cols() const override { return w_.cols; }
  Isa isa() const override { return k_->isa; }
  size_t bytes() const override { return size_t(w_.rows) * ggml_row_size(w_.type, w_.cols); }
  const Kernel& kernel() const { return *k_; }
  const mm::PackedData& data() const { return data_; }

 private:
  std::shared_ptr<uint8_t> converted_;  // the bf16 codes of F16 weights bound as bf16 (before w_)
  WeightView w_;
  const Kernel* k_;
  std::shared_ptr<uint8_t> owned_;
  mm::PackedData data_;
};

}  // namespace

bool matmul_supports(GgmlType t) { return mm::scalar_kernel(t) != nullptr; }

std::unique_ptr<PackedWeight> pack_weight(const WeightView& w, PackOptions options) {
  const SumOrder order = options.order;
  if (!matmul_supports(w.type)) fail("matmul: weight type ", ggml_type_name(w.type), " is not supported");
  const int64_t blk = ggml_type_info(w.type).block_size;
  if (w.rows <= 0 || w.cols <= 0) fail("matmul: bad ", ggml_type_name(w.type), " weight shape [", w.rows, ", ", w.cols, "]");
  if (w.cols % blk != 0)
    fail("matmul: ", ggml_type_name(w.type), " weight rows of ", w.cols, " columns are not a multiple of its block (",
         blk, ")");
  if (w.data == nullptr) fail("matmul: ", ggml_type_name(w.type), " weight has no data");
  if (w.type == GgmlType::F16 && options.f16_as_bf16 && order == SumOrder::kFastest) {
    const Kernel* bf16 = kernel_for(active_isa(), GgmlType::BF16, order);
    const int o = f16_as_bf16_override().load();
    if (o == 1 || (o == -1 && bf16->bf16_codes)) return std::make_unique<Packed>(w, bf16, true);
  }
  return std::make_unique<Packed>(w, kernel_for(active_isa(), w.type, order));
}

void mm::f16_as_bf16(int on) { f16_as_bf16_override().store(on); }

namespace {

const Packed& packed(const PackedWeight* pw) {
  const auto* p = dynamic_cast<const Packed*>(pw);
  if (p == nullptr) fail("matmul: weight was not bound by pack_weight");
  return *p;
}

// The per-core L2 size (sysconf; 1 MiB where unknown), clamped to a sane range.
int64_t l2_bytes() {
  static const int64_t n = [] {
    const long v = ::sysconf(_SC_LEVEL2_CACHE_SIZE);
    return std::clamp<int64_t>(v > 0 ? int64_t(v) : int64_t(1) << 20, int64_t(256) << 10, int64_t(4) << 20);
  }();
  return n;
}

// Up to this many tokens (a decode step, or the decode steps of a few sequences batched) a matmul
// streams each weight row group once for all of them, split by rows only.
constexpr int64_t kDecodeTokens = 8;

// Bytes of prepared activations a kernel reads per token (prefill).
int64_t act_bytes_per_token(const mm::Acts& a) {
  if (a.h != nullptr) return a.cols * 2;
  if (a.f != nullptr) return a.cols * 4;
  return a.cols + a.cols / 8;  // int8 codes + scales and sums
}

// How one weight's output splits into tasks: row chunks (multiples of the kernel's row block) x
// token blocks. Decode splits rows only. Prefill is blocked like a GEMM: a token block's prepared
// activations fill at most half the L2, and each task streams one row chunk's weights over one
// token block (the kernels walk row groups outside, tokens inside, so the block is re-read from
// L2, never from memory). Tasks run token block by token block, so the threads share the block
// being read in the last-level cache. Splitting never changes a result: every output is one
// kernel dot product whatever the tile it falls in.
struct Plan {
  const Packed* w = nullptr;
  const mm::Acts* acts = nullptr;
  float* y = nullptr;
  int64_t rows_per_task = 0, row_tasks = 0, tok_per_task = 0, tasks = 0;

  Plan(const Packed& p, const mm::Acts* a, float* out, int64_t n_tokens, int threads) : w(&p), acts(a), y(out) {
    const Kernel& k = p.kernel();
    const int64_t rb = k.row_block;
    const int64_t groups = (p.rows() + rb - 1) / rb;
    if (n_tokens == 1) {
      const int64_t gpt = std::min(groups, std::max<int64_t>(1, groups / (threads * 4)));
      rows_per_task = gpt * rb;
      row_tasks = (groups + gpt - 1) / gpt;
      tok_per_task = 1;
      tasks = row_tasks;
      return;
    }
    // Token blocks of whole token tiles (tiled kernels must start at tile boundaries).
    const int64_t tt = std::max(1, k.token_tile);
    const int64_t fit = std::max<int64_t>(tt, l2_bytes() / 2 / std::max<int64_t>(1, act_bytes_per_token(*a)));
    const int64_t n_blocks = (n_tokens + fit - 1) / fit;
    tok_per_task = ((n_tokens + n_blocks - 1) / n_blocks + tt - 1) / tt * tt;
    const int64_t tok_blocks = (n_tokens + tok_per_task - 1) / tok_per_task;
    // Row chunks: enough tasks for every thread (8 each, for balance; each task re-reads its
    // token block from L2 only, so small chunks cost little), at least ~32 rows.
    const int64_t min_gpt = std::max<int64_t>(1, 32 / rb);
    const int64_t want = std::max<int64_t>(1, (int64_t(threads) * 8 + tok_blocks - 1) / tok_blocks);
    const int64_t gpt = std::min(groups, std::max(min_gpt, groups / want));
    rows_per_task = gpt * rb;
    row_tasks = (groups + gpt - 1) / gpt;
    // Too few tasks (small weights): split tokens further, keeping >= 8 tokens per task.
    const int64_t total = row_tasks * tok_blocks;
    if (total < threads * 2 && n_tokens >= 16) {
      const int64_t split = std::min<int64_t>((threads * 4 + row_tasks - 1) / row_tasks, n_tokens / 8);
      const int64_t per = ((n_tokens + split - 1) / split + tt - 1) / tt * tt;
      tok_per_task = std::min(tok_per_task, std::max(tt, per));
    }
    tasks = row_tasks * ((n_tokens + tok_per_task - 1) / tok_per_task);
  }

  void run(int64_t task, int64_t n_tokens) const {
    const int64_t rows = w->rows();
    const int64_t rt = task % row_tasks, tt = task / row_tasks;  // token block major
    const int64_t r0 = rt * rows_per_task, r1 = std::min(rows, r0 + rows_per_task);
    const int64_t t0 = tt * tok_per_task, t1 = std::min(n_tokens, t0 + tok_per_task);
    if (r0 < r1 && t0 < t1) w->kernel().tile(w->data(), *acts, r0, r1, t0, t1, y, rows);
  }
};

// Two kernels can share prepared activations when they ask for the same preparation.
bool same_prep(const Kernel& a, const Kernel& b, mm::ActType ta, mm::ActType tb) {
  return ta == tb && a.isa == b.isa && a.aux == b.aux && a.aux_offset == b.aux_offset && a.tiles == b.tiles &&
         a.bf16_codes == b.bf16_codes;
}

// Decode streams every weight byte once per token. The rows of each weight are split evenly over
// the threads, and thread p works on slice p first (its other slices only if some thread lags),
// so across tokens the same thread -- the same core and its caches -- reads the same rows, and
// the part of the weights the last-level caches keep survives from one token to the next.
void decode_with_affinity(const MatmulOut* outs, int n_outs, const std::vector<mm::Acts>& acts,
                          const std::vector<size_t>& which, int64_t n_tokens, ThreadPool& pool) {
  struct Chunk {  // rows [r0, r1) of weight w into y, from the prepared activations a
    const Packed* w;
    const mm::Acts* a;
    float* y;
    int64_t r0, r1;
  };
  const int threads = pool.size();
  // Reused from call to call: decode makes ~150 of these calls per token.
  // (Named through plain references below: inside the pool job a thread_local name would mean the
  // worker's own copy.)
  thread_local std::vector<std::vector<Chunk>> slices_tls;
  std::vector<std::vector<Chunk>>& slices = slices_tls;
  slices.resize(static_cast<size_t>(threads));
  for (auto& sl : slices) sl.clear();
  for (int i = 0; i < n_outs; ++i) {
    const Packed& p = packed(outs[i].w);
    const int64_t rb = p.kernel().row_block, rows = p.rows();
    const int64_t groups = (rows + rb - 1) / rb;
    for (int th = 0; th < threads; ++th) {
      const int64_t g0 = groups * th / threads, g1 = groups * (th + 1) / threads;
      // A few pieces each, for stealing, but none under ~64 KB: every piece restarts the
      // kernel's prefetch stream, which costs small weights (k_proj, v_proj) dearly.
      const int64_t group_bytes = std::max<int64_t>(1, int64_t(p.bytes()) / groups);
      const int64_t step = std::max<int64_t>({1, (g1 - g0) / 4, (int64_t(64) << 10) / group_bytes});
      for (int64_t g = g0; g < g1; g += step)
        slices[size_t(th)].push_back({&p, &acts[which[size_t(i)]], outs[i].y, g * rb, std::min(rows, std::min(g + step, g1) * rb)});
    }
  }
  // Each slice's cursor on its own cache line: its owner bumps it once per chunk.
  struct alignas(64) Cursor {
    std::atomic<size_t> next{0};
  };
  thread_local std::vector<Cursor> cursor_tls;
  std::vector<Cursor>& cursor = cursor_tls;
  if (cursor.size() < static_cast<size_t>(threads)) cursor = std::vector<Cursor>(static_cast<size_t>(threads));
  for (auto& cur : cursor) cur.next.store(0, std::memory_order_relaxed);
  pool.run(threads, [&](int64_t, int thread) {
    for (int k = 0; k < threads; ++k) {
      const size_t s = size_t((thread + k) % threads);
      std::atomic<size_t>& next = cursor[s].next;
      for (size_t c = next.fetch_add(1); c < slices[s].size(); c = next.fetch_add(1)) {
        const Chunk& ch = slices[s][c];
        ch.w->kernel().tile(ch.w->data(), *ch.a, ch.r0, ch.r1, 0, n_tokens, ch.y, ch.w->rows());
      }
    }
  });
}

}  // namespace

void matmul(const PackedWeight& pw, const float* x, int64_t n_tokens, float* y, ThreadPool& pool) {
  const MatmulOut out{&pw, y};
  matmul_many(&out, 1, x, n_tokens, pool);
}

void matmul_many(const MatmulOut* outs, int n_outs, const float* x, int64_t n_tokens, ThreadPool& pool) {
  if (n_tokens <= 0 || n_outs <= 0) return;
  if (x == nullptr) fail("matmul: null activations");
  const int64_t cols = packed(outs[0].w).cols();
  // Convert the activations once per distinct preparation.
  thread_local std::vector<mm::ActScratch> scratch;
  // Bookkeeping reused from call to call (decode makes ~150 calls per token); the pool jobs below
  // reach it through parameters and pointers, never through these thread_local names.
  thread_local std::vector<mm::Acts> acts;
  thread_local std::vector<const Packed*> prep_of;  // the weight each prepared set was made for
  thread_local std::vector<size_t> which;
  acts.clear();
  prep_of.clear();
  which.assign(static_cast<size_t>(n_outs), 0);
  for (int i = 0; i < n_outs; ++i) {
    const Packed& p = packed(outs[i].w);
    if (outs[i].y == nullptr) fail("matmul: null output");
    if (p.cols() != cols) fail("matmul_many: weights of ", p.cols(), " and ", cols, " columns share activations");
    size_t j = 0;
    while (j < prep_of.size() && !same_prep(prep_of[j]->kernel(), p.kernel(), mm::act_type_for(prep_of[j]->type()),
                                            mm::act_type_for(p.type())))
      ++j;
    if (j == prep_of.size()) {
      if (scratch.size() <= j) scratch.resize(j + 1);
      acts.push_back(mm::prepare_acts(mm::act_type_for(p.type()), p.kernel(), x, n_tokens, cols, scratch[j], pool));
      prep_of.push_back(&p);
    }
    which[size_t(i)] = j;
  }
  if (n_tokens <= kDecodeTokens && pool.size() > 1) return decode_with_affinity(outs, n_outs, acts, which, n_tokens, pool);
  // One pool job for every output's tiles.
  std::vector<Plan> plans;
  plans.reserve(size_t(n_outs));
  int64_t total = 0;
  for (int i = 0; i < n_outs; ++i) {
    plans.emplace_back(packed(outs[i].w), &acts[which[size_t(i)]], outs[i].y, n_tokens, pool.size());
    total += plans.back().tasks;
  }
  pool.run(total, [&](int64_t task, int) {
    size_t i = 0;
    while (task >= plans[i].tasks) task -= plans[i++].tasks;
    plans[i].run(task, n_tokens);
  });
}

}  // namespace smolvlm::kernels
