#include "store/create.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <filesystem>

#include "base/error.h"
#include "base/file_util.h"
#include "io/gguf.h"
#include "store/gguf_info.h"
#include "store/modelfile.h"
#include "store/names.h"

namespace fs = std::filesystem;

namespace smolvlm {
namespace {

// Go's fs.ValidPath: unrooted, slash-separated, no empty, "." or ".." elements.
bool valid_relative_path(const std::string& p) {
  if (p.empty() || p == ".") return p == ".";
  size_t start = 0;
  for (;;) {
    const auto e = p.find('/', start);
    const std::string elem = p.substr(start, e == std::string::npos ? std::string::npos : e - start);
    if (elem.empty() || elem == "." || elem == ".." || elem.find('\\') != std::string::npos) return false;
    if (e == std::string::npos) return true;
    start = e + 1;
  }
}

// Blobs this create added; removed again (when unreferenced) unless the create succeeds.
class CreatedBlobs {
 public:
  explicit CreatedBlobs(ModelStore& s) : store_(s) {}
  ~CreatedBlobs() {
    if (!done_ && !digests_.empty()) {
      try {
        store_.remove_unreferenced(digests_);
      } catch (...) {
      }
    }
  }
  void add(const BlobInfo& b) {
    if (b.created) digests_.push_back(b.digest);
  }
  void commit() { done_ = true; }

