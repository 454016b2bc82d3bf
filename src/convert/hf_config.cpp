#include "convert/hf_config.h"

#include <cmath>

#include "base/error.h"
#include "base/file_util.h"

namespace smolvlm {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* json_kind(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a number";
    default: return "an unsupported value";
  }
}

}  // namespace

JsonFile read_json_file(const fs::path& path) {
  JsonFile f{path.string(), {}};
  const std::string text = read_file(path.string());
  try {
    f.json = json::parse(text);
  } catch (const json::exception& e) {
    fail(path.string(), ": invalid JSON: ", e.what());
  }
  return f;
}

std::optional<JsonFile> read_json_file_if_exists(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  return read_json_file(path);
}

JsonFields::JsonFields(const json& obj, std::string file, std::string prefix)
    : obj_(&obj), file_(std::move(file)), prefix_(std::move(prefix)) {
  if (!obj.is_object()) {
    fail(file_, prefix_.empty() ? ": the top level" : cat(": field '", prefix_.substr(0, prefix_.size() - 1), "'"),
         " must be a JSON object, got ", json_kind(obj));
  }
}

std::string JsonFields::field(std::string_view key) const { return cat(file_, ": field '", prefix_, key, "'"); }

const json* JsonFields::find(std::string_view key) const {
  const auto it = obj_->find(key);
  if (it == obj_->end() || it->is_null()) return nullptr;
  return &*it;
}

bool JsonFields::has(std::string_view key) const { return find(key) != nullptr; }

std::optional<int64_t> JsonFields::opt_int(std::string_view key) const {
  const json* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_float()) {  // 8192.0 is fine, 0.5 is not
    const double d = v->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) return static_cast<int64_t>(d);
  }
  fail(field(key), " must be an integer, got ", json_kind(*v), " (", v->dump(), ")");
}

int64_t JsonFields::req_int(std::string_view key) const {
  if (auto v = opt_int(key)) return *v;
  fail(field(key), " is missing");
}

std::optional<double> JsonFields::opt_number(std::string_view key) const {
  const json* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number()) fail(field(key), " must be a number, got ", json_kind(*v));
  return v->get<double>();
}

double JsonFields::req_number(std::string_view key) const {
  if (auto v = opt_number(key)) return *v;
  fail(field(key), " is missing");
}

std::optional<bool> JsonFields::opt_bool(std::string_view key) const {
  const json* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_boolean()) fail(field(key), " must be true or false, got ", json_kind(*v));
  return v->get<bool>();
}

std::optional<std::string> JsonFields::opt_string(std::string_view key) const {
  const json* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) fail(field(key), " must be a string, got ", json_kind(*v));
  return v->get<std::string>();
}

std::optional<JsonFields> JsonFields::opt_object(std::string_view key) const {
  const json* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_object()) fail(field(key), " must be a JSON object, got ", json_kind(*v));
  return JsonFields(*v, file_, cat(prefix_, key, "."));
}

const std::vector<std::string>& supported_model_types() {
  static const std::vector<std::string> types{"smolvlm", "idefics3"};
  return types;
}

std::string hf_model_name(const std::string& dir) {
  fs::path p = fs::absolute(fs::path(dir)).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();  // "x/hf/" -> "x/hf"
  std::string base = p.filename().string();
  if (base == "hf" && p.has_parent_path()) base = p.parent_path().filename().string();
  // a Hugging Face cache snapshot: .../models--HuggingFaceTB--SmolVLM2-256M-Video-Instruct/snapshots/<commit>
  const fs::path snapshots = p.parent_path(), repo = snapshots.parent_path();
  const std::string repo_dir = repo.filename().string();
  if (snapshots.filename() == "snapshots" && repo_dir.rfind("models--", 0) == 0) {
    const size_t cut = repo_dir.rfind("--");
    if (cut != std::string::npos && cut + 2 < repo_dir.size()) base = repo_dir.substr(cut + 2);
  }
  return base;
}

