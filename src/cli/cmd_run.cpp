// `smolvlm run MODEL.gguf [PROMPT] [options]` — like `ollama run`: with a prompt (or a piped stdin)
// it answers once and exits; otherwise an interactive chat. The reply streams to stdout; --verbose
// prints Ollama's timing fields on stderr. A model name goes to a running `smolvlm serve` when one
// answers (RemoteChat), else runs in this process (ChatRunner); files always run here.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <string>
#include <unistd.h>

#include "base/error.h"
#include "cli/chat_repl.h"
#include "cli/chat_runner.h"
#include "cli/command.h"
#include "cli/line_reader.h"
#include "base/file_util.h"
#include "cli/model_files.h"
#include "cli/pull_progress.h"
#include "cli/remote_chat.h"
#include "cli/run_options.h"
#include "cli/server_autostart.h"
#include "cli/server_client.h"
#include "store/model_store.h"
#include "store/names.h"

namespace smolvlm::cli {
namespace {

struct RunArgs {
  std::string model;
  std::string mmproj;
  std::vector<std::string> prompt;
  std::vector<std::string> images;
  std::vector<std::string> videos;
  RunSettings settings;
  bool local = false;
  std::string quant;  // a folder's text GGUF of this type
};
RunArgs args;
CLI::App* run_app = nullptr;

// One answer (a prompt given) or the interactive chat.
int converse(ChatBackend& chat, const std::string& prompt, const std::vector<std::string>& media) {
  if (prompt.empty()) {
    if (!media.empty()) fail("--image / --video need a prompt (in the chat, put file paths in the message)");
    return run_chat_repl(chat);
  }
  LineReader ctrl_c;  // Ctrl-C stops the reply and exits 130
  return chat.turn(prompt, media, /*interactive=*/false) == DoneReason::kCancelled ? 130 : 0;
}

int run_model(RunArgs& a) {
  std::string prompt;
  for (const std::string& word : a.prompt) prompt += (prompt.empty() ? "" : " ") + word;
  // `echo question | smolvlm run model`, `cat notes.txt | smolvlm run model "Summarize this:"`: as
  // `ollama run`, stdin comes first, then the prompt's words
  if (isatty(STDIN_FILENO) == 0) {
    std::string in(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>{});
    while (!in.empty() && (in.back() == '\n' || in.back() == '\r')) in.pop_back();
    if (!in.empty()) prompt = prompt.empty() ? in : in + " " + prompt;
    if (prompt.empty()) return 0;  // a closed or empty stdin and no prompt: nothing to answer
  }
  std::vector<std::string> media = a.images;
  media.insert(media.end(), a.videos.begin(), a.videos.end());
  // A file or folder, or a model name: what looks like a path must exist
  const std::string on_disk = expand_home(a.model);
  std::error_code ec;
  const bool is_file = std::filesystem::exists(on_disk, ec);
  if (!is_file && ModelName::looks_like_path(a.model)) fail("file not found: ", on_disk);
  // A name not in the store that can be pulled is pulled first, as `ollama run` does
  if (!is_file && pullable(a.model) && !ModelStore(ModelStore::default_root()).find(a.model)) {
    std::fprintf(stderr, "smolvlm: %s is not in the store; pulling it\n", a.model.c_str());
    pull_with_progress(a.model);
  }
  // A model name (not a file): a running server runs it, as `ollama run` does. With none running,
  // a model in the store starts one in the background (server_autostart.h), so that the next `run`
  // finds it loaded; a name not in the store starts nothing (its error comes from this process).
  if (!a.local && a.mmproj.empty() && !is_file) {
    ServerClient client;
    if (client.reachable() || (try_resolve(a.model) && start_background_server(client))) {
      RemoteChat chat(client, a.model, a.settings);
      return converse(chat, prompt, media);
    }
  }
  ModelFiles files;
  if (const std::optional<ResolvedModel> stored = try_resolve(a.model)) {  // a name in the model store
    files = {stored->text_path, a.mmproj.empty() ? stored->mmproj_path : a.mmproj};
    apply_model_settings(*stored, *run_app, a.settings);
  } else {
    files = resolve_model_files(on_disk, a.mmproj, a.quant);
  }
  if (!media.empty() && files.mmproj.empty())
    fail(files.text, " is a text model: images and videos need its vision projector (--mmproj mmproj-….gguf, or "
         "name the folder holding both files)");
  ChatRunner chat(LoadedModel::load(files.text, files.mmproj, a.settings.load_options()), a.settings);
  if (a.settings.verbose) std::fprintf(stderr, "%s\n", chat.model().offload().summary.c_str());
  return converse(chat, prompt, media);
}

const CommandRegistrar kRegistrar{Command{
    "run",
    [](CLI::App& app) {
      CLI::App* sub = app.add_subcommand("run", "Run a model: answer a prompt, or chat interactively");
      run_app = sub;
      sub->footer(
          "Without PROMPT (and with a terminal on stdin) an interactive chat starts: /? lists its commands,\n"
          "\"\"\" begins a multi-line message, Ctrl-C stops a reply, Ctrl-D or /bye exits. Piped stdin is the\n"
          "prompt. Sampling defaults are Ollama's (temperature 0.8, top_k 40, top_p 0.9, repeat_last_n 64);\n"
          "--temperature 0 is greedy. The chat uses SmolVLM2's template; each turn only prefills what is new.\n"
          "Images and videos follow transformers' SmolVLM processor exactly (Pillow LANCZOS tiles + global\n"
          "view; video at 1 fps, at most 64 frames); in the chat, file paths in a message attach them.\n"
          "A model name is run by the `smolvlm serve` at SMOLVLM_HOST / OLLAMA_HOST (the model stays loaded\n"
          "there, as with `ollama run`). When none answers and the address is this machine's, one is started\n"
          "in the background (log: next to the store, e.g. ~/.ollama/logs/server.log; SMOLVLM_NO_AUTOSTART=1\n"
          "prevents it) and runs the model; else it runs in this process. --local always runs it here.");
      RunSettings& s = args.settings;
      sub->add_option("model", args.model,
                      "A model in the store (smolvlm2:256m), a text GGUF file, or a folder holding the text and "
                      "mmproj GGUFs")
          ->required();
      sub->add_option("prompt", args.prompt, "Prompt (several words are joined with spaces)");
      sub->add_option("--mmproj", args.mmproj, "Vision projector GGUF (for images and videos)")
          ->check(CLI::ExistingFile);
      // One value per flag (repeat the flag for more), so that the prompt after it stays the prompt.
      sub->add_option("--image", args.images, "Image file: JPEG, PNG, WebP, GIF, BMP (repeatable)")
          ->check(CLI::ExistingFile)
          ->allow_extra_args(false)
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
      sub->add_option("--video", args.videos, "Video file, any format FFmpeg reads (repeatable)")
          ->check(CLI::ExistingFile)
          ->allow_extra_args(false)
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
      sub->add_option("--quant", args.quant,
                      "With a folder of several text GGUFs: the one of this type (default: Q4_K_M, else the "
                      "smallest quantized one)");
      add_media_options(sub, s);
      add_generation_options(sub, s);
      sub->add_flag("--local", args.local,
                    "Run the model in this process: no server is used or started (by default a model name is "
                    "run by the server at SMOLVLM_HOST / OLLAMA_HOST, started in the background when none answers)");
      sub->add_flag("--verbose", s.verbose, "Print timings after each reply (Ollama's fields, on stderr)");
      add_exact_flag(sub);  // runs in this process: a server keeps its own setting (SMOLVLM_EXACT=1 when started)
      run_app = sub;
      return sub;
    },
    [] {
      if (run_app->count("--exact") > 0) args.local = true;
      return run_model(args);
    },
    10,
    {}}};

}  // namespace
}  // namespace smolvlm::cli
