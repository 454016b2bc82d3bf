// Batched decode (TextModel::decode_batch: one pass for the next token of B sequences, as the
// server runs OLLAMA_NUM_PARALLEL > 1) against B = 1, on a text GGUF given by SMOLVLM_BENCH_TEXT
// (e.g. the real-shape 256M Q8_0 from `smolvlm dev random` + convert + quantize). Each sequence
// holds a 64-token prompt; every iteration decodes one token for each of the B sequences, then
// rolls the caches back. Counters: tok_per_s (B tokens per pass), pass_ms, and weight_GBps (the
// weight bytes one pass reads / its time: what batching amortises). Threads: SMOLVLM_BENCH_THREADS
// (default 2).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "kernels/thread_pool.h"
#include "model/text/text_model.h"

namespace {

using namespace smolvlm;

int bench_threads() {
  const char* e = std::getenv("SMOLVLM_BENCH_THREADS");
  return e && *e ? std::atoi(e) : 2;
}

const TextModel* model() {
  static std::unique_ptr<TextModel> m = [] {
    const char* path = std::getenv("SMOLVLM_BENCH_TEXT");
    return path && *path ? std::make_unique<TextModel>(TextModel::open(path)) : nullptr;
  }();
  return m.get();
}

void BM_DecodeBatch(benchmark::State& state) {
  const TextModel* m = model();
  if (m == nullptr) {
    state.SkipWithError("set SMOLVLM_BENCH_TEXT to a text GGUF");
    return;
  }
  static kernels::ThreadPool pool(bench_threads());
  const int64_t B = state.range(0), V = m->config().n_vocab;
  std::vector<TextState> states;
  std::vector<int32_t> prompt(64);
  std::iota(prompt.begin(), prompt.end(), 100);
  std::vector<float> last(static_cast<size_t>(V));
  TextStateOptions o;
  o.n_ctx = 128;
  for (int64_t b = 0; b < B; ++b) {
    states.push_back(m->new_state(o));
    m->forward(TextInput::tokens(prompt), states.back(), LogitRows::kLast, last.data(), pool);
  }
  std::vector<TextState*> ptrs;
  for (TextState& s : states) ptrs.push_back(&s);
  TextActivations act = m->new_activations(B);
  std::vector<float> logits(static_cast<size_t>(B * V));
  std::vector<int32_t> ids(static_cast<size_t>(B), 42);
  for (auto _ : state) {
    m->decode_batch(ids, ptrs, act, logits.data(), pool);
    for (TextState& s : states) s.truncate(64);
  }
  uint64_t bytes = 0;
  for (const GgufTensorInfo& t : m->file().tensors())
    if (t.name != "token_embd.weight") bytes += t.nbytes;
  const double passes = static_cast<double>(state.iterations());
  state.counters["tok_per_s"] = benchmark::Counter(passes * static_cast<double>(B), benchmark::Counter::kIsRate);
  state.counters["pass_ms"] = benchmark::Counter(passes / 1e3, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["weight_GBps"] = benchmark::Counter(passes * static_cast<double>(bytes) / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DecodeBatch)->Arg(1)->Arg(2)->Arg(4)->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
