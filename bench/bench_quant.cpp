// Throughput of the reference block codecs: quantize / dequantize one 4096-wide row per type
// (bytes/s counts the float32 side), and quantize_rows on a 256 x 4096 matrix for the K types.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "quant/quant.h"

namespace {

using smolvlm::GgmlType;

constexpr int64_t kCols = 4096;

const GgmlType kTypes[] = {GgmlType::F16,  GgmlType::BF16, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0,
                           GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q8_1, GgmlType::Q4_K, GgmlType::Q5_K,
                           GgmlType::Q6_K, GgmlType::Q8_K};

std::vector<float> weights(int64_t n) {
  std::mt19937 rng(42);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

void BM_Quantize(benchmark::State& state, GgmlType t) {
  const auto x = weights(kCols);
  std::vector<uint8_t> q(smolvlm::ggml_row_size(t, kCols));
  for (auto _ : state) {
    smolvlm::quantize_row(t, x.data(), q.data(), kCols);
    benchmark::DoNotOptimize(q.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kCols * int64_t(sizeof(float)));
}

void BM_Dequantize(benchmark::State& state, GgmlType t) {
  const auto x = weights(kCols);
  std::vector<uint8_t> q(smolvlm::ggml_row_size(t, kCols));
  smolvlm::quantize_row(t, x.data(), q.data(), kCols);
  std::vector<float> y(kCols);
  for (auto _ : state) {
    smolvlm::dequantize_row(t, q.data(), y.data(), kCols);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kCols * int64_t(sizeof(float)));
}

// state.range(0) = threads.
void BM_QuantizeRows(benchmark::State& state, GgmlType t) {
  const int64_t rows = 256;
  const auto x = weights(rows * kCols);
  std::vector<uint8_t> q(smolvlm::ggml_row_size(t, kCols) * rows);
  for (auto _ : state) {
    smolvlm::quantize_rows(t, x.data(), q.data(), rows, kCols, static_cast<int>(state.range(0)));
    benchmark::DoNotOptimize(q.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * rows * kCols * int64_t(sizeof(float)));
}

}  // namespace

int main(int argc, char** argv) {
  for (GgmlType t : kTypes) {
    const std::string name = smolvlm::ggml_type_name(t);
    benchmark::RegisterBenchmark(("quantize/" + name).c_str(), BM_Quantize, t);
    benchmark::RegisterBenchmark(("dequantize/" + name).c_str(), BM_Dequantize, t);
  }
  for (GgmlType t : {GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K}) {
    benchmark::RegisterBenchmark(("quantize_rows/" + smolvlm::ggml_type_name(t)).c_str(), BM_QuantizeRows, t)
        ->Arg(1)
        ->Arg(2)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
