// `smolvlm pull NAME` / POST /api/pull (reference/ollama-contract.md §1.16): fetches a model from the
// Hugging Face Hub into the Ollama store and creates it there.
//   hf.co/ORG/REPO[:QUANT]   a GGUF repository, as Ollama pulls it: the text GGUF of that
//                            quantization (default Q4_K_M, else Q8_0, else the first) plus the mmproj
//                            (F16 preferred) as the projector layer. Stored under the name as given.
//   HuggingFaceTB/REPO[:QUANT]  a safetensors checkpoint: downloaded into the Hugging Face cache,
//                            converted and quantized (default Q4_K_M) by the CheckpointConverter the
//                            caller supplies (the convert layer sits above the store), then created.
//   smolvlm2[:SIZE[-QUANT]]  our names: SIZE 256m | 500m | 2.2b (latest = 2.2b), mapped to
//                            ggml-org/SmolVLM2-{256M-Video,500M-Video,2.2B}-Instruct-GGUF.
// SmolVLM repositories get modelfiles/'s SmolVLM2 TEMPLATE, stop and defaults. Every file is checked
// against the hub's sha256, reused from the store or the Hugging Face cache when already there, and
// downloaded resumably (hub_download.h) otherwise. A failed pull leaves no manifest and no new blob.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "store/hub_client.h"
#include "store/model_store.h"

namespace smolvlm {

struct PullSource {
  std::string repo;              // "ggml-org/SmolVLM2-2.2B-Instruct-GGUF"
  std::string revision = "main";
  std::string quant;             // "Q4_K_M"; "" = the default choice
  std::string model_name;        // the store name ("hf.co/ggml-org/…:Q8_0", "smolvlm2:256m")
  bool safetensors = false;      // a HuggingFaceTB/... checkpoint to convert
};

// Maps a pull name to its repository. Throws Error for a name that is not one of the forms above
// (with the list of what is supported).
PullSource resolve_pull_name(const std::string& name);

// The GGUF files a pull takes from a repository listing.
struct GgufChoice {
  HubFile model;
  std::optional<HubFile> projector;
};
// quant "" = default. Throws Error listing the available quantizations when none matches.
GgufChoice choose_gguf_files(const std::vector<HubFile>& files, const std::string& quant, const std::string& repo);
// "Q4_K_M" from "SmolVLM2-2.2B-Instruct-Q4_K_M.gguf" (the part after the last '-' or '.', upper case).
std::string gguf_file_quant(const std::string& path);

// SmolVLM2's TEMPLATE and PARAMETERs (modelfiles/smolvlm2-*.Modelfile) for a SmolVLM repository;
// nullopt for any other repository.
struct ModelDefaults {
  std::string template_text;
  nlohmann::json parameters;  // {"num_ctx":…, "stop":[…], "temperature":0}
};
std::optional<ModelDefaults> smolvlm_defaults(const std::string& repo);

// One progress line as /api/pull streams it: status, and for file transfers digest / total /
// completed (-1: absent).
struct PullEvent {
  std::string status;
  std::string digest;
  int64_t total = -1, completed = -1;
};
// Called on the pulling thread. An exception it throws cancels the pull (running transfers stop;
// partial downloads stay for a later resume) and propagates to the caller.
using PullProgress = std::function<void(const PullEvent&)>;

// Turns a downloaded checkpoint folder into GGUF files written into work_dir: returns their paths
// (text model first, then the projector), the text model quantized to `quant` ("Q4_K_M", ...).
using CheckpointConverter =
    std::function<std::vector<std::string>(const std::string& hf_dir, const std::string& quant, const std::string& work_dir)>;

// Throws Error for safetensors names when `convert` is empty.
ResolvedModel pull_model(ModelStore& store, const std::string& name, const HubConfig& cfg,
                         const PullProgress& progress = {}, const CheckpointConverter& convert = {});

}  // namespace smolvlm
