// matmul throughput per weight type x ISA x token count, plus the machine's streaming-read
// bandwidth for reference. Decode (n = 1) streams ~256 MB of weights per call (far beyond the
// last-level cache), so its bytes_per_second is comparable with BM_ReadBandwidth; prefill
// (n = 64, 512) multiplies a real-shape SmolVLM2-256M matrix and reports GFLOP/s (2 rows cols n).
// Matrix x matrix at the vision encoder's shapes (BM_MatmulM1024: one 512x512 tile = 1024 patch
// rows through SigLIP's fc1 [3072 x 768] and fc2 [768 x 3072]; 4096 rows = 4 tiles per pass)
// shows whether the activations stay in cache as M grows; they pack with SumOrder::kFastest, as the
// vision model does ("/ggml": the text model's SumOrder::kGgml, for the F16 fc1 shape).
// Threads: --benchmark_filter picks; every case runs on a pool of SMOLVLM_BENCH_THREADS (default 2).
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/isa.h"
#include "kernels/matmul.h"
#include "kernels/matmul_act.h"
#include "kernels/thread_pool.h"
#include "quant/quant.h"

namespace {

using smolvlm::GgmlType;
namespace k = smolvlm::kernels;

int bench_threads() {
  const char* e = std::getenv("SMOLVLM_BENCH_THREADS");
  return e && *e ? std::atoi(e) : 2;
}

k::ThreadPool& pool() {
  static k::ThreadPool p(bench_threads());
  return p;
}

// Sum of n 32-byte vectors (AVX2 where the CPU has it, so the loop is bound by memory only).
__attribute__((target("avx2"))) uint64_t sum_avx2(const uint64_t* b, size_t n) {
  __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
  for (size_t i = 0; i + 16 <= n; i += 16) {
    s0 = _mm256_add_epi64(s0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i)));
    s1 = _mm256_add_epi64(s1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i + 4)));
    s2 = _mm256_add_epi64(s2, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i + 8)));
    s3 = _mm256_add_epi64(s3, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i + 12)));
  }
  const __m256i s = _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3));
  return uint64_t(_mm256_extract_epi64(s, 0) + _mm256_extract_epi64(s, 1) + _mm256_extract_epi64(s, 2) +
                  _mm256_extract_epi64(s, 3));
}

// Streaming read of a 256 MB buffer split over the pool's threads.
void BM_ReadBandwidth(benchmark::State& state) {
  const size_t n = size_t(256) << 20;
  std::vector<uint64_t> buf(n / 8);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = i;
  auto& p = pool();
  std::vector<uint64_t> sums(size_t(p.size()) * 8);
  for (auto _ : state) {
    const int64_t chunks = p.size();
    p.run(chunks, [&](int64_t c, int th) {
      const size_t per = buf.size() / size_t(chunks);
      const uint64_t* b = buf.data() + size_t(c) * per;
      if (k::isa_supported(k::Isa::kAvx2)) {
        sums[size_t(th) * 8] = sum_avx2(b, per);
      } else {
        uint64_t s0 = 0, s1 = 0;
        for (size_t i = 0; i < per; i += 2) {
          s0 += b[i];
          s1 += b[i + 1];
        }
        sums[size_t(th) * 8] = s0 + s1;
      }
    });
    benchmark::DoNotOptimize(sums.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(n));
}

// A [rows, cols] weight of type t: a properly quantized 64-row tile repeated (same traffic as
// distinct rows; quantizing 256 MB with the reference codecs would take minutes).
std::vector<uint8_t> make_weight(GgmlType t, int64_t rows, int64_t cols) {
  const int64_t tile_rows = std::min<int64_t>(64, rows);
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 0.02f);
  std::vector<float> wf(size_t(tile_rows * cols));
  for (auto& v : wf) v = nd(rng);
  const size_t rb = smolvlm::ggml_row_size(t, cols);
  std::vector<uint8_t> tile(rb * size_t(tile_rows));
  smolvlm::quantize_rows(t, wf.data(), tile.data(), tile_rows, cols, 0);
  std::vector<uint8_t> w(rb * size_t(rows));
  for (int64_t r = 0; r < rows; r += tile_rows)
    std::memcpy(w.data() + size_t(r) * rb, tile.data(), rb * size_t(std::min(tile_rows, rows - r)));
  return w;
}