namespace {

// A positive integer field (sizes, counts).
int64_t positive(const JsonFields& f, std::string_view key, int64_t v) {
  if (v <= 0) fail(f.field(key), " must be > 0, got ", v);
  return v;
}

// Looks `key` up in text_config first, then at the root (llama.cpp merges text_config over the root).
struct MergedText {
  const JsonFields& root;
  const std::optional<JsonFields>& text;
  const JsonFields& where(std::string_view key) const {
    if (text && text->has(key)) return *text;
    return root.has(key) || !text ? root : *text;
  }
  std::optional<int64_t> opt_int(std::string_view k) const { return where(k).opt_int(k); }
  int64_t req_int(std::string_view k) const { return positive(where(k), k, where(k).req_int(k)); }
  std::optional<double> opt_number(std::string_view k) const { return where(k).opt_number(k); }
  double req_number(std::string_view k) const { return where(k).req_number(k); }
  std::optional<bool> opt_bool(std::string_view k) const { return where(k).opt_bool(k); }
};

HfTextConfig read_text_config(const JsonFields& root) {
  const std::optional<JsonFields> tc = root.opt_object("text_config");
  const MergedText m{root, tc};
  HfTextConfig t;
  t.hidden_size = m.req_int("hidden_size");
  t.intermediate_size = m.req_int("intermediate_size");
  t.num_hidden_layers = m.req_int("num_hidden_layers");
  t.num_attention_heads = m.opt_int("num_attention_heads").value_or(32);
  positive(m.where("num_attention_heads"), "num_attention_heads", t.num_attention_heads);
  t.num_key_value_heads = m.opt_int("num_key_value_heads").value_or(t.num_attention_heads);
  positive(m.where("num_key_value_heads"), "num_key_value_heads", t.num_key_value_heads);
  if (auto hd = m.opt_int("head_dim")) t.head_dim = positive(m.where("head_dim"), "head_dim", *hd);
  t.max_position_embeddings = m.req_int("max_position_embeddings");
  t.vocab_size = m.req_int("vocab_size");
  t.rms_norm_eps = m.req_number("rms_norm_eps");
  t.rope_theta = m.opt_number("rope_theta").value_or(10000.0);
  t.tie_word_embeddings = m.opt_bool("tie_word_embeddings").value_or(false);

  // RoPE scaling variants llama.cpp would encode in extra keys are not supported.
  const JsonFields& rs_where = m.where("rope_scaling");
  if (const json* rs = rs_where.find("rope_scaling"); rs != nullptr && rs->is_object()) {
    std::string type = rs->value("rope_type", rs->value("type", std::string("default")));
    if (type != "default") fail(rs_where.field("rope_scaling"), ": RoPE scaling type '", type, "' is not supported");
  }
  if (t.num_attention_heads % t.num_key_value_heads != 0) {
    fail(m.where("num_key_value_heads").field("num_key_value_heads"), " = ", t.num_key_value_heads,
         " does not divide num_attention_heads = ", t.num_attention_heads);
  }
  if (!t.head_dim && t.hidden_size % t.num_attention_heads != 0) {
    fail(m.where("hidden_size").field("hidden_size"), " = ", t.hidden_size, " is not a multiple of num_attention_heads = ",
         t.num_attention_heads, " (and there is no head_dim)");
  }
  if (t.rope_dim() % 2 != 0) fail(root.field("text_config.head_dim"), ": head dimension ", t.rope_dim(), " is odd");
  return t;
}

HfVisionConfig read_vision_config(const JsonFields& root) {
  const std::optional<JsonFields> vc = root.opt_object("vision_config");
  if (!vc) fail(root.field("vision_config"), " is missing");
  HfVisionConfig v;
  auto opt = [&](std::string_view key, int64_t def) { return positive(*vc, key, vc->opt_int(key).value_or(def)); };
  v.hidden_size = opt("hidden_size", v.hidden_size);
  v.intermediate_size = opt("intermediate_size", v.intermediate_size);
  v.num_hidden_layers = opt("num_hidden_layers", v.num_hidden_layers);
  v.num_attention_heads = opt("num_attention_heads", v.num_attention_heads);
  v.image_size = positive(*vc, "image_size", vc->req_int("image_size"));
  v.patch_size = positive(*vc, "patch_size", vc->req_int("patch_size"));
  v.layer_norm_eps = vc->opt_number("layer_norm_eps").value_or(v.layer_norm_eps);
  if (v.hidden_size % v.num_attention_heads != 0) {
    fail(vc->field("hidden_size"), " = ", v.hidden_size, " is not a multiple of num_attention_heads = ",
         v.num_attention_heads);
  }
  return v;
}

std::vector<float> float_list(const JsonFields& f, std::string_view key, std::vector<float> def) {
  const json* v = f.find(key);
  if (v == nullptr) return def;
  if (!v->is_array() || v->empty()) fail(f.field(key), " must be a non-empty list of numbers");
  std::vector<float> out;
  for (const json& e : *v) {
    if (!e.is_number()) fail(f.field(key), " must be a list of numbers, got ", json_kind(e), " inside");
    out.push_back(static_cast<float>(e.get<double>()));
  }
  return out;
}

HfPreprocessorConfig read_preprocessor(const fs::path& dir) {
  HfPreprocessorConfig p;
  const std::optional<JsonFile> f = read_json_file_if_exists(dir / "preprocessor_config.json");
  if (!f) return p;
  const JsonFields root(f->json, f->name);
  p.image_mean = float_list(root, "image_mean", p.image_mean);
  p.image_std = float_list(root, "image_std", p.image_std);
  if (auto size = root.opt_object("size")) {
    if (auto le = size->opt_int("longest_edge")) p.longest_edge = positive(*size, "longest_edge", *le);
  }
  return p;
}

}  // namespace

HfModelConfig load_hf_config(const std::string& dir) {
  const fs::path d(dir);
  std::error_code ec;
  if (!fs::is_directory(d, ec)) fail(dir, ": not a directory (expected a Hugging Face checkpoint folder)");
  const fs::path cfg_path = d / "config.json";
  if (!fs::exists(cfg_path, ec)) fail(cfg_path.string(), ": not found (a Hugging Face checkpoint folder needs config.json)");
  JsonFile f = read_json_file(cfg_path);
  const JsonFields root(f.json, f.name);

  HfModelConfig c;
  c.dir = dir;
  c.name = hf_model_name(dir);
  const std::optional<std::string> mt = root.opt_string("model_type");
  if (!mt) fail(root.field("model_type"), " is missing");
  c.model_type = *mt;
  bool known = false;
  std::string list;
  for (const std::string& s : supported_model_types()) {
    known = known || s == c.model_type;
    list += (list.empty() ? "" : ", ") + s;
  }
  if (!known) {
    fail(f.name, ": model_type '", c.model_type, "' is not supported (supported: ", list,
         " — SmolVLM2 and SmolVLM checkpoints)");
  }
  c.text = read_text_config(root);
  c.vision = read_vision_config(root);
  c.scale_factor = positive(root, "scale_factor", root.opt_int("scale_factor").value_or(2));
  c.preprocessor = read_preprocessor(d);
  c.config_json = std::move(f.json);
  return c;
}

}  // namespace smolvlm
