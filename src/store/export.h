// Exporting a model for the real Ollama (reference/ollama-contract.md §4, §7, §8): a folder with the
// text GGUF, the mmproj GGUF and a Modelfile that `ollama create NAME -f DIR/Modelfile` accepts
// (relative FROM lines, the SmolVLM2 TEMPLATE, PARAMETERs with the <end_of_utterance> stop), or the
// model created straight in an Ollama store. The source is a stored model (its layers carried over)
// or bare GGUF files (which get modelfiles/'s SmolVLM2 template and defaults, store/pull.h).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "store/model_store.h"

namespace smolvlm {

// What an export writes: the two GGUFs and every Modelfile field.
struct ExportSource {
  std::string text_path;    // text GGUF (a store blob or a file)
  std::string mmproj_path;  // projector GGUF ("" = none: a text-only Modelfile)
  std::string base_name;    // file name stem: "SmolVLM2-256M-Video-Instruct" (general.name, ...)
  std::string model_name;   // suggested Ollama name: the stored name, or "<base>:<quant>" in lower case
  std::string origin;       // what it came from, for the Modelfile's header comment
  std::optional<std::string> template_text, system;
  nlohmann::json parameters = nlohmann::json::object();  // typed, stop an array
  std::vector<nlohmann::json> messages;                   // {"role","content"}
  std::vector<std::string> licenses;
  std::string renderer, parser, requires_version;
  std::vector<std::string> warnings;  // what could not be carried over (printed by the caller)
};

// A stored model: its blobs, TEMPLATE, SYSTEM, PARAMETERs, MESSAGEs, LICENSEs (and renderer /
// parser / requires from its config). A model without a template gets SmolVLM2's (what our runtime
// renders natively), and one without a stop gets <end_of_utterance>. Throws Error "model '<name>'
// not found" and the store's errors.
ExportSource export_source_from_store(const ModelStore& store, const std::string& name);
// Bare GGUF files (each checked to be a GGUF; the text one not a projector, the mmproj one a
// projector), with SmolVLM2's template, stop and defaults.
ExportSource export_source_from_files(const std::string& text_path, const std::string& mmproj_path);

// The file names an export uses: "<base>-<QUANT>.gguf" and "mmproj-<base>-<TYPE>.gguf" (types from
// general.file_type; left out when unknown).
struct ExportNames {
  std::string text, mmproj;  // mmproj "" when the source has none
};
ExportNames export_file_names(const ExportSource& src);

// The Modelfile text: a header comment, "FROM ./<text>" and "FROM ./<mmproj>", TEMPLATE in triple
// quotes, SYSTEM, one PARAMETER line per value (stop repeated), LICENSE and MESSAGE lines. Checked by
// parsing it back (parse_modelfile) to exactly the source's fields; throws Error when a value cannot
// be written in Ollama's grammar (which has no escapes), naming the field.
std::string export_modelfile(const ExportSource& src, const ExportNames& names);

using ExportProgress = std::function<void(const std::string& line)>;

struct ExportResult {
  std::string dir, modelfile, text_file, mmproj_file;  // paths written
};

struct ExportOptions {
  bool force = false;  // replace the files of an existing DIR
  bool link = false;   // hard-link the GGUFs (editing one in place then edits the source, e.g. a store blob)
};

// Writes DIR (parents created): the GGUFs copied (a reflink where the filesystem can: no space
// used, and the copies stay independent), or hard-linked with `link`, and the Modelfile plus
// README.txt. Progress lines name the final paths. A new DIR is assembled in a temporary sibling
// folder and renamed into place, so a failed export leaves nothing. An existing DIR is refused
// ("<DIR> already exists ...") unless `force`: then each file is replaced atomically, and the GGUFs
// a previous export's Modelfile there named (and this one no longer does) are removed.
ExportResult export_to_dir(const ExportSource& src, const std::string& dir, const ExportOptions& options,
                           const ExportProgress& progress = {});

// Creates the model `name` in `store` from the exported Modelfile (create_request_from_modelfile +
// create_model, the GGUFs named as in DIR). Refuses an existing name ("model '<name>' already exists
// in <root>") unless `force`.
ResolvedModel export_to_store(ModelStore& store, const ExportSource& src, const std::string& name, bool force,
                              const ExportProgress& progress = {});

}  // namespace smolvlm