void BM_Matmul(benchmark::State& state, GgmlType t, k::Isa isa, int64_t rows, int64_t cols, int64_t n,
               k::SumOrder order) {
  k::force_isa(isa);
  const auto wbytes = make_weight(t, rows, cols);
  auto w = k::pack_weight({t, rows, cols, wbytes.data()}, order);
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(size_t(n * cols)), y(size_t(n * rows));
  for (auto& v : x) v = nd(rng);
  auto& p = pool();
  for (auto _ : state) {
    k::matmul(*w, x.data(), n, y.data(), p);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(w->bytes()));
  state.counters["GFLOPs"] =
      benchmark::Counter(2.0 * double(rows) * double(cols) * double(n) * double(state.iterations()) * 1e-9,
                         benchmark::Counter::kIsRate);
  state.SetLabel(std::string("kernel ") + k::isa_name(w->isa()));
}

// A decode step's matmuls alone at SmolVLM2-256M's shapes, as the model calls them (q/k/v in one
// call, o, gate/up in one call, down) through 30 layers of distinct Q8_0 weights (113 MB: each
// layer's weights long evicted when it comes round again), fast order. bytes_per_second against
// BM_ReadBandwidth is the matmuls' share of the decode bound, without the norms, RoPE, attention
// and activation quantization between them.
void BM_DecodeLayers(benchmark::State& state) {
  constexpr int64_t kLayers = 30, E = 576, KV = 192, F = 1536;
  struct Shape {
    int64_t rows, cols;
  };
  const Shape shapes[] = {{E, E}, {KV, E}, {KV, E}, {E, E}, {F, E}, {F, E}, {E, F}};
  std::vector<std::vector<uint8_t>> raw;
  std::vector<std::unique_ptr<k::PackedWeight>> w;
  size_t bytes = 0;
  for (int64_t l = 0; l < kLayers; ++l)
    for (const Shape& sh : shapes) {
      raw.push_back(make_weight(GgmlType::Q8_0, sh.rows, sh.cols));
      w.push_back(k::pack_weight({GgmlType::Q8_0, sh.rows, sh.cols, raw.back().data()}, k::SumOrder::kFastest));
      bytes += w.back()->bytes();
    }
  std::vector<float> x(size_t(F), 0.5f), y(size_t(4 * F));
  auto& p = pool();
  for (auto _ : state) {
    for (int64_t l = 0; l < kLayers; ++l) {
      const auto* lw = &w[size_t(l * 7)];
      const k::MatmulOut qkv[] = {{lw[0].get(), y.data()}, {lw[1].get(), y.data() + E}, {lw[2].get(), y.data() + 2 * E}};
      k::matmul_many(qkv, 3, x.data(), 1, p);
      k::matmul(*lw[3], x.data(), 1, y.data(), p);
      const k::MatmulOut gate_up[] = {{lw[4].get(), y.data()}, {lw[5].get(), y.data() + F}};
      k::matmul_many(gate_up, 2, x.data(), 1, p);
      k::matmul(*lw[6], x.data(), 1, y.data(), p);
    }
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(bytes));
}

// Activation preparation alone (quantization to the weight type's partner, aux sums, tiles).
void BM_PrepareActs(benchmark::State& state, GgmlType t, int64_t cols, int64_t n) {
  const k::mm::Kernel* kern = k::mm::avx512_kernel(t);
  if (kern == nullptr) kern = k::mm::scalar_kernel(t);
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(size_t(n * cols));
  for (auto& v : x) v = nd(rng);
  k::mm::ActScratch scratch;
  auto& p = pool();
  for (auto _ : state) {
    auto a = k::mm::prepare_acts(k::mm::act_type_for(t), *kern, x.data(), n, cols, scratch, p);
    benchmark::DoNotOptimize(a.q);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * n * cols * 4);
}

// Binding (repacking) speed: GB/s of ggml weight bytes.
void BM_Pack(benchmark::State& state, GgmlType t, k::Isa isa) {
  k::force_isa(isa);
  const int64_t rows = 1536, cols = 1536;
  const auto wbytes = make_weight(t, rows, cols);
  for (auto _ : state) {
    auto w = k::pack_weight({t, rows, cols, wbytes.data()});
    benchmark::DoNotOptimize(w.get());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(wbytes.size()));
}

