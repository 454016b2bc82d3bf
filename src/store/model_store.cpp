#include "store/model_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>

#include "base/error.h"
#include "base/file_util.h"
#include "io/gguf.h"
#include "io/gguf_keys.h"
#include "store/gguf_info.h"
#include "store/modelfile.h"

namespace fs = std::filesystem;

namespace smolvlm {
namespace {

std::string not_found(const std::string& name) { return cat("model '", name, "' not found"); }

// The manifest file's mtime as RFC 3339.
std::string mtime_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  return rfc3339_nano(st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

// A small text layer's bytes, verified against its digest (a tampered or truncated blob is an
// error, never silently used).
std::string read_text_layer(const BlobStore& blobs, const ManifestLayer& l) {
  const std::string p = blobs.path(l.digest);
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) blobs.size(l.digest);  // throws the "missing" error
  const std::string bytes = read_file(p);
  if (sha256_digest(bytes) != l.digest) {
    fail("blob ", p, " does not match its digest ", l.digest, " (", l.media_type, " layer); the store is corrupt");
  }
  return bytes;
}

// A weights layer: present and of the manifest's size (a full re-hash is verify()'s job).
std::string weights_path(const BlobStore& blobs, const ManifestLayer& l) {
  const int64_t n = blobs.size(l.digest);
  if (n != l.size) {
    fail("blob ", blobs.path(l.digest), " has ", n, " bytes but the manifest says ", l.size, " (", l.media_type,
         " layer); the store is corrupt");
  }
  return blobs.path(l.digest);
}

nlohmann::json parse_json_layer(const std::string& bytes, const ManifestLayer& l, const BlobStore& blobs) {
  try {
    return nlohmann::json::parse(bytes);
  } catch (const nlohmann::json::exception& e) {
    fail(blobs.path(l.digest), ": ", l.media_type, " layer is not valid JSON: ", e.what());
  }
}

// Go's %#v / %v of a JSON value as Ollama prints parameters.
std::string go_value(const nlohmann::json& v, bool quoted) {
  if (v.is_string()) return quoted ? nlohmann::json(v.get<std::string>()).dump() : v.get<std::string>();
  return v.dump();
}

}  // namespace

std::string rfc3339_nano(int64_t sec, int64_t nsec) {
  const std::time_t t = static_cast<std::time_t>(sec);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string s = buf;
  if (nsec > 0) {
    char frac[32];
    std::snprintf(frac, sizeof frac, ".%09lld", static_cast<long long>(nsec));
    std::string f = frac;
    while (f.back() == '0') f.pop_back();
    s += f;
  }
  return s + "Z";
}

namespace {
std::string strip_slashes(std::string r) {
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  return r;
}
}  // namespace

ModelStore::ModelStore(std::string root) : root_(strip_slashes(std::move(root))), blobs_(root_) {}

std::string ModelStore::default_root() {
  if (const char* m = std::getenv("OLLAMA_MODELS"); m && *m) return m;
  const char* home = std::getenv("HOME");
  return cat(home && *home ? home : ".", "/.ollama/models");
}

std::string ModelStore::manifest_path(const ModelName& n) const { return root_ + "/manifests/" + n.relative_path(); }

std::vector<ModelName> ModelStore::names() const {
  std::vector<ModelName> out;
  const fs::path base = fs::path(root_) / "manifests";
  std::error_code ec;
  if (!fs::is_directory(base, ec)) return out;
  // Exactly four levels, as Ollama's glob */*/*/*.
  for (auto it = fs::recursive_directory_iterator(base, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it.depth() >= 3) it.disable_recursion_pending();
    if (it.depth() != 3 || !it->is_regular_file(ec)) continue;
    if (auto n = ModelName::from_relative_path(fs::relative(it->path(), base).generic_string())) out.push_back(*n);
  }
  std::sort(out.begin(), out.end(), [](const ModelName& a, const ModelName& b) { return a.full() < b.full(); });
  return out;
}

std::optional<ModelName> ModelStore::find(const ModelName& n) const {
  std::error_code ec;
  if (fs::is_regular_file(manifest_path(n), ec)) return n;
  for (const auto& m : names()) {
    if (m.equal_fold(n)) return m;
  }
  return std::nullopt;
}

std::optional<ModelName> ModelStore::find(const std::string& name) const { return find(ModelName::parse(name)); }

Manifest ModelStore::read_manifest(const ModelName& n, std::string* bytes) const {
  const std::string p = manifest_path(n);
  const std::string b = read_file(p);
  Manifest m = Manifest::parse(b, p);
  if (bytes) *bytes = b;
  return m;
}

std::string ModelStore::write_manifest(const ModelName& n, const Manifest& m) {
  const std::string bytes = m.serialize();
  blobs_.write_atomic(manifest_path(n), bytes);
  return sha256_digest(bytes);
}

std::set<std::string> ModelStore::referenced() const {
  std::set<std::string> used;
  for (const auto& n : names()) {
    try {
      const Manifest m = read_manifest(n);
      used.insert(m.config.digest);
      for (const auto& l : m.layers) used.insert(l.digest);
    } catch (const Error&) {
      // an unreadable manifest references nothing we can know of
    }
  }
  return used;
}

size_t ModelStore::remove_unreferenced(const std::vector<std::string>& digests) {
  const auto used = referenced();
  size_t removed = 0;
  std::error_code ec;
  for (const auto& d : digests) {
    if (used.count(canonical_digest(d))) continue;
    removed += fs::remove(blobs_.path(d), ec) ? 1 : 0;
  }
  return removed;
}

BlobStore::Pruned ModelStore::prune_stale(int64_t min_age_seconds) {
  // Every file under manifests/, at any depth (another tool's layout too). One that cannot be read
  // or parsed, or a folder that cannot be walked, may reference any blob: then no blob is removed,
  // only temporaries.
  std::set<std::string> used;
  bool complete = true;
  const fs::path base = fs::path(root_) / "manifests";
  std::error_code ec;
  if (fs::is_directory(base, ec)) {
    auto it = fs::recursive_directory_iterator(base, ec);
    if (ec) complete = false;
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      std::error_code fec;
      if (!it->is_regular_file(fec)) continue;
      try {
        const std::string p = it->path().string();
        const Manifest m = Manifest::parse(read_file(p), p);
        used.insert(m.config.digest);
        for (const auto& l : m.layers) used.insert(l.digest);
      } catch (const std::exception&) {
        complete = false;
      }
    }
    if (ec) complete = false;
  }
  return blobs_.prune(used, min_age_seconds, complete);
}

