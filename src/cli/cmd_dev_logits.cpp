// `smolvlm dev logits MODEL.gguf (--ids 1,2,3 | --text TEXT [--mmproj MMPROJ --image IMG ...])
//                    [--all-positions] [--out FILE.npy] [--greedy N] [--threads N] [--kv-type f16|f32]
//                    [--batch N] [--ctx N] [--max-tiles N]`
//
// --text is tokenized (special tokens parsed, nothing added); each "<image>" in it takes the next
// --image, expanded and embedded exactly as `run` does (transformers' processor, our encoder), so
// a whole image prompt's logits can be dumped. Evaluates the token ids as one prompt (positions 0 .. n-1, prefill in chunks of --batch) on a
// llama text GGUF and
//   --out FILE.npy   writes the logits as float32 [positions, n_vocab]: every prompt position with
//                    --all-positions, else only the last one ([1, n_vocab]);
//   --greedy N       prints the N-token greedy continuation on one line, ids separated by spaces
//                    (argmax, lowest id wins ties, end-of-generation ids not special, token s fed
//                    at position n + s: the protocol of the golden files);
//   neither          prints the top 5 ids of the last position.
// --ctx defaults to max(min(trained context, 4096), n + N); SMOLVLM_FORCE_ISA picks the kernels.
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "base/error.h"
#include "cli/command.h"
#include "cli/npy.h"
#include "cli/run_options.h"
#include "kernels/thread_pool.h"
#include "model/text/text_generate.h"
#include "model/text/text_model.h"
#include "runtime/loaded_model.h"
#include "runtime/media_encoder.h"

