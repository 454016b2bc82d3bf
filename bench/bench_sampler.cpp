// Cost of one Sampler::sample() on a SmolVLM2-wide (49280) logits row: Ollama's defaults
// (temperature 0.8, top_k 40, top_p 0.9, repeat_penalty over 64 tokens), greedy, and top_p alone
// (no top_k: the sorted-head path).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "runtime/sampler.h"

namespace {

using namespace smolvlm;

constexpr size_t kVocab = 49280;

std::vector<float> row() {
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.0f, 3.0f);
  std::vector<float> v(kVocab);
  for (float& x : v) x = dist(rng);
  return v;
}

std::vector<int32_t> history() {
  std::vector<int32_t> h(512);
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<int32_t>((i * 7919) % kVocab);
  return h;
}

void run(benchmark::State& state, SamplerParams p) {
  const auto logits = row();
  const auto hist = history();
  p.seed = 1;
  Sampler s(p);
  for (auto _ : state) benchmark::DoNotOptimize(s.sample(logits, hist));
  state.SetItemsProcessed(state.iterations());
}

void BM_SampleDefaults(benchmark::State& state) {
  SamplerParams p;
  p.repeat_penalty = 1.1f;
  run(state, p);
}

void BM_SampleGreedy(benchmark::State& state) {
  SamplerParams p;
  p.temperature = 0.0f;
  run(state, p);
}

void BM_SampleTopPOnly(benchmark::State& state) {
  SamplerParams p;
  p.top_k = 0;
  run(state, p);
}

BENCHMARK(BM_SampleDefaults);
BENCHMARK(BM_SampleGreedy);
BENCHMARK(BM_SampleTopPOnly);

}  // namespace

BENCHMARK_MAIN();
