#include "store/pull.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <memory>

#include <unistd.h>

#include "base/error.h"
#include "store/create.h"
#include "store/hub_download.h"
#include "store/hub_snapshot.h"
#include "store/manifest.h"

namespace fs = std::filesystem;

namespace smolvlm {
namespace {

// SmolVLM2's chat template as a Go TEMPLATE, exactly as in modelfiles/smolvlm2-*.Modelfile
// (tests/unit/test_pull_names.cpp checks that the two stay identical).
const char* const kSmolvlmTemplate = R"TMPL(<|im_start|>
{{- /* SmolVLM2's chat template. Images are "<image>" inside .Content, where they are in the
       message; a message that starts with one gets ":" instead of ": ". A final assistant
       message stays open (Ollama's prefill); otherwise "Assistant:" asks for the reply. */ -}}
{{- $open := false }}
{{- range $i, $m := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 }}
{{- if eq .Role "user" }}User
{{- else if eq .Role "assistant" }}Assistant
{{- else if eq .Role "system" }}System
{{- else if eq .Role "tool" }}Tool
{{- else }}{{ .Role }}
{{- end }}
{{- if and (ge (len .Content) 7) (eq (slice .Content 0 7) "<image>") }}:{{ else }}: {{ end }}
{{- .Content }}
{{- if and $last (eq .Role "assistant") }}{{ $open = true }}{{ else }}<end_of_utterance>
{{ end }}
{{- end }}
{{- if not $open }}Assistant:{{ end }})TMPL";

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}
bool iequals(const std::string& a, const std::string& b) { return lower(a) == lower(b); }

std::string base_name(const std::string& path) {
  const auto s = path.rfind('/');
  return s == std::string::npos ? path : path.substr(s + 1);
}

bool is_gguf(const HubFile& f) {
  const std::string b = lower(f.path);
  return b.size() > 5 && b.compare(b.size() - 5, 5, ".gguf") == 0;
}
// "…-00001-of-00003.gguf": one shard of a split GGUF (llama.cpp's gguf-split), not supported.
bool is_split_shard(const HubFile& f) {
  const std::string b = lower(base_name(f.path));
  const auto of = b.rfind("-of-");
  return of != std::string::npos && of >= 6 && b[of - 6] == '-' && b.size() == of + 4 + 5 + 5 &&
         std::all_of(b.begin() + static_cast<long>(of) - 5, b.begin() + static_cast<long>(of), ::isdigit) &&
         std::all_of(b.begin() + static_cast<long>(of) + 4, b.end() - 5, ::isdigit);
}
bool is_mmproj(const HubFile& f) { return lower(base_name(f.path)).find("mmproj") != std::string::npos; }

PullEvent status_event(const std::string& s) {
  PullEvent e;
  e.status = s;
  return e;
}

void say(const PullProgress& p, const PullEvent& e) {
  if (p) p(e);
}

// Removes the blobs this pull added unless it succeeds.
struct NewBlobs {
  ModelStore& store;
  std::vector<std::string> digests;
  bool done = false;
  ~NewBlobs() {
    if (done || digests.empty()) return;
    try {
      store.remove_unreferenced(digests);
    } catch (...) {
    }
  }
};

// Both pulls end here: SmolVLM repositories get modelfiles/'s template and defaults, the model is
// created from the files in `req`, and the blobs this pull added are kept.
ResolvedModel create_pulled(ModelStore& store, const PullSource& src, CreateRequest& req, NewBlobs& added,
                            const PullProgress& progress) {
  if (const auto d = smolvlm_defaults(src.repo)) {
    req.template_text = d->template_text;
    req.parameters = d->parameters;
  }
  ResolvedModel m = create_model(store, req, [&](const std::string& s) {
    if (s == "writing manifest") say(progress, status_event(s));
  });
  added.done = true;
  say(progress, status_event("success"));
  return m;
}

// One file of the pull: its blob digest once in the store, or a finished download to verify.
struct Fetched {
  std::string digest;                    // "sha256:<hex>" when already in the store
  std::optional<DownloadRequest> pending;  // downloaded, not yet verified / committed
};

