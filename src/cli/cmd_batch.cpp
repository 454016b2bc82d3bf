// `smolvlm batch MODEL PATH... --prompt TEXT [--output FILE.jsonl|.csv]`: one answer per image or
// video, as one JSONL / CSV record per input, written as soon as it is done. --parallel N runs N
// sequences on one loaded model, one thread pool and one DecodeBatcher (their decode steps batched,
// image encodings and prefills taking the pool in turn, as the server's parallel slots do). A file
// that fails (unreadable, not an image, deleted meanwhile) gets an error record; the batch goes on.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "base/error.h"
#include "base/progress.h"
#include "cli/batch_inputs.h"
#include "cli/batch_records.h"
#include "cli/batch_remote.h"
#include "cli/chat_backend.h"
#include "cli/command.h"
#include "cli/run_options.h"
#include "cli/model_files.h"
#include "cli/run_settings.h"
#include "media/image_decode.h"
#include "runtime/decode_batcher.h"
#include "runtime/media_encoder.h"
#include "store/model_store.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/utf8.h"

namespace smolvlm::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct BatchArgs {
  std::string model;
  std::string mmproj;
  std::string quant;  // a folder's text GGUF of this type
  std::vector<std::string> hosts;  // --host: replicas that answer instead of a model loaded here
  std::string shard;               // --shard I/N
  std::vector<std::string> paths;
  std::string prompt;
  std::string prompts_file;
  std::string output = "-";
  bool overwrite = false;
  bool skip_errors = false;
  int parallel = 1;
  RunSettings settings;
};
BatchArgs args;
CLI::App* batch_app = nullptr;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The work list: PATHs (each with --prompt, or its row of --prompts), or the --prompts rows.
std::vector<BatchInput> list_inputs(const BatchArgs& a) {
  if (a.prompts_file.empty() && a.prompt.empty()) fail("give --prompt TEXT (for every file) or --prompts FILE");
  std::vector<BatchInput> table;
  if (!a.prompts_file.empty()) table = read_prompts_file(a.prompts_file);
  std::vector<BatchInput> items;
  std::set<std::pair<std::string, std::string>> seen;
  if (a.paths.empty()) {
    if (table.empty()) fail("no inputs: give image / video files, folders or patterns, or --prompts FILE");
    for (BatchInput& row : table)
      if (seen.insert({path_key(row.file), row.prompt}).second) items.push_back(std::move(row));
    return items;
  }
  std::multimap<std::string, std::string> prompts;  // path_key -> prompt, in file order
  for (const BatchInput& row : table) prompts.emplace(path_key(row.file), row.prompt);
  for (BatchInput& in : expand_inputs(a.paths)) {
    const auto [lo, hi] = prompts.equal_range(path_key(in.file));
    if (lo == hi) {
      if (a.prompt.empty() && in.error.empty()) in.error = cat("no prompt for this file in ", a.prompts_file);
      in.prompt = a.prompt;
      items.push_back(std::move(in));
    }
    for (auto it = lo; it != hi; ++it)
      if (seen.insert({it->first, it->second}).second) items.push_back({in.file, it->second, in.error});
  }
  if (items.empty()) {
    std::string list;
    for (const std::string& p : a.paths) list += (list.empty() ? "" : ", ") + p;
    fail("no images or videos found in ", list);
  }
  return items;
}

// What the N workers share.
struct Shared {
  std::shared_ptr<const LoadedModel> model;
  const RunSettings* settings = nullptr;
  kernels::ThreadPool* pool = nullptr;
  std::shared_ptr<DecodeBatcher> batcher;  // null with one worker
  MediaEncoder* media = nullptr;
  BatchOutput* out = nullptr;
  Progress* progress = nullptr;
  const std::vector<BatchInput>* todo = nullptr;
  std::atomic<size_t> next{0};
  std::atomic<size_t> ok{0}, errors{0};
  std::atomic<int64_t> eval_tokens{0};
  std::atomic<int64_t> encode_ns{0}, prompt_ns{0}, eval_ns{0};  // summed over the answered files
  std::mutex fatal_mu;
  std::exception_ptr fatal;  // an output write failed: the batch stops
  std::atomic<bool> stop{false};