void register_all() {
  for (GgmlType t : {GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q5_0, GgmlType::Q6_K})
    for (k::Isa isa : {k::Isa::kAvx512, k::Isa::kAvx2})
      if (k::isa_supported(isa))
        benchmark::RegisterBenchmark(("BM_Pack/" + smolvlm::ggml_type_name(t) + "/" + k::isa_name(isa)).c_str(), BM_Pack,
                                     t, isa)
            ->Unit(benchmark::kMillisecond);
  for (GgmlType t : {GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::Q4_1, GgmlType::F16})
    for (int64_t n : {int64_t(1), int64_t(512)})
      benchmark::RegisterBenchmark(("BM_PrepareActs/" + smolvlm::ggml_type_name(t) + "/n" + std::to_string(n)).c_str(),
                                   BM_PrepareActs, t, int64_t(1536), n)
          ->UseRealTime()->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_ReadBandwidth", BM_ReadBandwidth)->UseRealTime()->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_DecodeLayers", BM_DecodeLayers)->UseRealTime()->Unit(benchmark::kMillisecond);
  for (GgmlType t : {GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0, GgmlType::F32})
    for (k::Isa isa : {k::Isa::kAvx512, k::Isa::kAvx2}) {
      if (!k::isa_supported(isa)) continue;
      const std::string name = smolvlm::ggml_type_name(t) + "/" + k::isa_name(isa);
      for (int64_t n : {int64_t(1024), int64_t(4096)}) {
        if (n > 1024 && t != GgmlType::F16) continue;
        const std::string m = "/m" + std::to_string(n);
        benchmark::RegisterBenchmark(("BM_MatmulM1024/" + name + "/fc1" + m).c_str(), BM_Matmul, t, isa, int64_t(3072),
                                     int64_t(768), n, k::SumOrder::kFastest)
            ->UseRealTime()->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark(("BM_MatmulM1024/" + name + "/fc2" + m).c_str(), BM_Matmul, t, isa, int64_t(768),
                                     int64_t(3072), n, k::SumOrder::kFastest)
            ->UseRealTime()->Unit(benchmark::kMillisecond);
        if ((t == GgmlType::F16 || t == GgmlType::BF16) && n == 1024)  // the exact order's kernel
          benchmark::RegisterBenchmark(("BM_MatmulM1024/" + name + "/fc1" + m + "/ggml").c_str(), BM_Matmul, t, isa,
                                       int64_t(3072), int64_t(768), n, k::SumOrder::kGgml)
              ->UseRealTime()->Unit(benchmark::kMillisecond);
      }
    }
  const GgmlType types[] = {GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q5_0, GgmlType::Q6_K, GgmlType::Q5_K,
                            GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_1, GgmlType::F16,  GgmlType::BF16,
                            GgmlType::F32};
  for (k::Isa isa : {k::Isa::kAvx512, k::Isa::kAvx2, k::Isa::kScalar}) {
    if (!k::isa_supported(isa)) continue;
    for (GgmlType t : types) {
      const std::string name = smolvlm::ggml_type_name(t) + "/" + k::isa_name(isa);
      // Decode: ~256 MB of weights, 1536 wide (a multiple of every block size).
      const int64_t cols = 1536;
      const int64_t rows = std::max<int64_t>(64, ((int64_t(256) << 20) / int64_t(smolvlm::ggml_row_size(t, cols))) / 64 * 64);
      // n2, n4, n8: the decode steps of several sequences batched (the server's parallel slots).
      for (int64_t n : {int64_t(1), int64_t(2), int64_t(4), int64_t(8)}) {
        if (isa == k::Isa::kScalar) break;
        benchmark::RegisterBenchmark(("BM_Matmul/" + name + "/n" + std::to_string(n)).c_str(), BM_Matmul, t, isa, rows,
                                     cols, n, k::SumOrder::kGgml)
            ->UseRealTime()->Unit(benchmark::kMillisecond);
      }
      // Prefill: SmolVLM2-256M's ffn_up (1536 x 576), or ffn_down (576 x 1536) for K-quants.
      const bool k_quant = smolvlm::ggml_type_info(t).block_size == 256;
      const int64_t pr = k_quant ? 576 : 1536, pc = k_quant ? 1536 : 576;
      // Decode from cache (the same real-shape matrix as prefill): compute speed without DRAM.
      if (isa != k::Isa::kScalar)
        benchmark::RegisterBenchmark(("BM_Matmul/" + name + "/n1hot").c_str(), BM_Matmul, t, isa, pr, pc, 1,
                                     k::SumOrder::kGgml)
            ->UseRealTime()->Unit(benchmark::kMicrosecond);
      for (int64_t n : {int64_t(64), int64_t(512)}) {
        if (isa == k::Isa::kScalar && n > 64) continue;
        benchmark::RegisterBenchmark(("BM_Matmul/" + name + "/n" + std::to_string(n)).c_str(), BM_Matmul, t, isa, pr,
                                     pc, n, k::SumOrder::kGgml)
            ->UseRealTime()->Unit(benchmark::kMillisecond);
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
