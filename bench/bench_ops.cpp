// Throughput of the ops.h kernels per ISA this CPU supports (bytes/s = bytes read + written), and
// of attention (decode: 1 query against n_kv keys; prefill: n causal queries from position 0) with
// GFLOP/s counted as 4 * head_dim flops per visible (query, key) pair per head.
// Shapes are SmolVLM2-256M's text model: 576 wide, 9 query / 3 KV heads of 64, MLP 1536.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "kernels/isa.h"
#include "kernels/ops.h"
#include "kernels/ops_internal.h"

namespace {

using namespace smolvlm;
using kernels::Isa;

std::vector<float> data(size_t n, float sd = 1.0f) {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, sd);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

constexpr int64_t kRows = 64, kDim = 576, kMlp = 1536;

// Runs `body` under the ISA; counts `bytes` per iteration.
template <class Body>
void run(benchmark::State& state, Isa isa, int64_t bytes, Body body) {
  kernels::force_isa(isa);
  for (auto _ : state) {
    body();
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * bytes);
}

void BM_RmsNorm(benchmark::State& s, Isa isa) {
  auto x = data(kRows * kDim), w = data(kDim), y = x;
  run(s, isa, 2 * kRows * kDim * 4, [&] { kernels::rms_norm(x.data(), w.data(), 1e-5f, kRows, kDim, y.data()); });
}
void BM_LayerNorm(benchmark::State& s, Isa isa) {
  auto x = data(kRows * 768), w = data(768), b = data(768), y = x;
  run(s, isa, 2 * kRows * 768 * 4,
      [&] { kernels::layer_norm(x.data(), w.data(), b.data(), 1e-6f, kRows, 768, y.data()); });
}
void BM_Rope(benchmark::State& s, Isa isa) {
  auto x = data(kRows * kDim);
  std::vector<int32_t> pos(kRows);
  for (int64_t i = 0; i < kRows; ++i) pos[i] = int32_t(100 + i);
  run(s, isa, 2 * kRows * kDim * 4, [&] { kernels::rope_norm(x.data(), kRows, 9, 64, 64, pos.data(), 100000.0f); });
}
void BM_Softmax(benchmark::State& s, Isa isa) {
  const auto x0 = data(4096, 4.0f);
  auto x = x0;
  run(s, isa, 2 * 4096 * 4, [&] {
    x = x0;
    kernels::softmax(x.data(), 4096);
  });
}
void BM_SiluMul(benchmark::State& s, Isa isa) {
  auto g = data(kRows * kMlp, 3.0f), u = data(kRows * kMlp), y = g;
  run(s, isa, 3 * kRows * kMlp * 4, [&] { kernels::silu_mul(g.data(), u.data(), y.data(), kRows * kMlp); });
}
void BM_GeluTanh(benchmark::State& s, Isa isa) {
  const auto x0 = data(kRows * 3072, 2.0f);
  auto x = x0;
  run(s, isa, 2 * kRows * 3072 * 4, [&] {
    x = x0;  // the copy is counted in neither bytes nor kept out of the time; it is the same per ISA
    kernels::gelu_tanh(x.data(), kRows * 3072);
  });
}
void BM_Add(benchmark::State& s, Isa isa) {
  auto x = data(kRows * kDim), y = data(kRows * kDim);
  run(s, isa, 3 * kRows * kDim * 4, [&] { kernels::add(y.data(), x.data(), kRows * kDim); });
}
void BM_StoreRowF16(benchmark::State& s, Isa isa) {
  auto x = data(kRows * 192);
  std::vector<uint16_t> h(x.size());
  run(s, isa, 6 * kRows * 192, [&] { kernels::store_row(GgmlType::F16, x.data(), h.data(), kRows * 192); });
}

// state.range(0) = n_q (1 = decode), range(1) = n_kv, range(2) = 1 for an F16 cache, range(3)
// threads, range(4) = the path: 0 attention() as the model calls it (one query: the split over
// key chunks), 1 Order::kGgml (llama.cpp's non-flash order), 2 the flash tiles forced; range(5) =
// 1 for a cold cache: 30 layers' caches in turn, as decode reads them (each evicted by the
// weights in between), so bytes_per_second is comparable with bench_matmul's BM_ReadBandwidth.
void BM_Attention(benchmark::State& s, Isa isa) {
  const int64_t n_q = s.range(0), n_kv = s.range(1), heads = 9, kv_heads = 3, D = 64;
  const int path = static_cast<int>(s.range(4));
  const int64_t n_layers = s.range(5) ? 30 : 1;
  const GgmlType t = s.range(2) ? GgmlType::F16 : GgmlType::F32;
  const size_t elt = s.range(2) ? 2 : 4, stride = size_t(kv_heads * D) * elt, bytes = stride * size_t(n_kv);
  const auto q = data(size_t(n_q * heads * D)), kv = data(size_t(n_kv * kv_heads * D));
  std::vector<uint8_t> k(bytes * size_t(n_layers)), v(bytes * size_t(n_layers));
  for (int64_t j = 0; j < n_kv * n_layers; ++j) {
    const float* row = kv.data() + (j % n_kv) * kv_heads * D;
    kernels::store_row(t, row, k.data() + j * stride, kv_heads * D);
    kernels::store_row(t, row, v.data() + j * stride, kv_heads * D);
  }
  std::vector<float> out(q.size());
  kernels::ThreadPool pool(static_cast<int>(s.range(3)));
  kernels::AttentionArgs a;
  a.q = q.data(), a.out = out.data(), a.kv_type = t;
  a.n_q = n_q, a.n_kv = n_kv, a.n_heads = heads, a.n_kv_heads = kv_heads, a.head_dim = D;
  a.kv_row_stride = stride, a.q_pos0 = n_kv - n_q, a.causal = true, a.scale = 0.125f;
  a.order = path == 1 ? kernels::AttentionArgs::Order::kGgml : kernels::AttentionArgs::Order::kTiled;
  a.one_token = n_q == 1;
  double pairs = 0;  // visible (query, key) pairs
  for (int64_t i = 0; i < n_q; ++i) pairs += double(n_kv - n_q + i + 1);
  int64_t layer = 0;
  run(s, isa, int64_t(2 * bytes + 8 * q.size()), [&] {
    a.k = k.data() + bytes * size_t(layer), a.v = v.data() + bytes * size_t(layer);
    layer = (layer + 1) % n_layers;
    if (path == 2) kernels::detail::attention_tiled(a, pool, (64 + 2) / 3, 128);
    else kernels::attention(a, pool);
  });
  s.counters["GFLOP/s"] =
      benchmark::Counter(4.0 * D * heads * pairs * double(s.iterations()) * 1e-9, benchmark::Counter::kIsRate);
}

// The vision encoder's shape (SmolVLM2-256M/500M: 12 heads of 64, no GQA), bidirectional over one
// 512x512 tile's 1024 patches, F32 activations as keys and values; range(1) = 1 for the fast
// numerics' bf16 products (AttentionArgs::bf16: on vdpbf16ps where the CPU has AVX512_BF16), 2 for
// their int8 scores (AttentionArgs::int8: on the AVX2 path where the CPU has VNNI).
void BM_AttentionVision(benchmark::State& s, Isa isa) {
  const int64_t n = 1024, heads = 12, D = 64;
  const auto q = data(size_t(n * heads * D)), k = data(size_t(n * heads * D)), v = data(size_t(n * heads * D));
  std::vector<float> out(q.size());
  kernels::ThreadPool pool(static_cast<int>(s.range(0)));
  kernels::AttentionArgs a;
  a.q = q.data(), a.k = k.data(), a.v = v.data(), a.out = out.data(), a.kv_type = GgmlType::F32;
  a.n_q = n, a.n_kv = n, a.n_heads = heads, a.n_kv_heads = heads, a.head_dim = D;
  a.kv_row_stride = size_t(heads * D) * 4, a.causal = false, a.scale = 0.125f;
  a.bf16 = s.range(1) == 1;
  a.int8 = s.range(1) == 2;
  run(s, isa, int64_t(4 * q.size() * 4), [&] { kernels::attention(a, pool); });
  s.counters["GFLOP/s"] =
      benchmark::Counter(4.0 * D * heads * double(n) * n * double(s.iterations()) * 1e-9, benchmark::Counter::kIsRate);
}

int register_all() {
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (!kernels::isa_supported(isa)) continue;
    const std::string sfx = std::string("/") + kernels::isa_name(isa);
    benchmark::RegisterBenchmark(("rms_norm_64x576" + sfx).c_str(), BM_RmsNorm, isa);
    benchmark::RegisterBenchmark(("layer_norm_64x768" + sfx).c_str(), BM_LayerNorm, isa);
    benchmark::RegisterBenchmark(("rope_64x9x64" + sfx).c_str(), BM_Rope, isa);
    benchmark::RegisterBenchmark(("softmax_4096" + sfx).c_str(), BM_Softmax, isa);
    benchmark::RegisterBenchmark(("silu_mul_64x1536" + sfx).c_str(), BM_SiluMul, isa);
    benchmark::RegisterBenchmark(("gelu_tanh_64x3072" + sfx).c_str(), BM_GeluTanh, isa);
    benchmark::RegisterBenchmark(("add_64x576" + sfx).c_str(), BM_Add, isa);
    benchmark::RegisterBenchmark(("store_row_f16_64x192" + sfx).c_str(), BM_StoreRowF16, isa);
    benchmark::RegisterBenchmark(("attention" + sfx).c_str(), BM_Attention, isa)
        ->ArgNames({"n_q", "n_kv", "f16", "threads", "path", "cold"})
        ->Args({1, 80, 1, 2, 0, 0})
        ->Args({1, 80, 1, 2, 2, 0})
        ->Args({1, 80, 1, 1, 0, 0})
        ->Args({1, 512, 1, 1, 0, 0})
        ->Args({1, 512, 1, 1, 1, 0})
        ->Args({1, 512, 1, 1, 2, 0})
        ->Args({1, 4096, 1, 1, 0, 0})
        ->Args({1, 4096, 1, 1, 1, 0})
        ->Args({1, 4096, 1, 1, 2, 0})
        ->Args({1, 4096, 0, 1, 0, 0})
        ->Args({1, 4096, 0, 1, 1, 0})
        ->Args({1, 4096, 1, 2, 0, 0})
        ->Args({1, 4096, 1, 2, 1, 0})
        ->Args({1, 4096, 1, 2, 2, 0})
        ->Args({1, 4096, 1, 2, 0, 1})
        ->Args({1, 4096, 1, 2, 2, 1})
        ->Args({1, 8192, 1, 2, 0, 1})
        ->Args({1, 8192, 1, 2, 2, 1})
        ->Args({64, 64, 1, 1, 0, 0})
        ->Args({64, 64, 1, 1, 1, 0})
        ->Args({512, 512, 1, 1, 0, 0})
        ->Args({512, 512, 1, 1, 1, 0})
        ->Args({512, 512, 0, 1, 0, 0})
        ->Args({512, 512, 1, 2, 0, 0})
        ->Args({512, 512, 1, 2, 1, 0})
        ->UseRealTime();
    benchmark::RegisterBenchmark(("attention_vision_1024" + sfx).c_str(), BM_AttentionVision, isa)
        ->ArgNames({"threads", "products"})
        ->Args({1, 0})
        ->Args({2, 0})
        ->Args({1, 1})
        ->Args({2, 1})
        ->Args({1, 2})
        ->Args({2, 2})
        ->UseRealTime();
  }
  return 0;
}
const int registered = register_all();

}  // namespace

BENCHMARK_MAIN();