// Puts one hub file into the store as a blob when it is already there or in the Hugging Face
// cache; downloads it (into <blob>-partial, resumably) otherwise.
Fetched fetch_blob(ModelStore& store, const HubConfig& cfg, const PullSource& src, HubFile f, NewBlobs& added,
                   const PullProgress& progress) {
  const std::string url = hub_file_url(cfg, src.repo, src.revision, f.path);
  // The ETag the file URL answers with must agree with the listing (it is what resolve serves).
  const HubFileMeta meta = hub_file_meta(cfg, url);
  if (!meta.sha256.empty() && !f.sha256.empty() && meta.sha256 != f.sha256) {
    fail(src.repo, "/", f.path, ": the hub's listing (sha256 ", f.sha256, ") and the file's ETag (", meta.sha256,
         ") disagree");
  }
  if (f.sha256.empty()) f.sha256 = meta.sha256;
  if (f.size <= 0 && meta.size >= 0) f.size = meta.size;

  PullEvent ev;
  ev.total = f.size;
  if (!f.sha256.empty()) {
    const std::string digest = "sha256:" + f.sha256;
    ev.digest = digest;
    ev.status = "pulling " + f.sha256.substr(0, 12);
    if (store.blobs().exists(digest) && store.blobs().size(digest) == f.size) {
      ev.completed = f.size;
      say(progress, ev);
      return Fetched{digest, std::nullopt};
    }
    if (const auto cached = hub_cached_file(cfg, src.repo, f)) {
      std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(cached->c_str(), "rb"), std::fclose);
      if (in) {
        int64_t copied = 0;
        const BlobInfo b = store.blobs().put(
            [&](char* buf, size_t n) {
              const size_t r = std::fread(buf, 1, n, in.get());
              copied += static_cast<int64_t>(r);
              return r;
            },
            digest);
        if (b.created) added.digests.push_back(b.digest);
        ev.completed = copied;
        ev.status += " (from the Hugging Face cache)";
        say(progress, ev);
        return Fetched{digest, std::nullopt};
      }
    }
  }

  // Download: into blobs/ (a partial file Ollama's prune recognises), resumable.
  DownloadRequest req;
  req.url = url;
  req.sha256 = f.sha256;
  req.size = f.size > 0 ? f.size : -1;
  req.dest = f.sha256.empty() ? store.blobs().dir() + "/sha256-pull-" + sha256_digest(url).substr(7, 16)
                              : store.blobs().path("sha256:" + f.sha256);
  if (ev.status.empty()) ev.status = "pulling " + base_name(f.path);
  download_partial(cfg, req, [&](int64_t done, int64_t total) {
    ev.completed = done;
    ev.total = total;
    say(progress, ev);
  });
  return Fetched{"", req};
}

// Verifies a finished download (sha256 / size) and moves it into place as a blob.
std::string commit_blob(ModelStore& store, const DownloadRequest& req, NewBlobs& added) {
  const std::string hex = commit_download(req);
  const std::string digest = "sha256:" + hex;
  if (req.sha256.empty()) {  // named after its hash now that it is known
    const std::string blob = store.blobs().path(digest);
    if (std::rename(req.dest.c_str(), blob.c_str()) != 0) fail("cannot rename ", req.dest, " to ", blob);
  }
  added.digests.push_back(digest);
  return digest;
}

}  // namespace

PullSource resolve_pull_name(const std::string& name) {
  const auto n = ModelName::try_parse(name);
  if (!n) fail("invalid model name '", name, "'");
  PullSource s;
  s.model_name = name;
  const std::string host = lower(n->host);
  if (host == "hf.co" || host == "huggingface.co") {
    s.repo = n->ns + "/" + n->model;
    if (!iequals(n->tag, "latest")) s.quant = n->tag;
    check_repo_id(s.repo);
    return s;
  }
  if (host == "registry.ollama.ai" && iequals(n->ns, "HuggingFaceTB")) {
    s.repo = n->ns + "/" + n->model;
    s.quant = iequals(n->tag, "latest") ? "Q4_K_M" : upper(n->tag);
    s.safetensors = true;
    check_repo_id(s.repo);
    return s;
  }
  if (host == "registry.ollama.ai" && iequals(n->ns, "library") && iequals(n->model, "smolvlm2")) {
    std::string size = lower(n->tag), quant;
    if (size == "latest") size = "2.2b";
    if (const auto dash = size.find('-'); dash != std::string::npos) {
      quant = n->tag.substr(dash + 1);
      size = size.substr(0, dash);
    }
    const char* repo = size == "256m" ? "ggml-org/SmolVLM2-256M-Video-Instruct-GGUF"
                       : size == "500m" ? "ggml-org/SmolVLM2-500M-Video-Instruct-GGUF"
                       : size == "2.2b" ? "ggml-org/SmolVLM2-2.2B-Instruct-GGUF"
                                        : nullptr;
    if (!repo) {
      fail("unknown tag '", n->tag, "' for smolvlm2: use 256m, 500m or 2.2b, optionally with a quantization "
           "(e.g. smolvlm2:2.2b-q4_K_M)");
    }
    s.repo = repo;
    s.quant = quant;
    return s;
  }
  fail("pull model manifest: cannot pull '", name, "': smolvlm pulls from the Hugging Face Hub; use "
       "hf.co/ORG/REPO[:QUANT] (a GGUF repository), HuggingFaceTB/REPO[:QUANT] (a safetensors checkpoint) or smolvlm2:256m, smolvlm2:500m, smolvlm2:2.2b "
       "(optionally -q4_K_M, -q8_0, ...)");
}

