// `smolvlm export MODEL [DIR] [--to-store [ROOT]]`: hands a model to the real Ollama. DIR gets the
// text GGUF, the mmproj GGUF and a Modelfile that `ollama create NAME -f DIR/Modelfile` accepts;
// --to-store creates the model straight in an Ollama store. MODEL is a stored model name, a text
// GGUF (with --mmproj) or a folder holding both (src/store/export.h does the work).
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include "base/error.h"
#include "cli/command.h"
#include "cli/model_files.h"
#include "store/export.h"
#include "store/model_store.h"

namespace smolvlm::cli {
namespace {

struct ExportArgs {
  std::string model, dir, mmproj, name, store_root, quant;
  bool force = false, link = false;
  CLI::Option* to_store = nullptr;
};
ExportArgs args;

// MODEL as an existing file / folder, else as a name in the default store.
ExportSource export_source() {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(args.model, ec)) {
    const ModelFiles files = resolve_model_files(args.model, args.mmproj, args.quant);
    return export_source_from_files(files.text, files.mmproj);
  }
  if (!args.mmproj.empty()) fail("--mmproj goes with a text GGUF file; '", args.model, "' is not a file");
  const ModelStore store(ModelStore::default_root());
  try {
    return export_source_from_store(store, args.model);
  } catch (const Error& e) {
    fail(e.what(), " ('", args.model, "' is neither a file, a folder nor a model in ", store.root(), ")");
  }
}

int run_export() {
  const bool to_store = args.to_store->count() > 0;
  if (args.dir.empty() && !to_store) fail("name the folder to export into (smolvlm export MODEL DIR), or pass --to-store");
  ExportSource src = export_source();
  for (const auto& w : src.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  if (src.mmproj_path.empty()) std::fprintf(stderr, "warning: no vision projector: the exported model is text-only\n");
  const auto progress = [](const std::string& s) { std::fprintf(stderr, "%s\n", s.c_str()); };
  if (!args.name.empty()) src.model_name = args.name;
  const std::string& name = src.model_name;
  if (!args.dir.empty()) {
    const ExportResult r = export_to_dir(src, args.dir, {.force = args.force, .link = args.link}, progress);
    std::printf("exported to %s\ncreate it in Ollama with:  ollama create %s -f %s\n", r.dir.c_str(), name.c_str(),
                r.modelfile.c_str());
  }
  if (to_store) {
    ModelStore store(args.store_root.empty() ? ModelStore::default_root() : args.store_root);
    const ResolvedModel m = export_to_store(store, src, name, args.force, progress);
    std::printf("created %s in %s\n", m.short_name.c_str(), store.root().c_str());
  }
  return 0;
}

const CommandRegistrar kRegistrar{Command{
    "export",
    [](CLI::App& app) {
      CLI::App* sub = app.add_subcommand("export", "Export a model for Ollama: GGUFs + Modelfile in a folder, or into an Ollama store");
      sub->add_option("model", args.model, "Stored model name, text GGUF (with --mmproj) or folder holding both")->required();
      sub->add_option("dir", args.dir, "Folder to create: the GGUFs and a Modelfile for `ollama create NAME -f DIR/Modelfile`");
      sub->add_option("--mmproj", args.mmproj, "Vision projector GGUF (MODEL is a text GGUF)");
      sub->add_option("--quant", args.quant, "For a folder with several text GGUFs: the type to export (default "
                                             "Q4_K_M, else the smallest quantized one)");
      args.to_store = sub->add_option("--to-store", args.store_root,
                                      "Create the model in this Ollama store (default $OLLAMA_MODELS or ~/.ollama/models)")
                          ->expected(0, 1);
      sub->add_option("--name", args.name, "Model name for --to-store and the Modelfile's comments (default: the stored "
                                           "name, or <general.name>:<quant> in lower case)");
      sub->add_flag("--force", args.force, "Replace the files of an existing DIR / an existing model of that name");
      sub->add_flag("--link", args.link,
                    "Hard-link the GGUFs instead of copying them (no space used, but editing an exported file in place "
                    "then changes the source: a store blob would be corrupted)");
      sub->footer(
          "The GGUFs are copied (a reflink on filesystems that share data copy-on-write: Btrfs, XFS), or\n"
          "hard-linked with --link. A new DIR is\n"
          "written atomically (nothing is left if the export fails). Bare GGUFs get SmolVLM2's TEMPLATE, stop\n"
          "\"<end_of_utterance>\" and defaults (modelfiles/); a stored model keeps its own.");
      return sub;
    },
    [] { return run_export(); },
    22,
    ""}};

}  // namespace
}  // namespace smolvlm::cli