ResolvedModel ModelStore::resolve(const std::string& name) const {
  const ModelName wanted = ModelName::parse(name);
  const auto n = find(wanted);
  if (!n) fail(not_found(name));
  std::string bytes;
  const Manifest m = read_manifest(*n, &bytes);
  ResolvedModel r;
  r.name = n->full();
  r.short_name = n->shortest();
  r.digest = sha256_digest(bytes);
  r.size = m.total_size();
  r.modified_at = mtime_of(manifest_path(*n));
  for (const auto& l : m.layers) {
    const std::string& t = l.media_type;
    if (t == media_type::kModel && r.text_path.empty()) {
      r.text_path = weights_path(blobs_, l);
    } else if (t == media_type::kProjector && r.mmproj_path.empty()) {
      r.mmproj_path = weights_path(blobs_, l);
    } else if (t == media_type::kTemplate || t == media_type::kPrompt) {
      r.template_text = read_text_layer(blobs_, l);
    } else if (t == media_type::kSystem) {
      r.system = read_text_layer(blobs_, l);
    } else if (t == media_type::kParams) {
      r.params = parse_json_layer(read_text_layer(blobs_, l), l, blobs_);
      if (!r.params.is_object()) fail(blobs_.path(l.digest), ": params layer is not a JSON object");
    } else if (t == media_type::kMessages) {
      const auto msgs = parse_json_layer(read_text_layer(blobs_, l), l, blobs_);
      if (!msgs.is_array()) fail(blobs_.path(l.digest), ": messages layer is not a JSON array");
      r.messages.assign(msgs.begin(), msgs.end());
    } else if (t == media_type::kLicense) {
      if (!r.license.empty()) r.license += '\n';
      r.license += read_text_layer(blobs_, l);
    }
  }
  if (r.text_path.empty()) {
    fail("model '", name, "' has no ", media_type::kModel, " layer (not a GGUF model smolvlm can run)");
  }
  return r;
}