std::string gguf_file_quant(const std::string& path) {
  std::string b = base_name(path);
  if (b.size() > 5 && iequals(b.substr(b.size() - 5), ".gguf")) b.resize(b.size() - 5);
  const auto cut = b.find_last_of("-.");
  return upper(cut == std::string::npos ? b : b.substr(cut + 1));
}

GgufChoice choose_gguf_files(const std::vector<HubFile>& files, const std::string& quant, const std::string& repo) {
  std::vector<HubFile> text, proj;
  size_t shards = 0;
  for (const auto& f : files) {
    if (!is_gguf(f)) continue;
    if (is_split_shard(f)) {
      ++shards;
      continue;
    }
    (is_mmproj(f) ? proj : text).push_back(f);
  }
  auto by_path = [](const HubFile& a, const HubFile& b) { return a.path < b.path; };
  std::sort(text.begin(), text.end(), by_path);
  std::sort(proj.begin(), proj.end(), by_path);
  if (text.empty()) {
    fail("repository '", repo, "' has no GGUF model file",
         shards ? " (only split GGUF shards, which smolvlm does not load; merge them with llama-gguf-split --merge)" : "");
  }
  auto find = [&](const std::vector<HubFile>& v, const std::string& q) -> const HubFile* {
    for (const auto& f : v) {
      if (gguf_file_quant(f.path) == upper(q)) return &f;
    }
    return nullptr;
  };
  GgufChoice c;
  const HubFile* m = nullptr;
  if (!quant.empty()) {
    m = find(text, quant);
    if (!m) {
      std::string have;
      for (const auto& f : text) have += (have.empty() ? "" : ", ") + gguf_file_quant(f.path);
      fail("repository '", repo, "' has no GGUF file for quantization '", quant, "' (available: ", have, ")");
    }
  } else {
    m = find(text, "Q4_K_M");
    if (!m) m = find(text, "Q8_0");
    if (!m) m = &text.front();
  }
  c.model = *m;
  for (const char* q : {"F16", "BF16", "F32", "Q8_0"}) {
    if (const HubFile* p = find(proj, q)) {
      c.projector = *p;
      break;
    }
  }
  if (!c.projector && !proj.empty()) c.projector = proj.front();
  return c;
}

std::optional<ModelDefaults> smolvlm_defaults(const std::string& repo) {
  const std::string r = lower(repo);
  if (r.find("smolvlm") == std::string::npos) return std::nullopt;
  ModelDefaults d;
  d.template_text = kSmolvlmTemplate;
  d.parameters = nlohmann::json::object();
  d.parameters["num_ctx"] = r.find("2.2b") != std::string::npos ? 16384 : 8192;
  d.parameters["stop"] = nlohmann::json::array({"<end_of_utterance>"});
  d.parameters["temperature"] = 0;
  return d;
}