  void with_pool(const std::function<void()>& fn) {
    if (batcher) batcher->exclusive(fn);
    else fn();
  }
};

// Runs one input in `session`; never throws (a failure is the record's error).
BatchRecord run_one(Shared& sh, Session& session, const BatchInput& in) {
  return answer_input(in, [&](BatchRecord& rec) {
    const RunSettings& s = *sh.settings;
    std::shared_ptr<const EncodedMedia> media;
    sh.with_pool([&] {
      const auto te = Clock::now();
      media = sh.media->file(in.file, s.media, *sh.pool);
      rec.encode_s = seconds_since(te);
    });
    std::vector<ChatMessage> messages;
    if (!s.system.empty()) messages.push_back(ChatMessage::text("system", s.system));
    messages.push_back({"user",
                        {media->kind == EncodedMedia::Kind::kVideo ? ChatItem::video() : ChatItem::image(),
                         ChatItem::make_text(in.prompt)}});
    const std::shared_ptr<const EncodedMedia> items[] = {media};
    const Prompt prompt = build_prompt(sh.model->tokenizer(), render_chat(messages, true), items);
    session.reset();  // each file on its own, as `smolvlm run` answers it
    const GenerateResult r = session.generate(prompt, s.generate, [](std::string_view) { return true; });
    rec.answer = std::string(trim_reply_start(r.text));
    rec.done_reason = done_reason_name(r.reason);
    rec.prompt_tokens = r.prompt_tokens;
    rec.eval_tokens = r.eval_tokens;
    rec.prompt_s = r.prompt_seconds;
    rec.eval_s = r.eval_seconds;
  });
}

// One worker thread: `make_runner` (called on the thread: a session is made there) answers an input.
using Runner = std::function<BatchRecord(const BatchInput&)>;
void worker(Shared& sh, const std::function<Runner()>& make_runner) {
  try {
    const Runner run = make_runner();
    while (!sh.stop) {
      const size_t k = sh.next++;
      if (k >= sh.todo->size()) break;
      const BatchRecord rec = run((*sh.todo)[k]);
      sh.out->write(rec);
      if (rec.error.empty()) {
        ++sh.ok;
        sh.eval_tokens += rec.eval_tokens;
        sh.encode_ns += static_cast<int64_t>(rec.encode_s * 1e9);
        sh.prompt_ns += static_cast<int64_t>(rec.prompt_s * 1e9);
        sh.eval_ns += static_cast<int64_t>(rec.eval_s * 1e9);
      } else {
        ++sh.errors;
        std::fprintf(stderr, "%serror: %s: %s\n", ::isatty(2) ? "\r\033[K" : "", rec.file.c_str(), rec.error.c_str());
      }
      sh.progress->advance(1, fs::path(rec.file).filename().string());
    }
  } catch (...) {  // the output cannot be written (or no session could be made): stop everyone
    std::lock_guard<std::mutex> lock(sh.fatal_mu);
    if (!sh.fatal) sh.fatal = std::current_exception();
    sh.stop = true;
  }
}