namespace smolvlm::cli {
namespace {

struct LogitsArgs {
  std::string model;
  std::vector<int32_t> ids;
  std::string text;
  std::string mmproj;
  std::vector<std::string> images;
  int max_tiles = 0;
  bool all_positions = false;
  std::string out;
  int64_t greedy = 0;
  int threads = 0;
  std::string kv_type = "f16";
  int64_t batch = 512;
  int64_t ctx = 0;
  int64_t num_gpu = 0;  // the CPU unless asked: the parity tool, bit-exact with llama.cpp there
  std::string device;
};
LogitsArgs args;

void print_top(const float* logits, int64_t V, int64_t position) {
  std::vector<int32_t> order(static_cast<size_t>(V));
  std::iota(order.begin(), order.end(), 0);
  const size_t k = std::min<size_t>(5, order.size());
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  std::printf("position %lld top %zu:", static_cast<long long>(position), k);
  for (size_t i = 0; i < k; ++i) std::printf(" %d (%.6g)", order[i], logits[order[i]]);
  std::printf("\n");
}

int run_logits(const LogitsArgs& a) {
  if (a.ids.empty() == a.text.empty()) fail("give the prompt as either --ids or --text");
  if (!a.images.empty() && a.mmproj.empty()) fail("--image needs --mmproj (the vision projector GGUF)");
  LoadOptions load;
  load.num_gpu = a.num_gpu;
  load.device = a.device;
  load.n_ctx = a.ctx;
  load.kv_type = a.kv_type == "f32" ? GgmlType::F32 : GgmlType::F16;
  const auto loaded = LoadedModel::load(a.model, a.mmproj, load);
  if (a.num_gpu != 0) std::fprintf(stderr, "%s\n", loaded->offload().summary.c_str());
  const TextModel& model = loaded->text();
  kernels::ThreadPool pool(a.threads);
  Prompt prompt;
  if (!a.text.empty()) {
    std::vector<std::shared_ptr<const EncodedMedia>> items;
    if (!a.images.empty()) {
      MediaEncoder media(loaded);
      MediaOptions mo;
      mo.max_tiles = a.max_tiles;
      for (const std::string& path : a.images) items.push_back(media.file(path, mo, pool));
    }
    prompt = build_prompt(loaded->tokenizer(), a.text, items);
  } else {
    prompt.ids = a.ids;
  }
  std::vector<EmbeddingSpan> spans;
  for (const PromptMedia& m : prompt.media) spans.push_back({m.first, m.n, m.rows, m.on_device});
  const int64_t n = static_cast<int64_t>(prompt.ids.size()), V = model.config().n_vocab;
  TextStateOptions o;
  o.kv_type = a.kv_type == "f32" ? GgmlType::F32 : GgmlType::F16;
  o.n_batch = a.batch;
  o.n_ctx = a.ctx > 0 ? a.ctx
                      : std::max(std::min(model.config().n_ctx_train, TextStateOptions::kDefaultCtx), n + a.greedy);
  TextState state = model.new_state(o);

  const LogitRows rows = a.all_positions ? LogitRows::kAll : LogitRows::kLast;
  const int64_t n_rows = a.all_positions ? n : 1;
  std::vector<float> logits(static_cast<size_t>(n_rows * V));
  model.forward(TextInput::tokens(prompt.ids, spans), state, rows, logits.data(), pool);
  const std::span<const float> last(logits.data() + (n_rows - 1) * V, static_cast<size_t>(V));

  if (!a.out.empty()) write_npy_f32(a.out, {n_rows, V}, logits);
  if (a.greedy > 0) {
    const std::vector<int32_t> ids = greedy_continuation(model, state, last, a.greedy, pool);
    for (size_t i = 0; i < ids.size(); ++i) std::printf(i ? " %d" : "%d", ids[i]);
    std::printf("\n");
  }
  if (a.out.empty() && a.greedy <= 0) print_top(last.data(), V, n - 1);
  return 0;
}

const CommandRegistrar kRegistrar{Command{
    "logits",
    [](CLI::App& app) {
      CLI::App* sub = app.add_subcommand(
          "logits", "Evaluate token ids on a llama text GGUF: logits as .npy, greedy continuation");
      sub->footer(
          "Output: --out writes float32 .npy [positions, n_vocab] (every prompt position with --all-positions,\n"
          "else [1, n_vocab] for the last one). --greedy N prints N ids on one line, space-separated: argmax\n"
          "(lowest id wins ties; end-of-generation ids are not special), token s fed at position n_ids + s.\n"
          "Without --out or --greedy the top 5 ids of the last position are printed. SMOLVLM_FORCE_ISA=\n"
          "scalar|avx2|avx512 forces the kernels.");
      sub->add_option("model", args.model, "Text GGUF file (architecture llama)")->required()->check(CLI::ExistingFile);
      sub->add_option("--ids", args.ids, "Prompt token ids, comma-separated (positions 0, 1, ...)")->delimiter(',');
      sub->add_option("--text", args.text, "Prompt text instead of --ids (special tokens parsed; <image> per image)");
      sub->add_option("--mmproj", args.mmproj, "Vision projector GGUF (for --image)")->check(CLI::ExistingFile);
      sub->add_option("--image", args.images, "Image for the next <image> of --text (repeatable)")
          ->check(CLI::ExistingFile)
          ->allow_extra_args(false)
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
      sub->add_option("--max-tiles", args.max_tiles, "At most this many tiles per image (0: full resolution)")
          ->check(CLI::NonNegativeNumber);
      sub->add_flag("--all-positions", args.all_positions,
                    "Logits of every prompt position in --out (default: the last position only)");
      sub->add_option("--out,-o", args.out, "Write the logits as float32 .npy [positions, n_vocab]");
      sub->add_option("--greedy", args.greedy, "Print the N-token greedy continuation (ids, one line)")
          ->check(CLI::NonNegativeNumber);
      sub->add_option("--threads,-t", args.threads, "Threads (default: the physical performance cores)")
          ->check(CLI::NonNegativeNumber);
      sub->add_option("--kv-type", args.kv_type, "KV cache type")->check(CLI::IsMember({"f16", "f32"}))
          ->capture_default_str();
      sub->add_option("--batch,-b", args.batch, "Prompt tokens per prefill pass")
          ->check(CLI::PositiveNumber)
          ->capture_default_str();
      add_device_options(sub, args.num_gpu, args.device, /*cpu_default=*/true);
      add_exact_flag(sub);
      sub->add_option("--ctx,-c", args.ctx, "Context size (default: min(trained, 4096), at least the tokens run)")
          ->check(CLI::NonNegativeNumber);
      return sub;
    },
    [] { return run_logits(args); },
    100,
    "dev"}};

}  // namespace
}  // namespace smolvlm::cli
