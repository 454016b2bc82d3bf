// Tokenizer throughput, single thread, on the real SmolVLM tokenizer (../shared/tokenizer, or
// $SMOLVLM_SHARED/tokenizer) and a large text: every *.md file under ../shared concatenated
// (~300 KB of English technical prose, tables, code and some Unicode).
//   Encode       steady state (the per-word BPE cache is warm after the first iteration)
//   EncodeCold   a fresh tokenizer per iteration (cache empty: the first pass over a text)
//   Decode       ids -> text; StreamDecode the same through TokenStreamDecoder
// Counters: tokens/s (ids produced or consumed) and bytes/s of text. Skipped (with a message)
// when the shared folder is absent.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "convert/hf_vocab.h"
#include "tokenizer/tokenizer.h"

namespace {

namespace fs = std::filesystem;
using smolvlm::Tokenizer;
using smolvlm::VocabSpec;

fs::path shared_dir() {
  if (const char* env = std::getenv("SMOLVLM_SHARED")) return env;
  return fs::path(__FILE__).parent_path().parent_path().parent_path() / "shared";
}

struct Fixture {
  VocabSpec spec;
  std::unique_ptr<Tokenizer> tok;
  std::string text;
  std::vector<int32_t> ids;
  std::string missing;  // why the benchmarks skip
};

VocabSpec load_spec(const fs::path& dir) {
  const auto config = nlohmann::json::parse(smolvlm::read_file((dir / "config.json").string()));
  const smolvlm::HfVocab v = smolvlm::load_hf_vocab(dir.string(), 49280, config);
  VocabSpec s;
  s.tokens = v.tokens;
  s.token_types = v.token_types;
  s.merges = v.merges;
  s.pre = v.pre;
  for (const auto& [type, id] : v.special_ids) {
    if (type == "eos") s.eos_id = static_cast<int32_t>(id);
    if (type == "bos") s.bos_id = static_cast<int32_t>(id);
  }
  return s;
}

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture f;
    const fs::path shared = shared_dir();
    const fs::path tok_dir = shared / "tokenizer" / "smolvlm-256m-instruct";
    if (!fs::exists(tok_dir / "tokenizer.json")) {
      f.missing = tok_dir.string() + " is not available";
      return f;
    }
    std::vector<fs::path> docs;
    for (const auto& e : fs::recursive_directory_iterator(shared)) {
      if (e.is_regular_file() && e.path().extension() == ".md") docs.push_back(e.path());
    }
    std::sort(docs.begin(), docs.end());
    for (const auto& p : docs) f.text += smolvlm::read_file(p.string());
    f.spec = load_spec(tok_dir);
    f.tok = std::make_unique<Tokenizer>(f.spec);
    f.ids = f.tok->encode(f.text);
    return f;
  }();
  return f;
}

bool skip_if_missing(benchmark::State& state) {
  if (fixture().missing.empty()) return false;
  state.SkipWithError(fixture().missing.c_str());
  return true;
}

void set_counters(benchmark::State& state, const Fixture& f) {
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(f.text.size()));
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(f.ids.size()) * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["tokens"] = static_cast<double>(f.ids.size());
}

void BM_Encode(benchmark::State& state) {
  if (skip_if_missing(state)) return;
  const Fixture& f = fixture();
  for (auto _ : state) benchmark::DoNotOptimize(f.tok->encode(f.text));
  set_counters(state, f);
}

void BM_EncodeCold(benchmark::State& state) {
  if (skip_if_missing(state)) return;
  const Fixture& f = fixture();
  for (auto _ : state) {
    state.PauseTiming();
    auto fresh = std::make_unique<Tokenizer>(f.spec);
    state.ResumeTiming();
    benchmark::DoNotOptimize(fresh->encode(f.text));
    state.PauseTiming();
    fresh.reset();
    state.ResumeTiming();
  }
  set_counters(state, f);
}

void BM_Decode(benchmark::State& state) {
  if (skip_if_missing(state)) return;
  const Fixture& f = fixture();
  for (auto _ : state) benchmark::DoNotOptimize(f.tok->decode(f.ids, true));
  set_counters(state, f);
}

void BM_StreamDecode(benchmark::State& state) {
  if (skip_if_missing(state)) return;
  const Fixture& f = fixture();
  for (auto _ : state) {
    smolvlm::TokenStreamDecoder dec(*f.tok);
    size_t n = 0;
    for (const int32_t id : f.ids) n += dec.push(id).size();
    n += dec.flush().size();
    benchmark::DoNotOptimize(n);
  }
  set_counters(state, f);
}

BENCHMARK(BM_Encode)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EncodeCold)->Unit(benchmark::kMillisecond)->Iterations(5);
BENCHMARK(BM_Decode)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_StreamDecode)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
