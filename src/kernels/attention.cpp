// attention(): splits the work into tiles of (query tokens x query heads of one KV group) and runs
// the active ISA's tile kernel on the pool. One query token (decode) instead splits the keys into
// chunks, each task running every head over its chunk (attention_split, flash decoding), so that
// the threads share a long context evenly and each reads its stretch of the cache front to back.
// The tile kernels (ops_scalar.cpp, ops_attention_simd.h) compute flash-attention style: keys in
// blocks of kv_block, a running max and sum per query row (online softmax), the value sum rescaled
// when the max grows, one division at the end.
//
// Numerics, compared with llama.cpp's non-flash CPU graph (kq = mul_mat(k, q); softmax_ext with
// scale; kqv = mul_mat(v, kq)):
//  * F32 cache: plain f32 math. Scores are dot(q, k) * scale in float, exp is expf (or a ~1 ulp
//    vector exp), value sums in float. Only the summation order and the place of the softmax
//    normalization (once at the end instead of per probability) differ: ~1e-7 relative.
//  * F16 cache: q is rounded to fp16 before the dot product, as ggml does (it converts q to the
//    K type's vec_dot_type, f16); the dot product itself accumulates in float. ggml then also
//    rounds the probabilities (non-flash) or the value accumulator (flash) to fp16; these tiles do
//    not: probabilities and the value sum stay in float.
//
// Order::kGgml (attention_ggml below; the row kernels are attention_ggml_row in ops_scalar.cpp and
// ops_attention_ggml_simd.h) instead computes each (query, head) row as llama.cpp's non-flash graph
// does, in ggml's float order and with its fp16 roundings: the same bits as llama.cpp, F32 or F16
// cache.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "base/error.h"
#include "kernels/matmul_act.h"
#include "kernels/ops_internal.h"