std::vector<ListedModel> ModelStore::list() const {
  std::vector<ListedModel> out;
  for (const auto& n : names()) {
    std::string bytes;
    Manifest m;
    try {
      m = read_manifest(n, &bytes);
    } catch (const Error&) {
      continue;  // Ollama skips manifests it cannot parse
    }
    ListedModel lm;
    lm.name = n.full();
    lm.short_name = n.shortest();
    lm.digest = sha256_digest(bytes).substr(7);
    lm.size = m.total_size();
    lm.modified_at = mtime_of(manifest_path(n));
    nlohmann::json cfg = nlohmann::json::object();
    try {
      cfg = nlohmann::json::parse(read_file(blobs_.path(m.config.digest)));
    } catch (const std::exception&) {
    }
    const ManifestLayer* model = m.first(media_type::kModel);
    auto field = [&](const char* k) { return cfg.is_object() && cfg.contains(k) ? cfg[k] : nlohmann::json(""); };
    lm.details = {{"parent_model", model ? model->from : ""},
                  {"format", field("model_format")},
                  {"family", field("model_family")},
                  {"families", cfg.is_object() && cfg.contains("model_families") ? cfg["model_families"] : nlohmann::json(nullptr)},
                  {"parameter_size", field("model_type")},
                  {"quantization_level", field("file_type")}};
    out.push_back(std::move(lm));
  }
  // Ollama lists the most recently modified first.
  std::stable_sort(out.begin(), out.end(), [](const ListedModel& a, const ListedModel& b) { return a.modified_at > b.modified_at; });
  return out;
}

ShowInfo ModelStore::show(const std::string& name, bool verbose) const {
  ShowInfo s;
  s.model = resolve(name);
  const auto n = find(name);
  const Manifest m = read_manifest(*n);
  for (const auto& l : m.layers) {
    if (l.media_type == media_type::kLicense) s.licenses.push_back(read_text_layer(blobs_, l));
  }
  nlohmann::json cfg = nlohmann::json::object();
  try {
    cfg = nlohmann::json::parse(read_file(blobs_.path(m.config.digest)));
  } catch (const std::exception&) {
  }
  auto field = [&](const char* k) { return cfg.is_object() && cfg.contains(k) ? cfg[k] : nlohmann::json(""); };
  const ManifestLayer* model = m.first(media_type::kModel);
  s.details = {{"parent_model", model ? model->from : ""},
               {"format", field("model_format")},
               {"family", field("model_family")},
               {"families", cfg.is_object() && cfg.contains("model_families") ? cfg["model_families"] : nlohmann::json(nullptr)},
               {"parameter_size", field("model_type")},
               {"quantization_level", field("file_type")}};

  const GgufFile text = GgufFile::open(s.model.text_path);
  s.model_info = gguf_model_info(text, verbose);
  bool vision = text.find("vision.block_count") != nullptr;
  if (!s.model.mmproj_path.empty()) {
    s.projector_info = gguf_model_info(GgufFile::open(s.model.mmproj_path), verbose);
    vision = true;
  }
  if (s.details["quantization_level"] == "" || s.details["quantization_level"] == "unknown") {
    s.details["quantization_level"] = gguf_file_type_name(text);
  }
  s.capabilities = {"completion"};
  if (vision) s.capabilities.push_back("vision");

  // Parameters, one per line (stop repeated per value), names sorted.
  std::vector<std::pair<std::string, std::string>> params;  // name, %v value
  for (const auto& [k, v] : s.model.params.items()) {
    if (v.is_array()) {
      for (const auto& e : v) params.emplace_back(k, go_value(e, true) + "\x01" + go_value(e, false));
    } else {
      params.emplace_back(k, go_value(v, true) + "\x01" + go_value(v, false));
    }
  }
  std::string modelfile_params;
  for (const auto& [k, both] : params) {
    const auto sep = both.find('\x01');
    char buf[64];
    std::snprintf(buf, sizeof buf, "%-30s", k.c_str());
    if (!s.parameters.empty()) s.parameters += "\n";
    s.parameters += cat(buf, " ", both.substr(0, sep));
    modelfile_params += cat("PARAMETER ", k, " ", modelfile_quote(both.substr(sep + 1)), "\n");
  }

  std::string mf = cat("# Modelfile generated by \"ollama show\"\n# To build a new Modelfile based on this, replace FROM with:\n# FROM ",
                       s.model.short_name, "\n\nFROM ", s.model.text_path, "\n");
  if (!s.model.mmproj_path.empty()) mf += cat("FROM ", s.model.mmproj_path, "\n");
  if (!s.model.template_text.empty()) mf += cat("TEMPLATE ", modelfile_quote(s.model.template_text), "\n");
  if (!s.model.system.empty()) mf += cat("SYSTEM ", modelfile_quote(s.model.system), "\n");
  if (auto r = field("renderer"); r.is_string() && !r.get<std::string>().empty()) mf += cat("RENDERER ", modelfile_quote(r.get<std::string>()), "\n");
  if (auto p = field("parser"); p.is_string() && !p.get<std::string>().empty()) mf += cat("PARSER ", modelfile_quote(p.get<std::string>()), "\n");
  mf += modelfile_params;
  for (const auto& l : s.licenses) mf += cat("LICENSE ", modelfile_quote(l), "\n");
  for (const auto& msg : s.model.messages) {
    mf += cat("MESSAGE ", msg.value("role", ""), " ", modelfile_quote(msg.value("content", "")), "\n");
  }
  s.modelfile = mf;
  return s;
}

