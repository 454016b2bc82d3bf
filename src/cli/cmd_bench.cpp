// `smolvlm bench MODEL.gguf [--threads N] [--json] [-p 512] [-n 128] [-r 5] [--kv-type f16|f32]
//                [--batch 512]`
//
// Text-model speed like llama-bench: pp<P> = P random prompt tokens prefilled into an empty cache
// (logits of the last one only), tg<N> = N single-token decode steps from an empty cache; each is
// the median over the repeats (after one warm-up run), in tokens per second. The decode bound is
// measured here too: bound_tg = streaming-read bandwidth (same threads, buffer >> L3; the higher of
// a measurement before and one after the runs) / weight bytes read per token (every matmul weight
// incl. lm_head; not token_embd, a row lookup).
// --json prints {"pp512", "tg128", "bound_tg", "bandwidth_gbs", "bandwidth_before_after_gbs",
// "weight_bytes_per_token", "tg_of_bound", "isa", "threads", "model", "kv_type", "repeats"}.
// SMOLVLM_FORCE_ISA=scalar|avx2|avx512 forces the kernels.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/error.h"
#include "cli/bench_image.h"
#include "cli/command.h"
#include "cli/memory_bandwidth.h"
#include "kernels/isa.h"
#include "kernels/thread_pool.h"
#include "model/text/text_model.h"

namespace smolvlm::cli {
namespace {

struct BenchArgs {
  std::string model;
  int threads = 0;
  bool json = false;
  int64_t n_prompt = 512;
  int64_t n_gen = 128;
  int repeats = 5;
  std::string kv_type = "f16";
  int64_t batch = 512;
  std::string mmproj, image;
  int image_repeats = 3;
};
BenchArgs args;

struct Stat {
  double median = 0, min = 0, max = 0;  // tokens per second
};

Stat stats(std::vector<double> tps) {
  std::sort(tps.begin(), tps.end());
  const size_t n = tps.size();
  return {n % 2 ? tps[n / 2] : 0.5 * (tps[n / 2 - 1] + tps[n / 2]), tps.front(), tps.back()};
}

// Deterministic token ids spread over the vocabulary (like llama-bench's random prompt).
std::vector<int32_t> bench_tokens(int64_t n, int64_t n_vocab) {
  std::vector<int32_t> ids(static_cast<size_t>(n));
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (auto& id : ids) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    id = static_cast<int32_t>((x >> 33) % static_cast<uint64_t>(n_vocab));
  }
  return ids;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void print_table(const BenchArgs& a, const TextModel& model, const kernels::ThreadPool& pool, double bandwidth,
                 double bandwidth_before, double bandwidth_after, size_t weight_bytes, const std::vector<double>& pp,
                 const std::vector<double>& tg) {
  const double bound_tg = bandwidth * 1e9 / static_cast<double>(weight_bytes);
  const std::string name = std::filesystem::path(a.model).filename().string();
  const std::string isa = kernels::isa_name(kernels::active_isa());
  const std::string pp_key = cat("pp", a.n_prompt), tg_key = cat("tg", a.n_gen);
  std::printf("model %s: %s\n", name.c_str(), model.config().summary().c_str());
  std::printf("| %-24s | %-6s | %7s | %-8s | %26s |\n", "model", "isa", "threads", "test", "t/s (median; min-max)");
  std::printf("| %s | %s | %s | %s | %s |\n", std::string(24, '-').c_str(), std::string(6, '-').c_str(),
              std::string(7, '-').c_str(), std::string(8, '-').c_str(), std::string(26, '-').c_str());
  auto row = [&](const std::string& test, const std::vector<double>& v) {
    if (v.empty()) return;
    const Stat s = stats(v);
    const std::string range = cat(" (", std::lround(s.min), "-", std::lround(s.max), ")");
    std::printf("| %-24s | %-6s | %7d | %-8s | %9.2f%-17s |\n", name.c_str(), isa.c_str(), pool.size(), test.c_str(),
                s.median, range.c_str());
  };
  row(pp_key, pp);
  row(tg_key, tg);
  std::printf("| %-24s | %-6s | %7d | %-8s | %9.2f%-17s |\n", name.c_str(), isa.c_str(), pool.size(), "bound tg",
              bound_tg, "");
  std::printf("bound tg = %.2f GB/s read bandwidth (max of %.2f before, %.2f after) / %.1f MB of weights per token",
              bandwidth, bandwidth_before, bandwidth_after, static_cast<double>(weight_bytes) / 1e6);
  if (!tg.empty()) std::printf("; %s reaches %.0f%% of it", tg_key.c_str(), 100.0 * stats(tg).median / bound_tg);
  std::printf("\n");
}

int run_bench(const BenchArgs& a) {
  const TextModel model = TextModel::open(a.model);
  const int64_t V = model.config().n_vocab;
  kernels::ThreadPool pool(a.threads);
  TextStateOptions o;
  o.n_ctx = std::max<int64_t>(1, std::max(a.n_prompt, a.n_gen));
  o.kv_type = a.kv_type == "f32" ? GgmlType::F32 : GgmlType::F16;
  o.n_batch = a.batch;
  TextState state = model.new_state(o);
  const std::vector<int32_t> tokens = bench_tokens(std::max(a.n_prompt, a.n_gen), V);
  std::vector<float> logits(static_cast<size_t>(V));

  auto prefill = [&] {
    state.clear();
    const auto t0 = std::chrono::steady_clock::now();
    model.forward(TextInput::tokens({tokens.data(), size_t(a.n_prompt)}), state, LogitRows::kLast, logits.data(), pool);
    return static_cast<double>(a.n_prompt) / seconds_since(t0);
  };
  auto generate = [&] {
    state.clear();
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < a.n_gen; ++i)
      model.forward(TextInput::tokens({&tokens[size_t(i)], 1}), state, LogitRows::kLast, logits.data(), pool);
    return static_cast<double>(a.n_gen) / seconds_since(t0);
  };

