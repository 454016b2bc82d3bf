// `smolvlm eval MODEL --base BASE --text FILE [--ctx N] [--mmproj M [--base-mmproj B] --images DIR]
// [--json]`: what a quantization costs. Both models read the same tokens: the text in windows of
// --ctx tokens, the second half of each window scored (llama-perplexity's way), and each image with
// a fixed question whose continuation is the base model's greedy answer. Reported: both
// perplexities, KL(base || model) (mean, 99th percentile, max), top-1 agreement and the tokens
// scored (runtime/eval_metrics.h). One window's logits at a time are held, never all of them.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/file_util.h"
#include "base/progress.h"
#include "cli/batch_inputs.h"
#include "cli/command.h"
#include "cli/run_options.h"
#include "kernels/thread_pool.h"
#include "model/text/text_generate.h"
#include "model/text/text_model.h"
#include "runtime/eval_metrics.h"
#include "runtime/loaded_model.h"
#include "runtime/media_encoder.h"
#include "tokenizer/chat_template.h"

namespace smolvlm::cli {
namespace {

namespace fs = std::filesystem;

struct EvalArgs {
  std::string model, base, text, mmproj, base_mmproj, images;
  std::string question = "Describe this image.";
  int64_t ctx = 512;
  int64_t answer_tokens = 64;
  int threads = 0;
  int64_t num_gpu = -1;
  std::string device;
  bool json = false;
};
EvalArgs args;

// Logits of every position of `ids` (with media rows spliced at `spans`), from a fresh state.
std::vector<float> all_logits(const LoadedModel& m, const std::vector<int32_t>& ids,
                              const std::vector<EmbeddingSpan>& spans, kernels::ThreadPool& pool) {
  const TextModel& model = m.text();
  const auto n = static_cast<int64_t>(ids.size());
  TextStateOptions o;
  o.n_ctx = n;
  TextState state = model.new_state(o);
  std::vector<float> logits(static_cast<size_t>(n * model.config().n_vocab));
  model.forward(TextInput::tokens(ids, spans), state, LogitRows::kAll, logits.data(), pool);
  return logits;
}

// Scores positions [first, last) of two logit matrices [n, V]: position j predicts ids[j + 1].
void score(EvalSummary& sum, const std::vector<float>& base, const std::vector<float>& model,
           const std::vector<int32_t>& ids, int64_t V, size_t first, size_t last) {
  for (size_t j = first; j < last; ++j) {
    const std::span<const float> b(base.data() + j * static_cast<size_t>(V), static_cast<size_t>(V));
    const std::span<const float> q(model.data() + j * static_cast<size_t>(V), static_cast<size_t>(V));
    sum.add(score_token(b, q, ids[j + 1]));
  }
}

std::vector<EmbeddingSpan> spans_of(const Prompt& p) {
  std::vector<EmbeddingSpan> spans;
  for (const PromptMedia& m : p.media) spans.push_back({m.first, m.n, m.rows, m.on_device});
  return spans;
}

void eval_text(const LoadedModel& base, const LoadedModel& model, EvalSummary& sum, kernels::ThreadPool& pool) {
  const std::vector<int32_t> tokens = base.tokenizer().encode(read_file(args.text), /*parse_special=*/false);
  const auto ctx = static_cast<size_t>(args.ctx);
  const size_t windows = tokens.size() / ctx;
  if (windows == 0)
    fail(args.text, ": ", tokens.size(), " tokens, fewer than one window of --ctx ", ctx,
         "; use a longer text or a smaller --ctx");
  const int64_t V = base.text().config().n_vocab;
  Progress progress("eval text", windows);
  for (size_t w = 0; w < windows; ++w) {
    const std::vector<int32_t> ids(tokens.begin() + static_cast<std::ptrdiff_t>(w * ctx),
                                   tokens.begin() + static_cast<std::ptrdiff_t>((w + 1) * ctx));
    const std::vector<float> b = all_logits(base, ids, {}, pool);
    const std::vector<float> q = all_logits(model, ids, {}, pool);
    score(sum, b, q, ids, V, ctx / 2, ctx - 1);
    progress.advance(1);
  }
  progress.finish();
}

// Each image with the question; the base model's greedy answer is the continuation both score.
void eval_images(const std::shared_ptr<const LoadedModel>& base, const std::shared_ptr<const LoadedModel>& model,
                 EvalSummary& sum, kernels::ThreadPool& pool) {
  std::vector<std::string> files;
  for (const BatchInput& in : expand_inputs({args.images}))
    if (in.error.empty()) files.push_back(in.file);
  if (files.empty()) fail(args.images, ": no images found");
  MediaEncoder base_media(base), model_media(model);
  const int64_t V = base->text().config().n_vocab;
  const std::string text = render_chat({{"user", {ChatItem::image(), ChatItem::make_text(args.question)}}}, true);
  Progress progress("eval images", files.size());
  for (const std::string& f : files) {
    const std::shared_ptr<const EncodedMedia> bm[] = {base_media.file(f, {}, pool)};
    const std::shared_ptr<const EncodedMedia> qm[] = {model_media.file(f, {}, pool)};
    Prompt bp = build_prompt(base->tokenizer(), text, bm);
    Prompt qp = build_prompt(model->tokenizer(), text, qm);
    if (bp.ids != qp.ids)
      fail(f, ": the two projectors tile the image differently (", bp.ids.size(), " and ", qp.ids.size(),
           " prompt tokens); compare projectors of the same model");
    // The base's greedy answer, stopped at its end of generation.
    TextStateOptions o;
    o.n_ctx = static_cast<int64_t>(bp.ids.size()) + args.answer_tokens + 1;
    TextState state = base->text().new_state(o);
    std::vector<float> last(static_cast<size_t>(V));
    base->text().forward(TextInput::tokens(bp.ids, spans_of(bp)), state, LogitRows::kLast, last.data(), pool);
    std::vector<int32_t> answer = greedy_continuation(base->text(), state, last, args.answer_tokens, pool);
    const auto eog = std::find_if(answer.begin(), answer.end(), [&](int32_t id) { return base->tokenizer().is_eog(id); });
    if (eog != answer.end()) answer.erase(eog + 1, answer.end());
    const size_t n_prompt = bp.ids.size();
    bp.ids.insert(bp.ids.end(), answer.begin(), answer.end());
    qp.ids.insert(qp.ids.end(), answer.begin(), answer.end());
    const std::vector<float> b = all_logits(*base, bp.ids, spans_of(bp), pool);
    const std::vector<float> q = all_logits(*model, qp.ids, spans_of(qp), pool);
    score(sum, b, q, bp.ids, V, n_prompt - 1, bp.ids.size() - 1);
    progress.advance(1, fs::path(f).filename().string());
  }
  progress.finish();
}

nlohmann::json summary_json(const EvalSummary& s) {
  return {{"tokens", s.tokens()},       {"ppl_base", s.ppl_base()}, {"ppl_model", s.ppl_model()},
          {"kl_mean", s.kl_mean()},     {"kl_p99", s.kl_p99()},     {"kl_max", s.kl_max()},
          {"top1_agreement", s.top1_agreement()}};
}

void print_summary(const char* what, const EvalSummary& s) {
  std::printf("%-7s %8lld tokens   PPL base %.4f   PPL model %.4f (%+.3f%%)   KL mean %.6f  p99 %.6f  max %.6f   "
              "top-1 %.2f%%\n",
              what, static_cast<long long>(s.tokens()), s.ppl_base(), s.ppl_model(),
              100.0 * (s.ppl_model() / s.ppl_base() - 1.0), s.kl_mean(), s.kl_p99(), s.kl_max(),
              100.0 * s.top1_agreement());
}

int run_eval() {
  if (args.text.empty() && args.images.empty()) fail("give --text FILE, --images DIR, or both");
  if (!args.images.empty() && args.mmproj.empty()) fail("--images needs --mmproj (the model's vision projector)");
  if (args.ctx < 16) fail("--ctx must be at least 16, got ", args.ctx);
  LoadOptions load;
  load.num_gpu = args.num_gpu;
  load.device = args.device;
  const std::string base_mmproj = args.base_mmproj.empty() ? args.mmproj : args.base_mmproj;
  const auto base = LoadedModel::load(args.base, args.images.empty() ? "" : base_mmproj, load);
  const auto model = LoadedModel::load(args.model, args.images.empty() ? "" : args.mmproj, load);
  if (base->text().config().n_vocab != model->text().config().n_vocab)
    fail(args.model, " and ", args.base, " have different vocabularies (", model->text().config().n_vocab, " and ",
         base->text().config().n_vocab, " tokens): they are not the same model");
  kernels::ThreadPool pool(args.threads);
  nlohmann::json out = {{"model", fs::path(args.model).filename().string()},
                        {"base", fs::path(args.base).filename().string()}};
  if (!args.text.empty()) {
    EvalSummary s;
    eval_text(*base, *model, s, pool);
    out["text"] = summary_json(s);
    out["text"]["ctx"] = args.ctx;
    if (!args.json) print_summary("text", s);
  }
  if (!args.images.empty()) {
    EvalSummary s;
    eval_images(base, model, s, pool);
    out["images"] = summary_json(s);
    if (!args.json) print_summary("images", s);
  }
  if (args.json) std::printf("%s\n", out.dump(1).c_str());
  return 0;
}

const CommandRegistrar kRegistrar{Command{
    "eval",
    [](CLI::App& app) {
      CLI::App* sub = app.add_subcommand("eval", "Measure what a quantization costs: a model against its base "
                                                 "(perplexity, KL divergence, top-1 agreement)");
      sub->add_option("model", args.model, "The model to judge (a text GGUF, e.g. the Q4_K_M)")->required()->check(CLI::ExistingFile);
      sub->add_option("--base", args.base, "The reference (a text GGUF, e.g. the F16)")->required()->check(CLI::ExistingFile);
      sub->add_option("--text", args.text, "A text file, read in windows of --ctx tokens (the second half of each scored)")
          ->check(CLI::ExistingFile);
      sub->add_option("--ctx", args.ctx, "Window size in tokens")->capture_default_str();
      sub->add_option("--mmproj", args.mmproj, "The model's vision projector (with --images)")->check(CLI::ExistingFile);
      sub->add_option("--base-mmproj", args.base_mmproj, "The base's vision projector (default: --mmproj)")
          ->check(CLI::ExistingFile);
      sub->add_option("--images", args.images, "A folder of images: each asked --question, the base's greedy answer scored");
      sub->add_option("--question", args.question, "The question for every image")->capture_default_str();
      sub->add_option("--answer-tokens", args.answer_tokens, "Longest base answer scored per image")->capture_default_str();
      sub->add_option("-t,--threads", args.threads, "Threads (default: the physical performance cores)");
      add_device_options(sub, args.num_gpu, args.device, /*cpu_default=*/true);
      sub->add_flag("--json", args.json, "Print the figures as JSON");
      sub->footer(
          "KL(base || model) is in nats per token, from the full next-token distributions; perplexities are\n"
          "exp(mean negative log-likelihood) of the same tokens. Random-weight models bound only the numerical\n"
          "error of quantization; run it on the real weights for the real cost (docs/QUALITY.md).");
      return sub;
    },
    [] { return run_eval(); },
    14,
    ""}};

}  // namespace
}  // namespace smolvlm::cli
