// The Vulkan backend's heavy ops alone, at SmolVLM2's real shapes, on one device: the one
// SMOLVLM_DEVICE names (an index or a name substring), else the default GPU, else lavapipe.
//   BM_GpuVisionMatmul    one tile's fc1: [1024 patches, 768] x [3072, 768]^T, per weight type
//   BM_GpuPrefillMatmul   a 512-token prefill's gate projection: [512, 576] x [1536, 576]^T
//   BM_GpuVisionAttention one tile's attention in one layer: 1024 x 1024 patches, 12 heads of 64,
//                         bidirectional (the 2.2B: 729 patches, 16 heads of 72)
//   BM_RecordDecodeDispatches  the host's cost of recording a decode step's 330 dispatches
//   BM_DecodeStepPass     a decode step's shape of pass run to its end: 240 small dependent matvecs
//                         (SMOLVLM_VK_SUBMIT_EVERY=0 submits it whole after recording it, the default
//                         in chunks while recording: the difference is what the overlap buys)
// Each pass records kReps of the op and waits once, so the time is the GPU's, not the submit's.
// Wall time (UseRealTime). Counters: GFLOPs (2 per multiply-add; attention 4 n^2 d per head), and the label says which matmul
// tiles ran (tensor cores: NV cooperative matrix; shader cores). Switches: SMOLVLM_VK_* as ever
// (SMOLVLM_VK_NO_COOPMAT=1, SMOLVLM_VK_MATMUL_TILE=128, SMOLVLM_VK_ATTN_NARROW=1).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/vulkan/vulkan_backend.h"
#include "kernels/thread_pool.h"
#include "quant/quant.h"