int run_batch(BatchArgs& a) {
  const auto t0 = Clock::now();
  if (a.parallel < 1) fail("--parallel must be at least 1, got ", a.parallel);
  std::vector<BatchInput> items = list_inputs(a);
  if (!a.shard.empty()) {  // "I/N": this run's deterministic share
    int index = -1, count = 0;
    char slash = 0;
    std::istringstream in(a.shard);
    if (!(in >> index >> slash >> count) || slash != '/' || !in.eof() || count < 1 || index < 0 || index >= count)
      fail("--shard takes I/N with 0 <= I < N (e.g. 0/4), got '", a.shard, "'");
    std::erase_if(items, [&](const BatchInput& b) { return !in_shard(b.file, index, count); });
    if (items.empty()) {
      std::fprintf(stderr, "batch: share %s holds none of the inputs\n", a.shard.c_str());
      return 0;
    }
  }
  BatchOutput::Keys keys;
  for (const BatchInput& in : items) keys.insert({path_key(in.file), in.prompt});
  BatchOutput out(a.output, a.overwrite, a.skip_errors, keys);
  std::vector<BatchInput> todo;
  for (const BatchInput& in : items)
    if (!out.done(in.file, in.prompt)) todo.push_back(in);
  const size_t skipped = items.size() - todo.size();
  std::string where = a.output.empty() || a.output == "-" ? "" : cat(" -> ", a.output);
  if (!a.shard.empty()) where += cat(" (share ", a.shard, ")");
  if (todo.empty()) {
    std::fprintf(stderr, "batch: nothing to do, all %zu inputs already have a record%s\n", items.size(), where.c_str());
    return 0;
  }

  Shared sh;
  Progress progress("batch", todo.size());
  sh.settings = &a.settings;
  sh.out = &out;
  sh.progress = &progress;
  sh.todo = &todo;
  tok::utf8_validate(a.settings.system, "the system message");
  std::vector<std::thread> threads;
  int workers = 0;
  if (!a.hosts.empty()) {  // the replicas answer; this process only reads files and writes records
    RemoteBatch remote(a.hosts, a.model, a.settings);
    workers = static_cast<int>(std::min<size_t>(std::max<size_t>(static_cast<size_t>(a.parallel), remote.hosts()), todo.size()));
    const auto make = [&]() -> Runner { return [&](const BatchInput& in) { return remote.run(in); }; };
    for (int k = 1; k < workers; ++k) threads.emplace_back(worker, std::ref(sh), make);
    worker(sh, make);
    for (std::thread& t : threads) t.join();
  } else {
    ModelFiles files;
    if (const std::optional<ResolvedModel> stored = try_resolve(a.model)) {
      files = {stored->text_path, a.mmproj.empty() ? stored->mmproj_path : a.mmproj};
      apply_model_settings(*stored, *batch_app, a.settings);
    } else {
      files = resolve_model_files(a.model, a.mmproj, a.quant);
    }
    if (files.mmproj.empty())
      fail(files.text, " is a text model: a batch of images and videos needs its vision projector (--mmproj "
           "mmproj-….gguf, or name the folder holding both files)");
    workers = static_cast<int>(std::min<size_t>(static_cast<size_t>(a.parallel), todo.size()));
    LoadOptions load = a.settings.load_options();
    load.n_seq = workers;
    sh.model = LoadedModel::load(files.text, files.mmproj, load);
    if (a.settings.verbose) std::fprintf(stderr, "%s\n", sh.model->offload().summary.c_str());
    kernels::ThreadPool pool(a.settings.threads);
    MediaEncoder media(sh.model);
    SessionOptions options;
    options.n_ctx = a.settings.num_ctx;
    options.kv_type = a.settings.kv_type == "f32" ? GgmlType::F32 : GgmlType::F16;
    if (workers > 1) options.batcher = sh.batcher = std::make_shared<DecodeBatcher>(sh.model, pool, workers);
    sh.pool = &pool;
    sh.media = &media;
    const auto make = [&]() -> Runner {
      auto session = std::make_shared<Session>(sh.model, options, *sh.pool);
      return [&sh, session](const BatchInput& in) { return run_one(sh, *session, in); };
    };
    for (int k = 1; k < workers; ++k) threads.emplace_back(worker, std::ref(sh), make);
    worker(sh, make);
    for (std::thread& t : threads) t.join();
  }
  progress.finish();
  if (sh.fatal) std::rethrow_exception(sh.fatal);

  const double wall = seconds_since(t0);
  const int64_t tokens = sh.eval_tokens;
  const double eval_s = static_cast<double>(sh.eval_ns) / 1e9;
  std::string dropped;
  if (sh.batcher && sh.batcher->passes() > 0)
    dropped = cat(" (mean decode batch ", fixed_trimmed(double(sh.batcher->steps()) / double(sh.batcher->passes()), 2), ")");
  if (out.dropped_errors() > 0) dropped += cat(" (", out.dropped_errors(), " earlier errors retried)");
  // Generation speed over generation time only (each reply's decode, summed over the files); the
  // media encoding and the prompt evaluation are reported on their own.
  std::fprintf(stderr,
               "batch: %zu ok, %zu errors, %zu skipped (already done) in %.2fs: encoding %.2fs, prompt eval %.2fs, "
               "%lld tokens generated in %.2fs (%.1f tokens/s per reply); parallel %d%s%s\n",
               sh.ok.load(), sh.errors.load(), skipped, wall, static_cast<double>(sh.encode_ns) / 1e9,
               static_cast<double>(sh.prompt_ns) / 1e9, static_cast<long long>(tokens), eval_s,
               eval_s > 0 ? static_cast<double>(tokens) / eval_s : 0.0, workers, dropped.c_str(), where.c_str());
  return 0;
}

