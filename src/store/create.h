// Creating a model in the store (reference/ollama-contract.md §1.13, §4 "How create decides", §8):
// layers from an existing model (`from`) and/or GGUF blobs (`files`, classified by their metadata
// as model / projector), then template / system / params / messages / license layers with Ollama's
// media types, the config blob (§7.4) and, last, the manifest — written atomically. A failed
// create leaves no manifest and removes the blobs it added that nothing references.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "store/model_store.h"

namespace smolvlm {

struct Modelfile;

struct CreateFile {
  std::string name;    // relative file name ("model.gguf"); checked like Go's fs.ValidPath
  std::string digest;  // "sha256:<hex>" of a blob already in the store
};

// The fields of Ollama's /api/create request that smolvlm honours.
struct CreateRequest {
  std::string model;                // target name
  std::string from;                 // existing model name ("" = none)
  std::vector<CreateFile> files;    // GGUF blobs
  std::optional<std::string> template_text, system;
  std::vector<std::string> licenses;
  nlohmann::json parameters = nlohmann::json::object();  // merged over inherited params
  std::vector<nlohmann::json> messages;                   // replace inherited messages when non-empty
  std::string renderer, parser, requires_version;
  std::string quantize;  // "q4_K_M", ...: the model layer is quantized (F16 / BF16 / F32 sources only)
  // Blobs added to the store just for this request (create_request_from_modelfile); a failed
  // create removes those that nothing references.
  std::vector<std::string> new_blobs;
};

// Progress lines as Ollama streams them ("using existing layer sha256:…", "writing manifest", ...).
using CreateProgress = std::function<void(const std::string& status)>;

// Writes the GGUF model `in` quantized to `type` (as given in the request: "q4_K_M", "Q8_0", ...) at
// `out`; throws Error for an unknown type. The quantizer lives above the store (src/convert), so
// whoever creates models passes it in.
using ModelQuantizer = std::function<void(const std::string& in, const std::string& out, const std::string& type)>;

// Returns the resolved new model. Errors: "invalid model name", "neither 'from' or 'files' was
// specified", "file path must be relative", "supplied file was not in GGUF format", model not
// found, missing blobs, bad parameters; with `quantize`: no quantizer given, a source that is not
// F16 / BF16 / F32. A quantized model layer replaces the source's in the manifest (Ollama's
// "quantizing F16 model to Q4_K_M"); the source blob is then removed unless something references it.
ResolvedModel create_model(ModelStore& store, const CreateRequest& req, const CreateProgress& progress = {},
                           const ModelQuantizer& quantizer = {});

// What a Modelfile's FROM lines name, as the ollama CLI reads them: existing files or folders
// (relative to base_dir, "~" expanded; folders give their *.gguf files, sorted), each checked to
// be a GGUF; "@sha256:<hex>" blob references (the legacy protocol); and a model name (any other
// FROM; the last one wins). Throws Error for a folder without GGUFs or a file that is not a GGUF.
struct ModelfileSources {
  std::vector<std::string> paths;    // local GGUF files, in FROM order
  std::vector<std::string> digests;  // "sha256:<hex>" of the @sha256 references
  std::string from;                  // a model name ("" = none)
};
ModelfileSources modelfile_sources(const Modelfile& mf, const std::string& base_dir);

// The request a Modelfile makes, as the ollama CLI builds it: each FROM that names an existing file
// or folder (relative to `base_dir`, "~" expanded) adds its GGUF(s) to the store as blobs; any other
// FROM is a model name. Folders contribute their *.gguf files. "FROM @sha256:<hex>" (the legacy
// /api/create "modelfile" form) names a blob already uploaded.
CreateRequest create_request_from_modelfile(ModelStore& store, const std::string& model, const Modelfile& mf,
                                            const std::string& base_dir, const CreateProgress& progress = {});

}  // namespace smolvlm