namespace smolvlm::kernels {
namespace avx512 {
void attention_bf16_tile(const detail::AttnBf16Tile& t);  // attention_bf16_avx512.cpp (AVX512_BF16)
}  // namespace avx512
namespace avx2 {
detail::AttnI8Kernel attention_i8(bool evex);  // attention_i8_avx2.cpp (VNNI, VEX or EVEX)
}  // namespace avx2
namespace detail {
namespace {

void check(const AttentionArgs& a) {
  if (a.n_q < 0 || a.n_kv < 0 || a.n_heads <= 0 || a.n_kv_heads <= 0 || a.head_dim <= 0)
    fail("attention: bad shape (n_q ", a.n_q, ", n_kv ", a.n_kv, ", heads ", a.n_heads, "/", a.n_kv_heads,
         ", head_dim ", a.head_dim, ")");
  if (a.n_heads % a.n_kv_heads != 0)
    fail("attention: ", a.n_heads, " query heads is not a multiple of ", a.n_kv_heads, " KV heads");
  if (a.kv_type != GgmlType::F16 && a.kv_type != GgmlType::F32)
    fail("attention: KV cache type ", ggml_type_name(a.kv_type), " is not supported (F16 or F32)");
  const size_t elt = a.kv_type == GgmlType::F16 ? 2 : 4;
  if (a.kv_row_stride < static_cast<size_t>(a.n_kv_heads * a.head_dim) * elt)
    fail("attention: KV row stride ", a.kv_row_stride, " bytes is less than one position (",
         a.n_kv_heads * a.head_dim * elt, " bytes)");
  if (a.kv_row_stride % elt != 0)
    fail("attention: KV row stride ", a.kv_row_stride, " bytes is not a multiple of the element size ", elt);
  if (a.q_pos0 < 0) fail("attention: negative query position ", a.q_pos0);
  if (a.n_q > 0 && a.n_kv == 0) fail("attention: no keys to attend to");
}

// per_thread floats (a multiple of 16) for each of the pool's threads, 64-byte aligned: thread i
// owns base + i * per_thread. Kept per calling thread and grown only: a decode step calls attention
// once per layer, and a fresh zero-filled buffer each time costs more than the attention itself.
// Every kernel writes its scratch before reading it.
// n elements of buf, 64-byte aligned; buf grows only. (Callers pass their thread_local buffer by a
// plain reference: the pool's threads then use the caller's.)
template <class T>
T* aligned_in(std::vector<T>& buf, size_t n) {
  if (buf.size() < n + 64 / sizeof(T)) buf.resize(n + 64 / sizeof(T));
  T* p = buf.data();
  while (reinterpret_cast<uintptr_t>(p) % 64 != 0) ++p;
  return p;
}

float* pool_scratch(size_t per_thread, const ThreadPool& pool) {
  thread_local std::vector<float> scratch;
  return aligned_in(scratch, per_thread * static_cast<size_t>(pool.size()));
}

// The tasks of the staged-key paths (bf16, int8): one per (query tile of q_tile tokens, head), the
// longest tiles first, each given its queries (one head: n_g = 1), its head, and scratch_floats of
// 64-byte aligned scratch: fn(queries, head, scratch).
template <class Fn>
void head_tiles(const AttentionArgs& a, ThreadPool& pool, int64_t q_tile, size_t scratch_floats, const Fn& fn) {
  const int64_t H = a.n_heads, D = a.head_dim, n_qt = (a.n_q + q_tile - 1) / q_tile;
  const size_t per_thread = (scratch_floats + 15) / 16 * 16;
  float* base = pool_scratch(per_thread, pool);
  pool.run(n_qt * H, [&](int64_t task, int thread) {
    const int64_t qt = n_qt - 1 - task % n_qt, h = task / n_qt, i0 = qt * q_tile;
    AttnQueries t;
    t.q = a.q + (i0 * H + h) * D;
    t.out = a.out + (i0 * H + h) * D;
    t.tok_stride = H * D;
    t.n_tok = std::min(q_tile, a.n_q - i0);
    t.n_g = 1;
    t.head_dim = D;
    t.n_kv = a.n_kv;
    t.causal = a.causal;
    t.vis0 = a.causal ? a.q_pos0 + i0 + 1 : a.n_kv;
    t.scale = a.scale;
    fn(t, h, base + per_thread * static_cast<size_t>(thread));
  });
}

}  // namespace

void attention_tiled(const AttentionArgs& a, ThreadPool& pool, int64_t q_tile, int64_t kv_block) {
  check(a);
  if (a.n_q == 0) return;
  const int64_t rep = a.n_heads / a.n_kv_heads, D = a.head_dim;
  q_tile = std::clamp<int64_t>(q_tile, 1, a.n_q);
  kv_block = std::clamp<int64_t>(kv_block, 1, a.n_kv);
  const int64_t n_qt = (a.n_q + q_tile - 1) / q_tile;
  // Heads of a KV group share the converted K/V blocks; split the group when that leaves too few
  // tasks to keep every thread busy (a few query tokens), unless the context is long: then reading
  // the keys and values once per group instead of once per head matters more than the balance
  // (one token at a depth of 4096, before decode took attention_split: +25-30% measured with 3 KV
  // heads on 2 threads).
  const int64_t n_g = a.n_kv_heads * n_qt >= 2 * pool.size() || a.n_kv >= 1024 ? rep : 1;
  const int64_t groups_per_kv = rep / n_g;
  const int64_t n_tasks = n_qt * a.n_kv_heads * groups_per_kv;

  const size_t per_thread = (attn_scratch_floats(q_tile * n_g, kv_block, D) + 15) / 16 * 16;
  float* base = pool_scratch(per_thread, pool);

  const size_t elt = a.kv_type == GgmlType::F16 ? 2 : 4;
  const auto tile_kernel = ops_table(active_isa()).attention_tile;
  pool.run(n_tasks, [&](int64_t task, int thread) {
    // Head groups one after another, so that consecutive tasks reuse the same keys and values
    // from cache; within a group the last query tiles first (under a causal mask they see the
    // most keys, and small tasks at the end balance the threads).
    const int64_t qt = n_qt - 1 - task % n_qt;
    const int64_t hg = task / n_qt;
    const int64_t kvh = hg / groups_per_kv, h0 = kvh * rep + (hg % groups_per_kv) * n_g;
    const int64_t i0 = qt * q_tile;
    AttnTile t;
    t.q = a.q + (i0 * a.n_heads + h0) * D;
    t.out = a.out + (i0 * a.n_heads + h0) * D;
    t.tok_stride = a.n_heads * D;
    t.n_tok = std::min(q_tile, a.n_q - i0);
    t.n_g = n_g;
    t.head_dim = D;
    t.k = static_cast<const uint8_t*>(a.k) + static_cast<size_t>(kvh * D) * elt;
    t.v = static_cast<const uint8_t*>(a.v) + static_cast<size_t>(kvh * D) * elt;
    t.kv_stride = a.kv_row_stride;
    t.f16 = a.kv_type == GgmlType::F16;
    t.n_kv = a.n_kv;
    t.causal = a.causal;
    t.vis0 = a.causal ? a.q_pos0 + i0 + 1 : a.n_kv;
    t.scale = a.scale;
    t.kv_block = kv_block;
    t.scratch = base + per_thread * static_cast<size_t>(thread);
    tile_kernel(t);
  });
}

// Order::kGgml: one task per (query row, head), each the ISA's attention_ggml_row.
void attention_ggml(const AttentionArgs& a, ThreadPool& pool) {
  check(a);
  if (a.n_q == 0) return;
  const int64_t rep = a.n_heads / a.n_kv_heads, D = a.head_dim;
  const size_t score_floats = size_t((a.n_kv + 63) / 64 * 64), acc_floats = size_t(64 * attn_pad_dim(D));
  const size_t per_thread = score_floats + acc_floats;
  float* base = pool_scratch(per_thread, pool);
  const size_t elt = a.kv_type == GgmlType::F16 ? 2 : 4;
  const auto row_kernel = ops_table(active_isa()).attention_ggml_row;
  pool.run(a.n_q * a.n_heads, [&](int64_t task, int thread) {
    const int64_t i = a.n_q - 1 - task / a.n_heads, h = task % a.n_heads;  // the longest rows first
    GgmlAttnRow r;
    r.q = a.q + (i * a.n_heads + h) * D;
    r.out = a.out + (i * a.n_heads + h) * D;
    r.k = static_cast<const uint8_t*>(a.k) + static_cast<size_t>((h / rep) * D) * elt;
    r.v = static_cast<const uint8_t*>(a.v) + static_cast<size_t>((h / rep) * D) * elt;
    r.kv_stride = a.kv_row_stride;
    r.f16 = a.kv_type == GgmlType::F16;
    r.head_dim = D;
    r.n_vis = a.causal ? std::min(a.q_pos0 + i + 1, a.n_kv) : a.n_kv;
    r.scale = a.scale;
    r.one_token = a.one_token;
    r.acc = base + per_thread * static_cast<size_t>(thread);
    r.scores = r.acc + acc_floats;
    row_kernel(r);
  });
}

AttnBf16Kernel attention_bf16_kernel() {
  return active_isa() == Isa::kAvx512 && cpu_features().avx512_bf16 ? avx512::attention_bf16_tile : nullptr;
}

// AttentionArgs::bf16: the keys and values staged as bf16 pairs (AttnBf16Tile's layout) in parallel
// over (KV head, stretch of keys), then one task per (query tile, head), the longest tiles first.
void attention_bf16(const AttentionArgs& a, ThreadPool& pool, AttnBf16Kernel kernel) {
  check(a);
  if (a.kv_type != GgmlType::F32) fail("attention: bf16 products take an F32 K/V (not ", ggml_type_name(a.kv_type), ")");
  if (a.n_q == 0) return;
  const int64_t H = a.n_heads, rep = H / a.n_kv_heads, D = a.head_dim, d2 = (D + 1) / 2, dp = attn_pad_dim(D);
  const int64_t np = (a.n_kv + kBf16KeyBlock - 1) / kBf16KeyBlock * kBf16KeyBlock;
  const size_t k_words = size_t(d2 * np), per_head = (k_words + size_t(np / 2 * dp) + 15) / 16 * 16;
  thread_local std::vector<uint32_t> staged_tls;
  uint32_t* staged0 = aligned_in<uint32_t>(staged_tls, per_head * size_t(a.n_kv_heads));

  const auto to_bf16 = mm::act_fns(active_isa()).to_bf16;
  constexpr int64_t kStretch = 4 * kBf16KeyBlock;
  const int64_t n_stretches = (np + kStretch - 1) / kStretch;
  pool.run(a.n_kv_heads * n_stretches, [&](int64_t task, int) {
    const int64_t h = task / n_stretches, j0 = task % n_stretches * kStretch, j1 = std::min(np, j0 + kStretch);
    uint32_t* k = staged0 + per_head * size_t(h);
    uint32_t* v = k + k_words;
    thread_local std::vector<uint16_t> rows;  // two rows' codes, zero-padded (grown only)
    if (rows.size() < size_t(2 * dp + 2)) rows.resize(size_t(2 * dp + 2));
    uint16_t *c0 = rows.data(), *c1 = c0 + dp + 1;
    const auto codes = [&](const void* base, int64_t j, uint16_t* c) {
      std::fill(c, c + dp + 1, uint16_t(0));
      if (j < a.n_kv) to_bf16(reinterpret_cast<const float*>(static_cast<const uint8_t*>(base) + size_t(j) * a.kv_row_stride) + h * D, c, D);
    };
    for (int64_t j = j0; j < j1; ++j) {
      codes(a.k, j, c0);
      for (int64_t i = 0; i < d2; ++i) k[i * np + j] = uint32_t(c0[2 * i]) | uint32_t(c0[2 * i + 1]) << 16;
    }
    for (int64_t i = j0 / 2; i < j1 / 2; ++i) {
      codes(a.v, 2 * i, c0);
      codes(a.v, 2 * i + 1, c1);
      for (int64_t d = 0; d < dp; ++d) v[i * dp + d] = uint32_t(c0[d]) | uint32_t(c1[d]) << 16;
    }
  });

  // 48 rows: 8 groups of 6, their accumulators and the key block share the L1
  head_tiles(a, pool, 48, attn_bf16_scratch_floats(48, D), [&](const AttnQueries& q, int64_t h, float* scratch) {
    AttnBf16Tile t;
    static_cast<AttnQueries&>(t) = q;
    t.k = staged0 + per_head * size_t(h / rep);
    t.v = t.k + k_words;
    t.np = np;
    t.scratch = scratch;
    kernel(t);
  });
}

AttnI8Kernel attention_i8_kernel() {
  if (active_isa() != Isa::kAvx2) return {};
  const CpuFeatures& f = cpu_features();
  if (f.avx_vnni) return avx2::attention_i8(false);
  if (f.avx512_vnni && f.avx512vl) return avx2::attention_i8(true);
  return {};
}

// AttentionArgs::int8: the keys quantized and staged (AttnI8Tile's layout) in parallel over (KV
// head, stretch of keys), then one task per (query tile, head), the longest tiles first.
void attention_i8(const AttentionArgs& a, ThreadPool& pool, AttnI8Kernel kernel) {
  check(a);
  if (a.kv_type != GgmlType::F32) fail("attention: int8 scores take an F32 K/V (not ", ggml_type_name(a.kv_type), ")");
  if (a.head_dim > kI8MaxHeadDim) fail("attention: int8 scores take heads of at most ", kI8MaxHeadDim, " (not ", a.head_dim, ")");
  if (a.n_q == 0) return;
  const int64_t H = a.n_heads, rep = H / a.n_kv_heads, D = a.head_dim, d4 = (D + 3) / 4;
  const int64_t np = (a.n_kv + 15) / 16 * 16;
  const size_t per_head = (size_t(d4 * np + 2 * np) + 15) / 16 * 16;  // kq, ks, kc (32-bit words)
  thread_local std::vector<int32_t> staged_tls;
  int32_t* staged0 = aligned_in<int32_t>(staged_tls, per_head * size_t(a.n_kv_heads));
  const auto keys = [&](int64_t h) { return staged0 + per_head * size_t(h); };

  constexpr int64_t kStretch = 256;
  const int64_t n_stretches = (np + kStretch - 1) / kStretch;
  pool.run(a.n_kv_heads * n_stretches, [&](int64_t task, int) {
    const int64_t h = task / n_stretches, j0 = task % n_stretches * kStretch, j1 = std::min(np, j0 + kStretch);
    int32_t* kq = keys(h);
    auto* ks = reinterpret_cast<float*>(kq + d4 * np);
    int32_t* kc = reinterpret_cast<int32_t*>(ks + np);
    int32_t words[kI8MaxHeadDim / 4 + 1];  // a key's codes, 4 to a word (lowest byte first on x86)
    auto* codes = reinterpret_cast<int8_t*>(words);
    for (int64_t j = j0; j < j1; ++j) {
      std::fill(codes, codes + 4 * d4, int8_t(0));
      const float* row = reinterpret_cast<const float*>(static_cast<const uint8_t*>(a.k) + size_t(j) * a.kv_row_stride);
      const float scale = j < a.n_kv ? kernel.quantize(row + h * D, D, codes) : 0.0f;
      int32_t sum = 0;
      for (int64_t c = 0; c < D; ++c) sum += codes[c];
      for (int64_t i = 0; i < d4; ++i) kq[i * np + j] = words[i];
      ks[j] = scale * a.scale;
      kc[j] = 128 * sum;
    }
  });

  // 48 rows: 8 groups of 6 (as bf16's); the f32 tiles' key block
  constexpr int64_t kKvBlock = 128;
  head_tiles(a, pool, 48, attn_i8_scratch_floats(48, kKvBlock, D), [&](const AttnQueries& q, int64_t h, float* scratch) {
    AttnI8Tile t;
    static_cast<AttnQueries&>(t) = q;
    t.kq = keys(h / rep);
    t.ks = reinterpret_cast<const float*>(t.kq + d4 * np);
    t.kc = reinterpret_cast<const int32_t*>(t.ks + np);
    t.np = np;
    t.v = reinterpret_cast<const float*>(a.v) + (h / rep) * D;
    t.v_stride = static_cast<int64_t>(a.kv_row_stride / 4);
    t.kv_block = kKvBlock;
    t.scratch = scratch;
    kernel.tile(t);
  });
}

namespace {

// Keys per chunk of a decode step: a function of the number of visible keys only, so no result
// depends on the thread count. At least 32 keys (a chunk costs a softmax pass and a merge), and
// at most kMaxChunks chunks (the merge reads every chunk's value sums once per head).
constexpr int64_t kMaxChunks = 32;
int64_t split_keys(int64_t n_vis) {
  constexpr int64_t kMinKeys = 32;
  const int64_t c = std::max(kMinKeys, (n_vis + kMaxChunks - 1) / kMaxChunks);
  return (c + 15) / 16 * 16;
}

}  // namespace

// Flash decoding: the chunks run in parallel, each over every head (so a task streams one
// contiguous stretch of the cache, all KV heads of every row it reads); then per head the chunks'
// parts are merged in chunk order: with M = max_c m_c and w_c = exp(m_c - M),
// out = sum_c w_c o_c / sum_c w_c l_c.
void attention_split(const AttentionArgs& a, ThreadPool& pool) {
  check(a);
  if (a.n_q == 0) return;
  if (a.n_q != 1) fail("attention_split: ", a.n_q, " query tokens (one only)");
  const int64_t H = a.n_heads, D = a.head_dim, dp = attn_pad_dim(D), hp = (H + 15) / 16 * 16;
  const int64_t n_vis = a.causal ? std::min(a.q_pos0 + 1, a.n_kv) : a.n_kv;
  const int64_t chunk = split_keys(n_vis), n_chunks = (n_vis + chunk - 1) / chunk;
  // Each chunk's part: o [H][dp], then m [hp], l [hp].
  const size_t part = static_cast<size_t>(H * dp + 2 * hp);
  thread_local std::vector<float> parts_tls;
  float* parts0 = aligned_in(parts_tls, part * static_cast<size_t>(n_chunks));
  const size_t per_thread = (attn_split_scratch_floats(H, chunk, D) + 15) / 16 * 16;
  float* base = pool_scratch(per_thread, pool);
  const OpsTable& ops = ops_table(active_isa());
  pool.run(n_chunks, [&](int64_t c, int thread) {
    const int64_t j0 = c * chunk;
    AttnSplit s;
    s.q = a.q;
    s.n_heads = H, s.n_kv_heads = a.n_kv_heads, s.head_dim = D;
    s.k = static_cast<const uint8_t*>(a.k) + static_cast<size_t>(j0) * a.kv_row_stride;
    s.v = static_cast<const uint8_t*>(a.v) + static_cast<size_t>(j0) * a.kv_row_stride;
    s.kv_stride = a.kv_row_stride;
    s.f16 = a.kv_type == GgmlType::F16;
    s.n = std::min(chunk, n_vis - j0);
    s.scale = a.scale;
    s.o = parts0 + part * static_cast<size_t>(c);
    s.m = s.o + H * dp;
    s.l = s.m + hp;
    s.scratch = base + per_thread * static_cast<size_t>(thread);
    ops.attention_split(s);
  });
  const auto merge = [&](int64_t h) {
    const auto chunk_part = [&](int64_t c) { return parts0 + part * size_t(c); };
    float mx = -__builtin_inff();
    for (int64_t c = 0; c < n_chunks; ++c) mx = std::max(mx, chunk_part(c)[H * dp + h]);
    float w[kMaxChunks], l = 0.0f;  // w_c = exp(m_c - M)
    for (int64_t c = 0; c < n_chunks; ++c) {
      const float* m = chunk_part(c) + H * dp;
      w[c] = std::exp(m[h] - mx);
      l += m[hp + h] * w[c];
    }
    float* out = a.out + h * D;
    std::fill(out, out + D, 0.0f);
    for (int64_t c = 0; c < n_chunks; ++c) ops.scale_add(out, chunk_part(c) + h * dp, w[c] / l, D);
  };
  // A long context merges in parallel, a short one (a few chunks) right here.
  if (n_chunks * H * D >= 32768) {
    pool.run(H, [&](int64_t h, int) { merge(h); });
  } else {
    for (int64_t h = 0; h < H; ++h) merge(h);
  }
}

}  // namespace detail

void attention(const AttentionArgs& a, ThreadPool& pool) {
  if (a.order == AttentionArgs::Order::kGgml) return detail::attention_ggml(a, pool);
  if (a.n_q == 1) return detail::attention_split(a, pool);
  if (a.bf16 && a.kv_type == GgmlType::F32) {
    if (const detail::AttnBf16Kernel k = detail::attention_bf16_kernel()) return detail::attention_bf16(a, pool, k);
  }
  if (a.int8 && a.kv_type == GgmlType::F32 && a.head_dim <= detail::kI8MaxHeadDim) {
    if (const detail::AttnI8Kernel k = detail::attention_i8_kernel(); k.tile) return detail::attention_i8(a, pool, k);
  }
  // About 64 rows (query tokens x heads of a KV group) per tile, so that the float copy of each
  // key block is shared by enough rows; 128 keys per online-softmax step.
  const int64_t rep = a.n_kv_heads > 0 && a.n_heads % a.n_kv_heads == 0 ? a.n_heads / a.n_kv_heads : 1;
  detail::attention_tiled(a, pool, (64 + rep - 1) / rep, 128);
}

}  // namespace smolvlm::kernels
