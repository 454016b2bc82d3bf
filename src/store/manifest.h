// Ollama manifests and config blobs (reference/ollama-contract.md §7.2–7.4): the JSON we write is
// what Go's encoding/json writes (struct field order, compact, "<", ">" and "&" escaped, trailing
// newline), so a manifest we create reads — and hashes — like one Ollama created.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace smolvlm {

namespace media_type {
inline constexpr const char* kManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr const char* kModel = "application/vnd.ollama.image.model";
inline constexpr const char* kProjector = "application/vnd.ollama.image.projector";
inline constexpr const char* kAdapter = "application/vnd.ollama.image.adapter";
inline constexpr const char* kTemplate = "application/vnd.ollama.image.template";
inline constexpr const char* kPrompt = "application/vnd.ollama.image.prompt";  // legacy template
inline constexpr const char* kSystem = "application/vnd.ollama.image.system";
inline constexpr const char* kParams = "application/vnd.ollama.image.params";
inline constexpr const char* kMessages = "application/vnd.ollama.image.messages";
inline constexpr const char* kLicense = "application/vnd.ollama.image.license";
}  // namespace media_type

struct ManifestLayer {
  std::string media_type;
  std::string digest;  // "sha256:<hex>"
  int64_t size = 0;
  std::string from;    // optional
  std::string name;    // optional (safetensors tensor layers)
};

struct Manifest {
  int schema_version = 2;
  std::string media_type = media_type::kManifest;
  ManifestLayer config;
  std::vector<ManifestLayer> layers;

  // Parses manifest JSON; throws Error "<what>: …" naming the bad field. Unknown fields are kept
  // out of the struct but a pulled manifest is never rewritten, so nothing is lost.
  static Manifest parse(const std::string& bytes, const std::string& what);
  // Go's encoding of the manifest (what Ollama's WriteManifest produces).
  std::string serialize() const;
  int64_t total_size() const;  // layers + config, as /api/tags reports
  const ManifestLayer* first(const std::string& media_type) const;
};

// nlohmann::ordered_json -> Go encoding/json bytes: compact, HTML characters and U+2028/2029
// escaped, "\n" appended (json.Encoder.Encode).
std::string go_json(const nlohmann::ordered_json& j);

// sha256 of bytes, "sha256:<hex>".
std::string sha256_digest(const std::string& bytes);

}  // namespace smolvlm
