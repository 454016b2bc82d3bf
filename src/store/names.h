// Ollama model names (reference/ollama-contract.md §0 "Model names"): [host/][namespace/]model[:tag],
// defaults registry.ollama.ai / library / latest. Each part has Ollama's character and length rules,
// which also rule out every path trick ("..", "/", "\", empty parts): a valid name is always a
// safe four-level path under manifests/.
#pragma once

#include <optional>
#include <string>

namespace smolvlm {

struct ModelName {
  std::string host, ns, model, tag;

  // Parses and fills in the defaults; throws Error "invalid model name '<s>': <why>" when a part
  // breaks Ollama's rules.
  static ModelName parse(const std::string& s);
  // nullopt instead of throwing.
  static std::optional<ModelName> try_parse(const std::string& s);
  // A file path rather than a model name: starts with "/", "." or "~", ends with "/" or ".gguf",
  // or has a "/" and is no valid name ("hf.co/org/repo:tag" is a name).
  static bool looks_like_path(const std::string& s);
  // The four manifest path parts ("host/ns/model/tag"), already checked by the part rules;
  // nullopt for anything else.
  static std::optional<ModelName> from_relative_path(const std::string& rel);

  std::string full() const;      // "registry.ollama.ai/library/smolvlm2:256m"
  std::string shortest() const;  // "smolvlm2:256m", "user/x:latest", "hf.co/org/repo:Q8_0"
  std::string relative_path() const;  // "registry.ollama.ai/library/smolvlm2/256m"
  // Same name ignoring case (Ollama's lookup is case-insensitive per part).
  bool equal_fold(const ModelName& o) const;
  bool operator==(const ModelName& o) const = default;
};

enum class NamePart { Host, Namespace, Model, Tag };
// Ollama's per-part rule: 1..80 chars (host 1..350), first [A-Za-z0-9_], then [A-Za-z0-9_.-]
// (namespace: no '.'; host: ':' allowed too).
bool valid_name_part(NamePart kind, const std::string& s);

}  // namespace smolvlm