void ModelStore::copy(const std::string& src, const std::string& dst) {
  const ModelName s = ModelName::parse(src);
  const ModelName d = ModelName::parse(dst);
  const auto found = find(s);
  if (!found) fail("model \"", src, "\" not found");
  const std::string bytes = read_file(manifest_path(*found));
  Manifest::parse(bytes, manifest_path(*found));  // never copy garbage
  // Overwriting another name: keep its on-disk spelling when it exists in another case.
  const ModelName target = find(d).value_or(d);
  std::vector<std::string> old;
  if (!(target == *found)) {
    try {
      const Manifest prev = read_manifest(target);
      old.push_back(prev.config.digest);
      for (const auto& l : prev.layers) old.push_back(l.digest);
    } catch (const Error&) {
    }
  }
  blobs_.write_atomic(manifest_path(target), bytes);
  if (!old.empty()) remove_unreferenced(old);
}

void ModelStore::remove(const std::string& name) {
  const auto n = find(name);
  if (!n) fail(not_found(name));
  std::vector<std::string> digests;
  try {
    const Manifest m = read_manifest(*n);
    digests.push_back(m.config.digest);
    for (const auto& l : m.layers) digests.push_back(l.digest);
  } catch (const Error&) {
    // a corrupt manifest is still removable
  }
  const std::string p = manifest_path(*n);
  std::error_code ec;
  if (!fs::remove(p, ec)) fail(p, ": cannot remove the manifest: ", ec.message());
  // Remove the now-empty manifest folders (Ollama's PruneDirectory), never manifests/ itself.
  fs::path dir = fs::path(p).parent_path();
  for (int level = 0; level < 3; ++level, dir = dir.parent_path()) {  // model, namespace, host
    if (!fs::is_empty(dir, ec) || !fs::remove(dir, ec)) break;
  }
  remove_unreferenced(digests);
  if (!prune_disabled()) prune_stale();  // what earlier failures and killed processes left
}

bool ModelStore::prune_disabled() {
  const char* v = std::getenv("OLLAMA_NOPRUNE");
  return v != nullptr && *v != '\0' && std::string_view(v) != "0" && std::string_view(v) != "false";
}

void ModelStore::verify(const std::string& name) const {
  const auto n = find(name);
  if (!n) fail(not_found(name));
  const Manifest m = read_manifest(*n);
  blobs_.verify(m.config.digest);
  for (const auto& l : m.layers) blobs_.verify(l.digest);
}

bool ModelStore::blob_exists(const std::string& digest) const { return blobs_.exists(digest); }

BlobInfo ModelStore::put_blob(const std::string& digest, const BlobStore::Source& body) {
  const std::string d = canonical_digest(digest);
  if (blobs_.exists(d)) {
    blobs_.touch(d);
    return BlobInfo{d, blobs_.size(d), false};
  }
  return blobs_.put(body, d);
}

std::optional<ResolvedModel> try_resolve(const std::string& name_or_path) {
  std::error_code ec;
  if (fs::exists(name_or_path, ec)) return std::nullopt;
  return ModelStore(ModelStore::default_root()).resolve(name_or_path);
}

}  // namespace smolvlm