  // The machine's bandwidth drifts (other tenants, clocks): measured before and after the runs,
  // and the higher of the two makes the bound.
  const double bandwidth_before = measure_read_bandwidth(pool);
  std::vector<double> pp, tg;
  if (a.n_prompt > 0) {
    prefill();  // warm-up
    for (int r = 0; r < a.repeats; ++r) pp.push_back(prefill());
  }
  if (a.n_gen > 0) {
    generate();  // warm-up
    for (int r = 0; r < a.repeats; ++r) tg.push_back(generate());
  }
  const double bandwidth_after = measure_read_bandwidth(pool);
  const double bandwidth = std::max(bandwidth_before, bandwidth_after);
  const size_t weight_bytes = model.weights().matmul_bytes();
  const double bound_tg = bandwidth * 1e9 / static_cast<double>(weight_bytes);

  const std::string name = std::filesystem::path(a.model).filename().string();
  const std::string isa = kernels::isa_name(kernels::active_isa());
  const std::string pp_key = cat("pp", a.n_prompt), tg_key = cat("tg", a.n_gen);
  nlohmann::ordered_json image;
  if (!a.image.empty()) {
    if (!a.json) print_table(a, model, pool, bandwidth, bandwidth_before, bandwidth_after, weight_bytes, pp, tg);
    image = bench_image({a.model, a.mmproj, a.image, a.image_repeats}, pool, a.json);
    if (!a.json) return 0;
  }
  if (a.json) {
    nlohmann::ordered_json j;
    if (!pp.empty()) j[pp_key] = stats(pp).median;
    if (!tg.empty()) j[tg_key] = stats(tg).median;
    j["bound_tg"] = bound_tg;
    j["bandwidth_gbs"] = bandwidth;
    j["bandwidth_before_after_gbs"] = {bandwidth_before, bandwidth_after};
    j["weight_bytes_per_token"] = weight_bytes;
    if (!tg.empty()) j["tg_of_bound"] = stats(tg).median / bound_tg;
    j["isa"] = isa;
    j["threads"] = pool.size();
    j["model"] = name;
    j["kv_type"] = a.kv_type;
    j["repeats"] = a.repeats;
    for (const auto& [k, v] : image.items()) j[k] = v;
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  print_table(a, model, pool, bandwidth, bandwidth_before, bandwidth_after, weight_bytes, pp, tg);
  return 0;
}

const CommandRegistrar kRegistrar{Command{
    "bench",
    [](CLI::App& app) {
      CLI::App* sub = app.add_subcommand("bench", "Measure prefill (pp) and decode (tg) speed of a text GGUF, "
                                                  "like llama-bench, with the memory-bandwidth bound");
      sub->footer(
          "pp<P>: P random tokens prefilled into an empty cache; tg<N>: N single-token decode steps from an\n"
          "empty cache; tokens/s, median of the repetitions after one warm-up. bound_tg = measured streaming-\n"
          "read bandwidth (same threads, 512 MiB buffer, the higher of before and after the runs) / weight\n"
          "bytes per token (all matmul weights incl. the output matrix). --json keys: pp<P>, tg<N>, bound_tg,\n"
          "bandwidth_gbs, bandwidth_before_after_gbs, weight_bytes_per_token, tg_of_bound, isa, threads,\n"
          "model, kv_type, repeats. SMOLVLM_FORCE_ISA=scalar|avx2|avx512 applies.");
      sub->add_option("model", args.model, "Text GGUF file (architecture llama)")->required()->check(CLI::ExistingFile);
      sub->add_option("--threads,-t", args.threads, "Threads (default: physical cores)")
          ->check(CLI::NonNegativeNumber);
      sub->add_flag("--json", args.json, "Print one JSON object");
      sub->add_option("-p,--n-prompt", args.n_prompt, "Prompt tokens for the prefill test (0: skip)")
          ->check(CLI::NonNegativeNumber)
          ->capture_default_str();
      sub->add_option("-n,--n-gen", args.n_gen, "Decode steps for the generation test (0: skip)")
          ->check(CLI::NonNegativeNumber)
          ->capture_default_str();
      sub->add_option("-r,--repetitions", args.repeats, "Timed runs per test (the median is reported)")
          ->check(CLI::PositiveNumber)
          ->capture_default_str();
      sub->add_option("--kv-type", args.kv_type, "KV cache type")->check(CLI::IsMember({"f16", "f32"}))
          ->capture_default_str();
      sub->add_option("--batch,-b", args.batch, "Prompt tokens per prefill pass")
          ->check(CLI::PositiveNumber)
          ->capture_default_str();
      sub->add_option("--mmproj", args.mmproj, "Vision projector GGUF (with --image)")->check(CLI::ExistingFile);
      sub->add_option("--image", args.image, "Also time this image: one tile, the whole image, the image "
                                             "prompt's prefill and the time to first token")
          ->check(CLI::ExistingFile);
      sub->add_option("--image-repeats", args.image_repeats, "Timed runs of each image measure")
          ->check(CLI::PositiveNumber)
          ->capture_default_str();
      return sub;
    },
    [] {
      if (!args.image.empty() && args.mmproj.empty()) fail("--image needs --mmproj (the vision projector GGUF)");
      return run_bench(args);
    },
    60,
    {}}};

}  // namespace
}  // namespace smolvlm::cli