 private:
  ModelStore& store_;
  std::vector<std::string> digests_;
  bool done_ = false;
};

void say(const CreateProgress& p, const std::string& s) {
  if (p) p(s);
}

ManifestLayer text_layer(ModelStore& store, CreatedBlobs& created, const std::string& media_type,
                         const std::string& bytes, const CreateProgress& progress) {
  const BlobInfo b = store.blobs().put_bytes(bytes);
  created.add(b);
  say(progress, cat(b.created ? "creating new layer " : "using existing layer ", b.digest));
  return ManifestLayer{media_type, b.digest, b.size, "", ""};
}

void drop(std::vector<ManifestLayer>& layers, const std::string& media_type) {
  std::erase_if(layers, [&](const ManifestLayer& l) { return l.media_type == media_type; });
}

// Removes a file when it goes out of scope (a quantizer's output once copied into the store).
struct ScratchFile {
  std::string path;
  ~ScratchFile() {
    std::error_code ec;
    fs::remove(path, ec);
  }
};

// The request's "quantize": the first model layer, rewritten by the quantizer into a new blob.
// Returns the source layer's digest (no longer in `layers`).
std::string quantize_model_layer(ModelStore& store, CreatedBlobs& created, std::vector<ManifestLayer>& layers,
                                 const std::string& type, const ModelQuantizer& quantizer,
                                 const CreateProgress& progress) {
  if (!quantizer) fail("quantization to ", type, " is not available here");
  const auto it = std::find_if(layers.begin(), layers.end(),
                               [](const ManifestLayer& l) { return l.media_type == media_type::kModel; });
  const std::string src = store.blobs().path(it->digest);
  std::string from;
  try {
    from = gguf_file_type_name(GgufFile::open(src));
  } catch (const Error& e) {
    fail("cannot quantize model layer ", it->digest, ": not a GGUF file: ", e.what());
  }
  if (from != "F16" && from != "BF16" && from != "F32")
    fail("quantization is only supported for F16, BF16 and F32 models (", it->digest, " is ", from, ")");
  std::string upper = type;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  say(progress, cat("quantizing ", from, " model to ", upper));
  fs::create_directories(store.blobs().dir());
  static std::atomic<uint64_t> serial{0};
  const ScratchFile out{cat(store.blobs().dir(), "/.quantize-", ::getpid(), "-", serial++, ".gguf")};
  quantizer(src, out.path, type);
  const BlobInfo b = store.blobs().put_file(out.path);
  created.add(b);
  say(progress, cat(b.created ? "creating new layer " : "using existing layer ", b.digest));
  const std::string source = it->digest;
  *it = ManifestLayer{media_type::kModel, b.digest, b.size, "", ""};
  return source;
}

}  // namespace

ResolvedModel create_model(ModelStore& store, const CreateRequest& req, const CreateProgress& progress,
                           const ModelQuantizer& quantizer) {
  const StoreWriterLock writer = store.blobs().writing();  // its scratch files are live
  CreatedBlobs created(store);
  for (const auto& d : req.new_blobs) created.add(BlobInfo{d, 0, true});
  const auto target = ModelName::try_parse(req.model);
  if (!target) fail("invalid model name '", req.model, "'");
  if (req.from.empty() && req.files.empty()) fail("neither 'from' or 'files' was specified");
  std::vector<ManifestLayer> layers;
  nlohmann::ordered_json inherited = nlohmann::ordered_json::object();  // the source model's config

  if (!req.from.empty()) {
    const auto src = store.find(req.from);
    if (!src) fail("model '", req.from, "' not found");
    const Manifest m = store.read_manifest(*src);
    try {
      inherited = nlohmann::ordered_json::parse(read_file(store.blobs().path(m.config.digest)));
    } catch (const std::exception&) {
    }
    for (ManifestLayer l : m.layers) {
      l.size = store.blobs().size(l.digest);  // present, or a clear "missing" error
      l.from = src->shortest();                // Ollama records the source on every layer
      say(progress, cat("using existing layer ", l.digest));
      layers.push_back(l);
    }
  }

  // Files sorted by name, each classified by its GGUF metadata.
  std::vector<CreateFile> files = req.files;
  std::sort(files.begin(), files.end(), [](const CreateFile& a, const CreateFile& b) { return a.name < b.name; });
  if (!files.empty()) say(progress, "parsing GGUF");
  for (const auto& f : files) {
    if (!valid_relative_path(f.name)) fail("file path must be relative: '", f.name, "'");
    const std::string digest = canonical_digest(f.digest);
    const std::string path = store.blobs().path(digest);
    if (!store.blobs().exists(digest)) fail("blob ", digest, " for '", f.name, "' is not in the store; upload it first");
    std::optional<GgufFile> g;
    try {
      g.emplace(GgufFile::open(path));
    } catch (const Error& e) {
      fail("supplied file was not in GGUF format: '", f.name, "': ", e.what());
    }
    const GgufRole role = gguf_role(*g);
    if (role == GgufRole::Adapter) fail("'", f.name, "' is a LoRA adapter; smolvlm does not support adapters");
    say(progress, cat("using existing layer ", digest));
    layers.push_back(ManifestLayer{gguf_role_media_type(role), digest, store.blobs().size(digest), f.name, ""});
  }
  if (std::none_of(layers.begin(), layers.end(), [](const ManifestLayer& l) { return l.media_type == media_type::kModel; })) {
    fail("no model weights: the files and the 'from' model hold no ", media_type::kModel, " layer (only projectors?)");
  }
  std::vector<std::string> replaced;  // source blobs a quantized layer replaced
  if (!req.quantize.empty())
    replaced.push_back(quantize_model_layer(store, created, layers, req.quantize, quantizer, progress));

  // Config (§7.4), from the first model layer's GGUF, inherited values otherwise.
  std::string format, family, type, file_type;
  std::vector<std::string> families;
  for (const auto& l : layers) {
    if (l.media_type != media_type::kModel) continue;
    try {
      const GgufFile g = GgufFile::open(store.blobs().path(l.digest));
      if (format.empty()) format = "gguf";
      if (family.empty()) family = g.architecture();
      if (type.empty()) type = human_number(gguf_parameter_count(g));
      if (file_type.empty()) file_type = gguf_file_type_name(g);
      families.push_back(g.architecture());
    } catch (const Error&) {
      // not a GGUF (e.g. a pulled safetensors layer): keep the inherited fields
    }
  }
  auto inherit = [&](const char* key, const std::string& mine) -> std::string {
    if (!mine.empty()) return mine;
    return inherited.contains(key) && inherited[key].is_string() ? inherited[key].get<std::string>() : "";
  };

  if (req.template_text) {
    drop(layers, media_type::kTemplate);
    drop(layers, media_type::kPrompt);
    layers.push_back(text_layer(store, created, media_type::kTemplate, *req.template_text, progress));
  }
  if (req.system && !req.system->empty()) {
    drop(layers, media_type::kSystem);
    layers.push_back(text_layer(store, created, media_type::kSystem, *req.system, progress));
  }
  for (const auto& lic : req.licenses) {
    if (!lic.empty()) layers.push_back(text_layer(store, created, media_type::kLicense, lic, progress));
  }
  // Parameters: the request's over the inherited ones (each checked against the option table).
  nlohmann::json params = nlohmann::json::object();
  for (const auto& l : layers) {
    if (l.media_type != media_type::kParams) continue;
    try {
      auto old = nlohmann::json::parse(read_file(store.blobs().path(l.digest)));
      if (old.is_object()) params.update(old);
    } catch (const std::exception& e) {
      fail("cannot read the params layer ", l.digest, " of '", req.from, "': ", e.what());
    }
  }
  if (!req.parameters.is_null() && !req.parameters.is_object()) fail("parameters must be a JSON object");
  for (const auto& [k, v] : req.parameters.items()) params[k] = v;
  if (!params.empty()) {
    drop(layers, media_type::kParams);
    layers.push_back(text_layer(store, created, media_type::kParams, go_json(params), progress));
  }
  if (!req.messages.empty()) {
    drop(layers, media_type::kMessages);
    nlohmann::ordered_json msgs = nlohmann::ordered_json::array();
    for (const auto& m : req.messages) {
      const std::string role = m.value("role", "");
      if (role != "system" && role != "user" && role != "assistant") {
        fail("message role must be one of \"system\", \"user\", or \"assistant\" (got '", role, "')");
      }
      nlohmann::ordered_json o;
      o["role"] = role;
      o["content"] = m.value("content", "");
      msgs.push_back(o);
    }
    layers.push_back(text_layer(store, created, media_type::kMessages, go_json(msgs), progress));
  }

  nlohmann::ordered_json cfg;
  cfg["model_format"] = inherit("model_format", format);
  cfg["model_family"] = inherit("model_family", family);
  if (!families.empty()) cfg["model_families"] = families;
  else if (inherited.contains("model_families")) cfg["model_families"] = inherited["model_families"];
  else cfg["model_families"] = nullptr;
  cfg["model_type"] = inherit("model_type", type);
  cfg["file_type"] = inherit("file_type", file_type);
  if (auto r = inherit("renderer", req.renderer); !r.empty()) cfg["renderer"] = r;
  if (auto p = inherit("parser", req.parser); !p.empty()) cfg["parser"] = p;
  if (auto q = inherit("requires", req.requires_version); !q.empty()) cfg["requires"] = q;
  cfg["architecture"] = "amd64";
  cfg["os"] = "linux";
  const BlobInfo cb = store.blobs().put_bytes(go_json(cfg));
  created.add(cb);

  Manifest m;
  m.config = ManifestLayer{media_type::kConfig, cb.digest, cb.size, "", ""};
  m.layers = layers;
  for (const auto& l : layers) store.blobs().size(l.digest);  // all present right before writing

  // The previous manifest of this name: its blobs that end up unused are removed afterwards.
  const ModelName name = store.find(*target).value_or(*target);
  std::vector<std::string> old;
  try {
    const Manifest prev = store.read_manifest(name);
    old.push_back(prev.config.digest);
    for (const auto& l : prev.layers) old.push_back(l.digest);
  } catch (const Error&) {
  }
  say(progress, "writing manifest");
  store.write_manifest(name, m);
  created.commit();
  store.blobs().touch(cb.digest);
  for (const auto& l : layers) store.blobs().touch(l.digest);
  old.insert(old.end(), replaced.begin(), replaced.end());
  if (!old.empty()) store.remove_unreferenced(old);
  say(progress, "success");
  return store.resolve(name.full());
}

ModelfileSources modelfile_sources(const Modelfile& mf, const std::string& base_dir) {
  ModelfileSources out;
  for (const auto& from : mf.from) {
    if (from.rfind("@sha256:", 0) == 0 || from.rfind("@sha256-", 0) == 0) {
      // Legacy clients (Ollama <= 0.5.4) upload first and write "FROM @sha256:<hex>".
      out.digests.push_back(canonical_digest(from.substr(1)));
      continue;
    }
    fs::path p = expand_home(from);
    if (p.is_relative()) p = fs::path(base_dir) / p;
    p = p.lexically_normal();
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) {
      out.paths.push_back(p.string());
    } else if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (const auto& e : fs::directory_iterator(p, ec)) {
        if (e.is_regular_file() && e.path().extension() == ".gguf") found.push_back(e.path().string());
      }
      if (found.empty()) fail("FROM ", from, ": the folder holds no .gguf file");
      std::sort(found.begin(), found.end());
      out.paths.insert(out.paths.end(), found.begin(), found.end());
    } else if (ModelName::looks_like_path(from)) {
      if (fs::path(expand_home(from)).is_relative())
        fail("FROM ", from, ": file not found: ", p.string(), " (relative to the Modelfile's folder, ", base_dir,
             "; put the GGUF there or give its absolute path)");
      fail("FROM ", from, ": file not found: ", p.string());
    } else {
      out.from = from;  // a model name
    }
  }
  for (const auto& p : out.paths) {
    try {
      (void)GgufFile::open(p);
    } catch (const Error& e) {
      fail("supplied file was not in GGUF format: ", e.what());
    }
  }
  return out;
}

