#include "store/export.h"

#include <stdio.h>  // renameat2
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "base/error.h"
#include "base/file_util.h"
#include "io/gguf.h"
#include "store/create.h"
#include "store/gguf_info.h"
#include "store/manifest.h"
#include "store/modelfile.h"
#include "store/pull.h"

namespace fs = std::filesystem;

namespace smolvlm {
namespace {

// The first line of every exported Modelfile: a later `export --force` into the same folder knows
// the GGUFs it names are ours to replace.
constexpr const char* kHeader = "# Exported by `smolvlm export`";

void say(const ExportProgress& p, const std::string& s) {
  if (p) p(s);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::optional<std::string> gguf_string(const GgufFile& f, const char* key) {
  const GgufValue* v = f.find(key);
  if (v == nullptr || v->type() != GgufType::STRING || v->as_str().empty()) return std::nullopt;
  return v->as_str();
}

// A file-name stem from free text: [A-Za-z0-9._-] kept, runs of anything else become one '-',
// no leading / trailing '-' or '.'.
std::string file_stem(const std::string& s) {
  std::string out;
  for (char c : s) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    if (ok) out += c;
    else if (!out.empty() && out.back() != '-') out += '-';
  }
  while (!out.empty() && (out.back() == '-' || out.back() == '.')) out.pop_back();
  while (!out.empty() && (out.front() == '-' || out.front() == '.')) out.erase(0, 1);
  return out;
}

// general.file_type's name, "" when the file does not say.
std::string file_type(const GgufFile& f) {
  const std::string t = gguf_file_type_name(f);
  return t == "unknown" ? "" : t;
}

// "<base>:<quant>" in lower case when that is a valid Ollama name, else "smolvlm2:<quant>".
std::string suggested_name(const std::string& base, const std::string& quant) {
  const std::string tag = quant.empty() ? "latest" : lower(quant);
  std::string model = lower(base);
  if (model.size() > 80) model.resize(80);
  for (const std::string& n : {model + ":" + tag, "smolvlm2:" + tag}) {
    if (!n.starts_with(":") && ModelName::try_parse(n)) return n;
  }
  return "smolvlm2:latest";
}

// SmolVLM2's TEMPLATE and PARAMETERs for a model called `base` (modelfiles/ via store/pull.h, the one
// copy of the template in the library).
ModelDefaults smolvlm2_defaults(const std::string& base) { return *smolvlm_defaults("smolvlm2/" + base); }

// Keeps the parameters a Modelfile can carry (Ollama's PARAMETER table); the others are reported.
nlohmann::json writable_parameters(const nlohmann::json& params, std::vector<std::string>& dropped) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, v] : params.items()) {
    bool ok = is_ollama_parameter(k);
    for (const auto& e : v.is_array() ? v : nlohmann::json::array({v})) {
      try {
        ok = ok && modelfile_parameter(k, e.is_string() ? e.get<std::string>() : e.dump()).has_value();
      } catch (const Error&) {
        ok = false;
      }
    }
    if (ok) out[k] = v;
    else dropped.push_back(k);
  }
  return out;
}

// A value in Ollama's Modelfile grammar, which has no escapes: """…""" (first choice when
// `triple_first`), "…", or bare. Throws naming `what` when no form reads back as `s`.
std::string quote(const std::string& s, bool triple_first, const std::string& what) {
  const bool has_quote = s.find('"') != std::string::npos;
  const bool triple_ok = s.find("\"\"\"") == std::string::npos && (s.empty() || (s.front() != '"' && s.back() != '"'));
  const bool bare_ok = !s.empty() && s.find_first_of("\r\n") == std::string::npos && s.front() != '"' &&
                       !std::isspace(static_cast<unsigned char>(s.front())) &&
                       !std::isspace(static_cast<unsigned char>(s.back()));
  if (triple_first && triple_ok) return "\"\"\"" + s + "\"\"\"";
  if (!has_quote) return "\"" + s + "\"";
  if (triple_ok) return "\"\"\"" + s + "\"\"\"";
  if (bare_ok) return s;
  fail("cannot write the ", what, " in a Modelfile: it holds '\"\"\"' or starts / ends with '\"' and spans lines "
       "or has surrounding spaces (Ollama's Modelfile has no escapes)");
}

std::string param_value(const std::string& key, const nlohmann::json& v) {
  if (v.is_string()) return quote(v.get<std::string>(), false, cat("PARAMETER ", key));
  return v.dump();  // numbers (shortest round trip) and booleans, as Go's parsers read them
}