namespace {

// The files a checkpoint conversion reads: configs, tokenizer files and safetensors weights.
bool checkpoint_file(const HubFile& f) {
  const std::string p = lower(f.path);
  if (p.find('/') != std::string::npos) return false;  // top level only (no onnx/, gguf/ ...)
  for (const char* ext : {".json", ".safetensors", ".txt", ".model", ".jinja"}) {
    const std::string e = ext;
    if (p.size() > e.size() && p.compare(p.size() - e.size(), e.size(), e) == 0) return true;
  }
  return false;
}

// Removes a folder (the conversion's outputs) when the pull ends, however it ends.
struct ScratchDir {
  std::string path;
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

ResolvedModel pull_checkpoint(ModelStore& store, const PullSource& src, const HubConfig& cfg,
                              const PullProgress& progress, const CheckpointConverter& convert) {
  if (!convert) fail("pulling safetensors checkpoints (", src.repo, ") needs the converter (use the smolvlm CLI)");
  say(progress, status_event("pulling manifest"));
  std::string hf_dir;
  try {
    hf_dir = hub_download_snapshot(cfg, src.repo, src.revision, checkpoint_file,
                                   [&](const HubFile& f, int64_t done, int64_t total) {
                                     PullEvent ev;
                                     ev.status = "pulling " + f.path;
                                     ev.digest = f.sha256.empty() ? f.oid : "sha256:" + f.sha256;
                                     ev.total = total;
                                     ev.completed = done;
                                     say(progress, ev);
                                   });
  } catch (const Error& e) {
    fail("pull model manifest: ", e.what());
  }
  say(progress, status_event("converting model"));
  ScratchDir work{(fs::path(hf_dir).parent_path().parent_path() / cat("smolvlm-convert-", ::getpid())).string()};
  fs::create_directories(work.path);
  // The converter names the model after its folder (as llama.cpp's does): give it the repository's
  // name rather than the snapshot's commit id, through a folder of links to the snapshot's files.
  const fs::path named = fs::path(work.path) / src.repo.substr(src.repo.find('/') + 1);
  fs::create_directories(named);
  for (const auto& e : fs::directory_iterator(hf_dir)) {
    std::error_code ec;
    fs::create_symlink(fs::canonical(e.path()), named / e.path().filename(), ec);
    if (ec) fs::copy(e.path(), named / e.path().filename(), fs::copy_options::recursive);
  }
  const std::vector<std::string> ggufs = convert(named.string(), src.quant, work.path);
  NewBlobs added{store, {}};
  CreateRequest req;
  req.model = src.model_name;
  for (const auto& g : ggufs) {
    const BlobInfo b = store.blobs().put_file(g);
    if (b.created) added.digests.push_back(b.digest);
    req.files.push_back(CreateFile{fs::path(g).filename().string(), b.digest});
  }
  return create_pulled(store, src, req, added, progress);
}

}  // namespace

ResolvedModel pull_model(ModelStore& store, const std::string& name, const HubConfig& cfg,
                         const PullProgress& progress, const CheckpointConverter& convert) {
  const StoreWriterLock writer = store.blobs().writing();  // its partials and scratch files are live
  const PullSource src = resolve_pull_name(name);
  if (src.safetensors) return pull_checkpoint(store, src, cfg, progress, convert);
  say(progress, status_event("pulling manifest"));
  std::vector<HubFile> listing;
  try {
    listing = hub_list_files(cfg, src.repo, src.revision);
  } catch (const Error& e) {
    fail("pull model manifest: ", e.what());
  }
  const GgufChoice choice = choose_gguf_files(listing, src.quant, src.repo);

  NewBlobs added{store, {}};
  CreateRequest req;
  req.model = src.model_name;
  std::vector<HubFile> wanted{choice.model};
  if (choice.projector) wanted.push_back(*choice.projector);
  std::vector<Fetched> fetched;
  for (const auto& f : wanted) fetched.push_back(fetch_blob(store, cfg, src, f, added, progress));
  say(progress, status_event("verifying sha256 digest"));
  // Every download is checked (a failed one is removed), so a failure leaves no partial behind.
  std::exception_ptr bad;
  for (size_t i = 0; i < wanted.size(); ++i) {
    try {
      const std::string digest = fetched[i].pending ? commit_blob(store, *fetched[i].pending, added) : fetched[i].digest;
      req.files.push_back(CreateFile{base_name(wanted[i].path), digest});
    } catch (const Error&) {
      if (!bad) bad = std::current_exception();
    }
  }
  if (bad) std::rethrow_exception(bad);
  return create_pulled(store, src, req, added, progress);
}

}  // namespace smolvlm