CreateRequest create_request_from_modelfile(ModelStore& store, const std::string& model, const Modelfile& mf,
                                            const std::string& base_dir, const CreateProgress& progress) {
  CreateRequest req;
  req.model = model;
  if (!ModelName::try_parse(model)) fail("invalid model name '", model, "'");
  // First find every local GGUF and check it is one, before anything enters the store.
  const ModelfileSources src = modelfile_sources(mf, base_dir);
  for (const std::string& d : src.digests) {
    if (!store.blobs().exists(d)) fail("FROM @", d, ": blob ", d, " is not in the store; upload it first");
    req.files.push_back(CreateFile{"sha256-" + d.substr(7) + ".gguf", d});
  }
  req.from = src.from;
  const std::vector<std::string>& paths = src.paths;
  try {
    for (const auto& p : paths) {
      say(progress, cat("copying file ", p));
      const BlobInfo b = store.blobs().put_file(p);
      if (b.created) req.new_blobs.push_back(b.digest);
      req.files.push_back(CreateFile{fs::path(p).filename().string(), b.digest});
    }
  } catch (...) {
    store.remove_unreferenced(req.new_blobs);
    throw;
  }
  req.template_text = mf.template_text;
  req.system = mf.system;
  req.licenses = mf.licenses;
  req.parameters = mf.parameters;
  req.messages = mf.messages;
  if (mf.renderer) req.renderer = *mf.renderer;
  if (mf.parser) req.parser = *mf.parser;
  if (mf.requires_version) req.requires_version = *mf.requires_version;
  return req;
}

}  // namespace smolvlm