const CommandRegistrar kRegistrar{Command{
    "batch",
    [](CLI::App& app) {
      CLI::App* sub = app.add_subcommand("batch", "Answer a prompt for many images or videos: one record per file");
      batch_app = sub;
      sub->footer(
          "PATHs are files, folders (searched recursively for .jpg .jpeg .png .webp .gif .bmp .mp4 .mkv .webm .mov\n"
          ".avi .m4v; sorted; hidden names skipped) or quoted glob patterns. --prompts FILE gives a prompt per file\n"
          "(.csv with the columns file,prompt; .jsonl with {\"file\": ..., \"prompt\": ...}); without PATHs its\n"
          "files are the inputs. Each record is written and flushed when its file is done (JSONL on stdout unless\n"
          "--output names a .jsonl or .csv file). An existing output is resumed: files that have a record are\n"
          "skipped, error records are retried (unless --skip-errors); --overwrite starts afresh. A file that\n"
          "cannot be run gets a record with its \"error\" and the batch goes on. --parallel N answers N files at\n"
          "a time on one loaded model, their decode steps batched. Sampling defaults are Ollama's (temperature\n"
          "0.8, top_k 40, top_p 0.9); --temperature 0 is greedy, --seed makes sampling repeatable per file.");
      RunSettings& s = args.settings;
      sub->add_option("model", args.model,
                      "A model in the store (smolvlm2:256m), a text GGUF file (with --mmproj), or a folder holding "
                      "the text and mmproj GGUFs")
          ->required();
      sub->add_option("paths", args.paths, "Image / video files, folders or glob patterns");
      sub->add_option("-p,--prompt", args.prompt, "The prompt for every file (the fallback with --prompts)");
      sub->add_option("--prompts", args.prompts_file, "A prompt per file: FILE.csv (file,prompt) or FILE.jsonl");
      sub->add_option("-o,--output", args.output, "FILE.jsonl or FILE.csv (default: JSONL on stdout)");
      sub->add_flag("--overwrite", args.overwrite, "Start the output afresh instead of resuming it");
      sub->add_flag("--skip-errors", args.skip_errors, "On resume, keep error records instead of retrying them");
      sub->add_option("--parallel", args.parallel, "Files answered at a time (sequences sharing the model)")
          ->capture_default_str();
      sub->add_option("--mmproj", args.mmproj, "Vision projector GGUF")->check(CLI::ExistingFile);
      sub->add_option("--quant", args.quant, "For a folder with several text GGUFs: the type to run (default Q4_K_M, "
                                             "else the smallest quantized one)");
      sub->add_option("--host", args.hosts,
                      "Running servers that answer instead of a model loaded here: URL[,URL...] (repeatable); "
                      "least-loaded first, a file retried on another when one fails. MODEL is then a name there")
          ->delimiter(',');
      sub->add_option("--shard", args.shard,
                      "I/N: only the I-th of N deterministic shares of the inputs (0 <= I < N), for a Kubernetes "
                      "Indexed Job, a Slurm array or xargs; give each share its own -o");
      add_media_options(sub, s);
      add_generation_options(sub, s);
      return sub;
    },
    [] { return run_batch(args); },
    12,
    {}}};

}  // namespace
}  // namespace smolvlm::cli