void check_round_trip(const std::string& text, const ExportSource& src, const std::vector<std::string>& from) {
  const Modelfile mf = parse_modelfile(text, "exported Modelfile");
  auto differs = [](const char* what) { fail("internal error: the exported Modelfile does not read back its ", what); };
  if (mf.from != from) differs("FROM lines");
  if (mf.template_text != src.template_text) differs("TEMPLATE");
  if (mf.system.value_or("") != src.system.value_or("")) differs("SYSTEM");
  if (mf.parameters != src.parameters || !mf.warnings.empty()) differs("PARAMETERs");
  if (mf.messages != src.messages) differs("MESSAGEs");
  if (mf.licenses != src.licenses) differs("LICENSEs");
  if (mf.renderer.value_or("") != src.renderer || mf.parser.value_or("") != src.parser) differs("RENDERER / PARSER");
  const std::string req = src.requires_version.starts_with("v") ? src.requires_version.substr(1) : src.requires_version;
  if (mf.requires_version.value_or("") != req) differs("REQUIRES");
}

// A unique temporary folder `<dir>/<prefix>XXXXXX`.
fs::path make_temp_dir(const fs::path& dir, const std::string& prefix) {
  std::string tmpl = (dir / (prefix + "XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) fail(dir.string(), ": cannot create a temporary folder: ", std::strerror(errno));
  return tmpl;
}

// Removes a temporary folder of ours unless released.
struct TempGuard {
  fs::path path;
  ~TempGuard() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

void write_text(const fs::path& p, const std::string& text) {
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(p.string(), ": cannot create the file: ", std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      fail(p.string(), ": cannot write the file: ", why);
    }
    done += static_cast<size_t>(n);
  }
  const bool ok = ::fsync(fd) == 0;
  if (::close(fd) != 0 || !ok) fail(p.string(), ": cannot write the file: ", std::strerror(errno));
}

// Puts `src` at `dst` (which must not exist; `shown` is the path it will have once the export is in
// place): a copy by default (a reflink where the filesystem can), a hard link with `link` (falling
// back to a copy across filesystems).
void place(const std::string& src, const fs::path& dst, const fs::path& shown, bool link, const ExportProgress& progress) {
  std::error_code ec;
  if (link) {
    fs::create_hard_link(src, dst, ec);
    if (!ec) {
      say(progress, cat("linked ", shown.string(), " to ", src));
      return;
    }
  }
  const bool reflink = copy_file_data(src, dst.string());
  say(progress, cat(reflink ? "cloned " : "copied ", src, " to ", shown.string()));
}

std::string readme(const ExportSource& src, const ExportNames& names) {
  std::string s = cat("Exported by `smolvlm export` from ", src.origin, ".\n\n", "Files:\n  ", names.text, "    text model\n");
  if (!names.mmproj.empty()) s += cat("  ", names.mmproj, "    vision projector\n");
  s += cat("  Modelfile    FROM lines (relative to this folder), TEMPLATE and PARAMETERs\n\n",
           "Create the model in Ollama (from this folder):\n  ollama create ", src.model_name, " -f Modelfile\n",
           "  ollama run ", src.model_name, "\n");
  return s;
}

// The GGUFs a previous export's Modelfile in `dir` named ("./<file>"), when the Modelfile is ours.
std::set<std::string> previous_export_files(const fs::path& dir) {
  std::set<std::string> out;
  try {
    const std::string text = read_file((dir / "Modelfile").string());
    if (!text.starts_with(kHeader)) return out;
    for (const std::string& f : parse_modelfile(text).from) {
      if (f.starts_with("./") && f.find('/', 2) == std::string::npos && f.size() > 2) out.insert(f.substr(2));
    }
  } catch (const Error&) {
  }
  return out;
}

// Replaces (or creates) dir/name atomically with `fill` writing a temporary file in dir.
void replace_file(const fs::path& dir, const std::string& name, const std::function<void(const fs::path&)>& fill) {
  const fs::path tmp = dir / cat(".", name, ".tmp-", ::getpid());
  std::error_code ec;
  fs::remove(tmp, ec);
  try {
    fill(tmp);
    fs::rename(tmp, dir / name);
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
}

}  // namespace

ExportSource export_source_from_files(const std::string& text_path, const std::string& mmproj_path) {
  ExportSource s;
  s.text_path = fs::absolute(text_path).lexically_normal().string();
  const GgufFile text = GgufFile::open(s.text_path);
  if (gguf_role(text) != GgufRole::Model) {
    fail(text_path, ": not a text model GGUF (general.type / architecture say it is a projector or adapter)");
  }
  if (!mmproj_path.empty()) {
    s.mmproj_path = fs::absolute(mmproj_path).lexically_normal().string();
    if (gguf_role(GgufFile::open(s.mmproj_path)) != GgufRole::Projector) {
      fail(mmproj_path, ": not a vision projector GGUF (expected general.type mmproj or architecture clip)");
    }
  }
  const std::string quant = file_type(text);
  std::string base = file_stem(gguf_string(text, "general.name").value_or(""));
  if (base.empty()) {
    base = file_stem(fs::path(text_path).stem().string());
    const std::string suffix = "-" + lower(quant);
    if (!quant.empty() && base.size() > suffix.size() && lower(base).ends_with(suffix)) base.resize(base.size() - suffix.size());
  }
  if (base.empty()) base = "model";
  s.base_name = base;
  s.model_name = suggested_name(base, quant);
  s.origin = s.mmproj_path.empty() ? s.text_path : cat(s.text_path, " + ", s.mmproj_path);
  const ModelDefaults d = smolvlm2_defaults(base);
  s.template_text = d.template_text;
  s.parameters = d.parameters;
  return s;
}

ExportSource export_source_from_store(const ModelStore& store, const std::string& name) {
  const ResolvedModel r = store.resolve(name);
  const Manifest m = store.read_manifest(ModelName::parse(r.name));
  ExportSource s;
  s.text_path = r.text_path;
  s.mmproj_path = r.mmproj_path;
  s.model_name = r.short_name;
  s.origin = cat("the model ", r.short_name, " in ", store.root());
  const GgufFile text = GgufFile::open(r.text_path);
  std::string base = file_stem(gguf_string(text, "general.name").value_or(""));
  if (base.empty()) {
    const ModelName n = ModelName::parse(r.name);
    base = file_stem(n.tag == "latest" ? n.model : n.model + "-" + n.tag);
  }
  s.base_name = base.empty() ? "model" : base;

  const ModelDefaults d = smolvlm2_defaults(s.base_name + " " + r.short_name);
  s.template_text = r.template_text.empty() ? d.template_text : r.template_text;
  if (!r.system.empty()) s.system = r.system;
  std::vector<std::string> dropped;
  s.parameters = writable_parameters(r.params, dropped);
  for (const std::string& k : dropped) {
    s.warnings.push_back(cat("parameter '", k, "' left out: the real Ollama's Modelfiles cannot carry it (not in its PARAMETER table)"));
  }
  if (!s.parameters.contains("stop")) s.parameters["stop"] = d.parameters["stop"];
  s.messages = r.messages;
  for (const ManifestLayer& l : m.layers) {
    if (l.media_type == media_type::kLicense) s.licenses.push_back(read_file(store.blobs().path(l.digest)));
  }
  try {
    const auto cfg = nlohmann::json::parse(read_file(store.blobs().path(m.config.digest)));
    auto field = [&](const char* k) { return cfg.contains(k) && cfg[k].is_string() ? cfg[k].get<std::string>() : ""; };
    s.renderer = field("renderer");
    s.parser = field("parser");
    s.requires_version = field("requires");
  } catch (const std::exception&) {
    // no readable config: nothing more to carry
  }
  return s;
}

ExportNames export_file_names(const ExportSource& src) {
  ExportNames n;
  const std::string tq = file_type(GgufFile::open(src.text_path));
  n.text = cat(src.base_name, tq.empty() ? "" : "-", tq, ".gguf");
  if (!src.mmproj_path.empty()) {
    const std::string pq = file_type(GgufFile::open(src.mmproj_path));
    n.mmproj = cat("mmproj-", src.base_name, pq.empty() ? "" : "-", pq, ".gguf");
  }
  return n;
}

std::string export_modelfile(const ExportSource& src, const ExportNames& names) {
  std::string mf = cat(kHeader, " from ", src.origin, ".\n",
                       "# Create it in Ollama:  ollama create ", src.model_name, " -f Modelfile\n",
                       "# (the FROM paths are relative to this file, so the folder can move)\n");
  std::vector<std::string> from = {"./" + names.text};
  if (!names.mmproj.empty()) from.push_back("./" + names.mmproj);
  for (const auto& f : from) mf += cat("FROM ", f, "\n");
  mf += "\n";
  if (src.template_text) mf += cat("TEMPLATE ", quote(*src.template_text, true, "TEMPLATE"), "\n\n");
  if (src.system && !src.system->empty()) mf += cat("SYSTEM ", quote(*src.system, true, "SYSTEM"), "\n\n");
  for (const auto& [k, v] : src.parameters.items()) {
    for (const auto& e : v.is_array() ? v : nlohmann::json::array({v})) mf += cat("PARAMETER ", k, " ", param_value(k, e), "\n");
  }
  if (!src.renderer.empty()) mf += cat("RENDERER ", quote(src.renderer, false, "RENDERER"), "\n");
  if (!src.parser.empty()) mf += cat("PARSER ", quote(src.parser, false, "PARSER"), "\n");
  if (!src.requires_version.empty()) mf += cat("REQUIRES ", src.requires_version, "\n");
  for (const auto& l : src.licenses) mf += cat("LICENSE ", quote(l, true, "LICENSE"), "\n");
  for (const auto& m : src.messages) {
    const std::string role = m.value("role", "");
    mf += cat("MESSAGE ", role, " ", quote(m.value("content", ""), true, "MESSAGE " + role), "\n");
  }
  check_round_trip(mf, src, from);
  return mf;
}

ExportResult export_to_dir(const ExportSource& src, const std::string& dir, const ExportOptions& options,
                           const ExportProgress& progress) {
  const bool force = options.force;
  const ExportNames names = export_file_names(src);
  const std::string modelfile = export_modelfile(src, names);
  fs::path target = fs::absolute(dir).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();  // "out/" -> "out"
  ExportResult res;
  res.dir = target.string();
  res.modelfile = (target / "Modelfile").string();
  res.text_file = (target / names.text).string();
  res.mmproj_file = names.mmproj.empty() ? "" : (target / names.mmproj).string();
  std::vector<std::pair<std::string, std::string>> ggufs = {{src.text_path, names.text}};
  if (!names.mmproj.empty()) ggufs.emplace_back(src.mmproj_path, names.mmproj);

  std::error_code ec;
  if (fs::exists(target, ec) || fs::is_symlink(target, ec)) {
    if (!fs::is_directory(target, ec)) fail(target.string(), " exists and is not a folder");
    if (!force) fail(target.string(), " already exists; export into a new folder, or pass --force to replace its files");
    // --force: each file replaced atomically; the GGUFs of an earlier export that are not ours now go.
    const std::set<std::string> previous = previous_export_files(target);
    for (const auto& [from, name] : ggufs) {
      const fs::path dst = target / name;
      if (fs::exists(dst, ec) && fs::equivalent(from, dst, ec)) continue;  // already this very file
      replace_file(target, name, [&](const fs::path& tmp) { place(from, tmp, target / name, options.link, progress); });
    }
    replace_file(target, "Modelfile", [&](const fs::path& tmp) { write_text(tmp, modelfile); });
    replace_file(target, "README.txt", [&](const fs::path& tmp) { write_text(tmp, readme(src, names)); });
    for (const std::string& old : previous) {
      if (old == names.text || old == names.mmproj || !fs::is_regular_file(target / old, ec)) continue;
      say(progress, cat("removing ", (target / old).string(), " (from the previous export)"));
      fs::remove(target / old, ec);
    }
    return res;
  }

  // A new folder: assembled next to it, then renamed into place in one step.
  fs::create_directories(target.parent_path(), ec);
  if (ec) fail(target.parent_path().string(), ": cannot create the folder: ", ec.message());
  TempGuard tmp{make_temp_dir(target.parent_path(), cat(".", target.filename().string(), ".export-"))};
  ::chmod(tmp.path.c_str(), 0755);
  for (const auto& [from, name] : ggufs) place(from, tmp.path / name, target / name, options.link, progress);
  write_text(tmp.path / "Modelfile", modelfile);
  write_text(tmp.path / "README.txt", readme(src, names));
  if (::renameat2(AT_FDCWD, tmp.path.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) != 0) {
    fail("cannot move the export into ", target.string(), ": ", std::strerror(errno));
  }
  tmp.path.clear();
  say(progress, cat("wrote ", res.modelfile));
  return res;
}

ResolvedModel export_to_store(ModelStore& store, const ExportSource& src, const std::string& name, bool force,
                              const ExportProgress& progress) {
  if (!ModelName::try_parse(name)) fail("invalid model name '", name, "'");
  if (store.find(name) && !force) {
    fail("model '", name, "' already exists in ", store.root(), "; pass --force to replace it, or --name to choose another");
  }
  // The exported folder, with symbolic links to the sources (nothing copied twice), read as
  // `ollama create NAME -f DIR/Modelfile` reads it.
  const ExportNames names = export_file_names(src);
  const std::string text = export_modelfile(src, names);
  TempGuard tmp{make_temp_dir(fs::temp_directory_path(), "smolvlm-export-")};
  fs::create_symlink(src.text_path, tmp.path / names.text);
  if (!names.mmproj.empty()) fs::create_symlink(src.mmproj_path, tmp.path / names.mmproj);
  write_text(tmp.path / "Modelfile", text);
  const Modelfile mf = parse_modelfile(text, (tmp.path / "Modelfile").string());
  const CreateProgress cp = [&](const std::string& s) { say(progress, s); };
  const CreateRequest req = create_request_from_modelfile(store, name, mf, tmp.path.string(), cp);
  return create_model(store, req, cp);
}

}  // namespace smolvlm
