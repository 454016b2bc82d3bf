// Ollama's on-disk model store, shared with the real Ollama (reference/ollama-contract.md §7):
// $OLLAMA_MODELS or ~/.ollama/models, manifests/<host>/<namespace>/<model>/<tag> (JSON) and
// blobs/sha256-<hex>. Names are Ollama's: [host/][namespace/]model[:tag], defaults
// registry.ollama.ai / library / latest. Every write is atomic (temp + fsync + rename) and every
// blob is verified against its digest; removing a model prunes the blobs nothing references.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace smolvlm {

// What a stored model resolves to: the files and the settings the runtime needs.
struct ResolvedModel {
  std::string name;          // normalized: "registry.ollama.ai/library/smolvlm2:256m"
  std::string short_name;    // as Ollama prints it: "smolvlm2:256m"
  std::string digest;        // sha256 of the manifest ("sha256:<hex>"), Ollama's model digest
  std::string text_path;     // blob path of the application/vnd.ollama.image.model layer
  std::string mmproj_path;   // blob path of the ...image.projector layer ("" when none)
  std::string template_text; // ...image.template ("" when none: the native SmolVLM2 template)
  std::string system;        // ...image.system
  nlohmann::json params = nlohmann::json::object();  // ...image.params (PARAMETER values, typed)
  std::vector<nlohmann::json> messages;              // ...image.messages (MESSAGE history)
  std::string license;
  int64_t size = 0;          // bytes of all layers
  std::string modified_at;   // RFC 3339, the manifest's mtime
};

struct ListedModel {
  std::string name, short_name, digest, modified_at;
  int64_t size = 0;
  nlohmann::json details;  // format, family, families, parameter_size, quantization_level
};

class ModelStore {
 public:
  explicit ModelStore(std::string root);
  // $OLLAMA_MODELS, else $HOME/.ollama/models.
  static std::string default_root();

  const std::string& root() const { return root_; }
  // Throws Error (Ollama's message "model '<name>' not found") for an unknown name, a clear error
  // for an invalid name (path tricks such as "../" included) or a blob missing from disk.
  ResolvedModel resolve(const std::string& name) const;
  std::vector<ListedModel> list() const;

 private:
  std::string root_;
};

}  // namespace smolvlm