namespace {

using namespace smolvlm;
using backend::Tensor;

constexpr int kReps = 8;

backend::Device* gpu(std::string* why) {
  static std::string error;
  static const std::shared_ptr<backend::Device> device = [] {
    const char* spec = std::getenv("SMOLVLM_DEVICE");
    return vk::open_backend_for_tests(spec != nullptr ? spec : "", &error);
  }();
  *why = error;
  return device.get();
}

kernels::ThreadPool& pool() {
  static kernels::ThreadPool p(1);
  return p;
}

std::vector<float> random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// Device tensors of one benchmark, filled with random values.
struct Arena {
  backend::Device& d;
  std::vector<std::unique_ptr<backend::Buffer>> bufs;
  Tensor make(int64_t rows, int64_t cols, uint32_t seed) {
    bufs.push_back(d.alloc(size_t(rows * cols) * sizeof(float), "bench tensor"));
    const Tensor t{bufs.back().get(), 0, GgmlType::F32, rows, cols};
    const std::vector<float> v = random(size_t(rows * cols), seed);
    auto ops = d.begin(pool());
    ops->write(t, v.data());
    ops->finish();
    return t;
  }
};

// A random weight [rows, cols] of `type` on the device.
std::unique_ptr<backend::Matrix> random_weight(backend::Device& d, GgmlType type, int64_t rows, int64_t cols) {
  const std::vector<float> wf = random(size_t(rows * cols), 1);
  std::vector<uint8_t> wb(ggml_row_size(type, cols) * size_t(rows));
  quantize_rows(type, wf.data(), wb.data(), rows, cols);
  return d.upload({type, rows, cols, wb.data()}, kernels::SumOrder::kFastest);
}

void BM_Matmul(benchmark::State& state, GgmlType type, int64_t tokens, int64_t rows, int64_t cols) {
  std::string why;
  backend::Device* d = gpu(&why);
  if (d == nullptr) return state.SkipWithError(why.c_str());
  const auto w = random_weight(*d, type, rows, cols);
  Arena a{*d, {}};
  const Tensor x = a.make(tokens, cols, 2), y = a.make(tokens, rows, 3);
  for (auto _ : state) {
    auto ops = d->begin(pool());
    for (int r = 0; r < kReps; ++r) ops->matmul(*w, x, y);
    ops->finish();
  }
  state.counters["GFLOPs"] = benchmark::Counter(2.0 * double(tokens * rows * cols) * kReps * double(state.iterations()) * 1e-9,
                                                benchmark::Counter::kIsRate);
  state.SetLabel(d->name() + ", " + ggml_type_name(type) + ", " + (vk::uses_tensor_cores(*d) ? "tensor cores" : "shader cores"));
}

void BM_Attention(benchmark::State& state, int64_t n, int64_t heads, int64_t head_dim) {
  std::string why;
  backend::Device* d = gpu(&why);
  if (d == nullptr) return state.SkipWithError(why.c_str());
  Arena a{*d, {}};
  const int64_t C = heads * head_dim;
  const Tensor q = a.make(n, C, 4), k = a.make(n, C, 5), v = a.make(n, C, 6), out = a.make(n, C, 7);
  for (auto _ : state) {
    auto ops = d->begin(pool());
    for (int r = 0; r < kReps; ++r)
      ops->attention({.q = q, .k = k, .v = v, .out = out, .n_kv = n, .n_heads = heads, .n_kv_heads = heads,
                      .head_dim = head_dim, .causal = false, .scale = 1.0f / 8});
    ops->finish();
  }
  state.counters["GFLOPs"] = benchmark::Counter(4.0 * double(n * n * C) * kReps * double(state.iterations()) * 1e-9,
                                                benchmark::Counter::kIsRate);
  state.SetLabel(d->name());
}

// The host's side of a decode step: recording a 256M step's worth of matvec dispatches (30 layers x 11)
// into command buffers (and submitting the chunks that fill, recorder.h), then dropping the pass: the
// wait for chunks in flight is not timed. Counter: us_per_dispatch (smolvlm's binding, pipeline lookup
// and barrier tracking, the driver's vkCmd* recording, the chunks' vkQueueSubmit).
void BM_RecordDecodeDispatches(benchmark::State& state) {
  std::string why;
  backend::Device* d = gpu(&why);
  if (d == nullptr) return state.SkipWithError(why.c_str());
  constexpr int64_t kRows = 64, kCols = 576, kDispatches = 330;
  const auto w = random_weight(*d, GgmlType::Q8_0, kRows, kCols);
  Arena a{*d, {}};
  const Tensor x = a.make(1, kCols, 2), y = a.make(2, kRows, 3);
  for (auto _ : state) {
    auto ops = d->begin(pool());
    for (int64_t i = 0; i < kDispatches; ++i) ops->matmul(*w, x, y.slice(i % 2, 1));  // a chain of dependent writes
    state.PauseTiming();
    ops.reset();  // abandoned: the last chunk never submitted
    state.ResumeTiming();
  }
  state.counters["us_per_dispatch"] = benchmark::Counter(double(kDispatches) * double(state.iterations()) * 1e-6,
                                                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetLabel(d->name());
}

// A pass of a decode step's shape run to its end: 30 layers of 8 matvecs [576, 576] x 1 token (Q8_0),
// each reading the one before's output, then the wait. Counter: us_per_dispatch. On a GPU the time is
// the dispatches' latency plus what of the recording the device waits for.
void BM_DecodeStepPass(benchmark::State& state) {
  std::string why;
  backend::Device* d = gpu(&why);
  if (d == nullptr) return state.SkipWithError(why.c_str());
  constexpr int64_t kDim = 576, kDispatches = 240;
  const auto w = random_weight(*d, GgmlType::Q8_0, kDim, kDim);
  Arena a{*d, {}};
  const Tensor h = a.make(2, kDim, 2);
  for (auto _ : state) {
    auto ops = d->begin(pool());
    for (int64_t i = 0; i < kDispatches; ++i) ops->matmul(*w, h.slice(i % 2, 1), h.slice(1 - i % 2, 1));
    ops->finish();
  }
  state.counters["us_per_dispatch"] = benchmark::Counter(double(kDispatches) * double(state.iterations()) * 1e-6,
                                                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetLabel(d->name());
}

BENCHMARK(BM_RecordDecodeDispatches)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_DecodeStepPass)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Matmul, VisionFc1_F16, GgmlType::F16, 1024, 3072, 768)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Matmul, VisionFc1_Q8_0, GgmlType::Q8_0, 1024, 3072, 768)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Matmul, VisionFc1_F32, GgmlType::F32, 1024, 3072, 768)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Matmul, PrefillGate_Q8_0, GgmlType::Q8_0, 512, 1536, 576)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Matmul, PrefillGate_Q5_0, GgmlType::Q5_0, 512, 1536, 576)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Attention, Vision256M, 1024, 12, 64)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Attention, Vision2B, 729, 16, 72)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
