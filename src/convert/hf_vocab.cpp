#include "convert/hf_vocab.h"

#include <array>
#include <filesystem>
#include <map>
#include <sstream>

#include "base/error.h"
#include "base/file_util.h"
#include "convert/hf_config.h"
#include "io/gguf.h"

namespace smolvlm {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::array<const char*, 7> kSpecialTypes{"bos", "eos", "unk", "sep", "pad", "cls", "mask"};

std::string special_id_key(const std::string& typ) {
  static const std::map<std::string, std::string> keys{
      {"bos", "bos_token_id"}, {"eos", "eos_token_id"},       {"unk", "unknown_token_id"},
      {"sep", "seperator_token_id"},  // sic: llama.cpp's spelling
      {"pad", "padding_token_id"}, {"cls", "cls_token_id"}, {"mask", "mask_token_id"}};
  return "tokenizer.ggml." + keys.at(typ);
}

bool starts_with(const std::string& s, std::string_view p) { return s.size() >= p.size() && s.compare(0, p.size(), p) == 0; }
bool ends_with(const std::string& s, std::string_view p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

std::string replace_all(const std::string& s, std::string_view from, std::string_view to) {
  std::string out;
  size_t start = 0;
  for (size_t pos; (pos = s.find(from, start)) != std::string::npos; start = pos + from.size()) {
    out.append(s, start, pos - start);
    out.append(to);
  }
  return out.append(s, start, std::string::npos);
}

// Upserts (key, value) keeping the first insertion position (a Python dict assignment).
template <typename V>
void dict_set(std::vector<std::pair<std::string, V>>& d, const std::string& k, V v) {
  for (auto& e : d) {
    if (e.first == k) {
      e.second = v;
      return;
    }
  }
  d.emplace_back(k, v);
}


// "left right" merges from tokenizer.json's model.merges: strings as they are, or (since
// transformers 4.45) [left, right] pairs whose inner spaces become U+0120 like gguf-py does.
std::vector<std::string> merges_from_json(const json& merges, const std::string& file) {
  std::vector<std::string> out;
  out.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const json& m = merges[i];
    if (m.is_string()) {
      out.push_back(m.get<std::string>());
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      out.push_back(replace_all(m[0].get<std::string>(), " ", "\xC4\xA0") + " " +
                    replace_all(m[1].get<std::string>(), " ", "\xC4\xA0"));
    } else {
      fail(file, ": field 'model.merges' entry ", i, " is neither \"a b\" nor [\"a\", \"b\"]: ", m.dump());
    }
  }
  return out;
}

// merges.txt: an optional "#version" first line, then "left right" per line (gguf-py's reader).
std::vector<std::string> merges_from_txt(const fs::path& p) {
  std::istringstream in(read_file(p.string()));
  std::vector<std::string> out;
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    const size_t b = line.find_first_not_of(" \t\r\n"), e = line.find_last_not_of(" \t\r\n");
    line = b == std::string::npos ? "" : line.substr(b, e - b + 1);
    if (first && starts_with(line, "#")) {
      first = false;
      continue;
    }
    first = false;
    if (line.empty()) continue;
    std::istringstream parts(line);
    std::string a, c, extra;
    if (parts >> a >> c && !(parts >> extra)) out.push_back(a + " " + c);  // malformed lines are skipped
  }
  return out;
}

// The special-token string of a tokenizer_config.json entry ("<s>" or {"content": "<s>"}).
std::optional<std::string> special_content(const json& tc, const std::string& key) {
  const auto it = tc.find(key);
  if (it == tc.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    const auto c = it->find("content");
    if (c != it->end() && c->is_string()) return c->get<std::string>();
  }
  return std::nullopt;
}

// gguf.SpecialVocab's reading of tokenizer.json + tokenizer_config.json + config.json.
class SpecialReader {
 public:
  SpecialReader(HfVocab& v, int64_t n_vocab) : v_(v), n_vocab_(n_vocab) {}

  void set_id(const std::string& typ, int64_t id, const std::string& where) {
    if (id < 0) fail(where, ": invalid special token id ", id);
    if (id >= n_vocab_) return;  // out of range: skipped, as gguf-py does when it knows n_vocab
    for (const auto& e : v_.special_ids) {
      if (e.first == typ) return;  // the first source wins
    }
    v_.special_ids.emplace_back(typ, static_cast<uint32_t>(id));
  }

  // add_bos / add_eos from a post-processor (TemplateProcessing / RobertaProcessing).
  void post_processor(const json& pp, const std::optional<std::string>& bos, const std::optional<std::string>& eos,
                      const std::optional<std::string>& cls) {
    std::vector<const json*> procs;
    if (pp.contains("processors") && pp["processors"].is_array()) {
      for (const json& p : pp["processors"]) procs.push_back(&p);
    } else {
      procs.push_back(&pp);
    }
    for (const json* p : procs) {
      if (!p->is_object()) continue;
      const std::string type = p->value("type", "");
      if (type == "RobertaProcessing") {
        for (const char* k : {"bos", "eos", "sep"}) dict_set(v_.add_special, k, true);
      } else if (type == "TemplateProcessing") {
        const json single = p->value("single", json::array());
        if (!single.is_array() || single.size() <= 1) continue;
        auto special_id = [](const json& e) -> std::optional<std::string> {
          if (!e.is_object() || !e.contains("SpecialToken")) return std::nullopt;
          const json& st = e["SpecialToken"];
          if (!st.is_object() || !st.contains("id") || !st["id"].is_string()) return std::nullopt;
          return st["id"].get<std::string>();
        };
        if (auto first = special_id(single.front())) dict_set(v_.add_special, "bos", *first == bos || *first == cls);
        if (auto last = special_id(single.back())) dict_set(v_.add_special, "eos", *last == eos);
      }
    }
  }

 private:
  HfVocab& v_;
  int64_t n_vocab_;
};

bool is_json_int(const json& j) { return j.is_number_integer(); }

}  // namespace

bool token_looks_special(const std::string& t) {
  if (t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]") return true;
  if (starts_with(t, "<|") && ends_with(t, "|>")) return true;
  if (starts_with(t, "<\xEF\xBD\x9C") && ends_with(t, "\xEF\xBD\x9C>")) return true;  // <｜...｜>
  return starts_with(t, "<unused") && ends_with(t, ">");
}

HfVocab load_hf_vocab(const std::string& dir, int64_t n_vocab, const json& config_json) {
  const fs::path d(dir);
  std::error_code ec;
  if (!fs::exists(d / "tokenizer.json", ec)) {
    fail((d / "tokenizer.json").string(), ": not found (the converter reads the fast tokenizer file)");
  }
  const JsonFile tj = read_json_file(d / "tokenizer.json");
  const JsonFields root(tj.json, tj.name);
  const std::optional<JsonFields> model = root.opt_object("model");
  if (!model) fail(root.field("model"), " is missing");
  const std::string mtype = model->opt_string("type").value_or("BPE");
  if (mtype != "BPE") fail(model->field("type"), " is '", mtype, "'; only byte-level BPE tokenizers are supported");
  if (model->opt_bool("byte_fallback").value_or(false)) {
    fail(model->field("byte_fallback"), " is true; only byte-level (GPT-2 style) BPE tokenizers are supported");
  }
  const json* vocab = model->find("vocab");
  if (vocab == nullptr || !vocab->is_object()) fail(model->field("vocab"), " must be an object {token: id}");

  HfVocab v;
  const size_t n = static_cast<size_t>(n_vocab);
  std::vector<std::optional<std::string>> tokens(n);
  v.token_types.assign(n, static_cast<int32_t>(TokenType::kNormal));
  std::map<std::string, int64_t> base_ids;
  auto check_id = [&](int64_t id, const std::string& what) {
    if (id < 0 || id >= n_vocab) {
      fail(what, " has id ", id, ", outside the model's vocabulary of ", n_vocab, " (config.json vocab_size)");
    }
  };
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    if (!is_json_int(it.value())) fail(model->field("vocab"), ": token '", it.key(), "' has a non-integer id");
    const int64_t id = it.value().get<int64_t>();
    check_id(id, cat(tj.name, ": token '", it.key(), "'"));
    tokens[size_t(id)] = it.key();
    base_ids[it.key()] = id;
  }

  const json* added = root.find("added_tokens");
  if (added != nullptr && !added->is_array()) fail(root.field("added_tokens"), " must be a list");
  const json empty_list = json::array();
  const json& added_list = added ? *added : empty_list;
  for (size_t i = 0; i < added_list.size(); ++i) {
    const json& a = added_list[i];
    const std::string where = cat(tj.name, ": added_tokens[", i, "]");
    if (!a.is_object() || !a.contains("id") || !is_json_int(a["id"]) || !a.contains("content") ||
        !a["content"].is_string()) {
      fail(where, " needs an integer 'id' and a string 'content'");
    }
    const int64_t id = a["id"].get<int64_t>();
    std::string text = a["content"].get<std::string>();
    check_id(id, cat(where, " '", text, "'"));
    // A string maps to one id in HF's vocab: an added token shadows a base token of the same text.
    if (auto b = base_ids.find(text); b != base_ids.end() && b->second != id) tokens[size_t(b->second)].reset();
    const bool special = a.value("special", false);
    TokenType type = TokenType::kControl;
    if (!special && !token_looks_special(text)) {
      type = TokenType::kUserDefined;
      text = replace_all(text, "\xE2\x96\x81", " ");  // pre-normalize user-defined spaces (U+2581)
    }
    tokens[size_t(id)] = std::move(text);
    v.token_types[size_t(id)] = static_cast<int32_t>(type);
  }
  v.tokens.resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (tokens[i]) {
      v.tokens[i] = std::move(*tokens[i]);
    } else {
      v.tokens[i] = cat("[PAD", i, "]");
      v.token_types[i] = static_cast<int32_t>(TokenType::kUnused);
    }
  }

  // Merges: tokenizer.json, else merges.txt.
  if (const json* m = model->find("merges"); m != nullptr) {
    if (!m->is_array()) fail(model->field("merges"), " must be a list");
    v.merges = merges_from_json(*m, tj.name);
  }
  if (v.merges.empty() && fs::exists(d / "merges.txt", ec)) v.merges = merges_from_txt(d / "merges.txt");
  if (v.merges.empty()) fail(dir, ": the tokenizer has no merges (tokenizer.json model.merges or merges.txt)");

  // Special tokens: tokenizer_config.json (looked up among the added tokens), then config.json.
  SpecialReader sr(v, n_vocab);
  std::optional<JsonFile> tcf = read_json_file_if_exists(d / "tokenizer_config.json");
  json tc = tcf ? tcf->json : json::object();
  if (tcf && !tc.is_object()) fail(tcf->name, ": the top level must be a JSON object");
  std::optional<std::string> bos = special_content(tc, "bos_token"), eos = special_content(tc, "eos_token");
  const std::optional<std::string> cls = special_content(tc, "cls_token"), sep = special_content(tc, "sep_token");
  if (!bos && cls && tcf) tc["bos_token"] = *(bos = cls);
  if (!eos && sep && tcf) tc["eos_token"] = *(eos = sep);
  if (const json* pp = root.find("post_processor"); pp != nullptr && pp->is_object()) sr.post_processor(*pp, bos, eos, cls);
  if (tcf) {
    for (const char* typ : kSpecialTypes) {
      const auto add = tc.find(cat("add_", typ, "_token"));
      if (add != tc.end() && add->is_boolean()) dict_set(v.add_special, typ, add->get<bool>());
      const std::optional<std::string> content = special_content(tc, cat(typ, "_token"));
      if (!content) continue;
      for (const json& a : added_list) {
        if (a["content"].get<std::string>() == *content) {
          sr.set_id(typ, a["id"].get<int64_t>(), cat(tcf->name, ": field '", typ, "_token'"));
          break;
        }
      }
    }
    const auto aps = tc.find("add_prefix_space");
    if (aps != tc.end() && aps->is_boolean()) v.add_space_prefix = aps->get<bool>();
  }
  if (config_json.is_object()) {
    for (const char* typ : kSpecialTypes) {
      const std::string key = cat(typ, "_token_id");
      std::string where = cat("config.json: field '", key, "'");
      const json* id = nullptr;
      if (auto it = config_json.find(key); it != config_json.end() && !it->is_null()) {
        id = &*it;
      } else if (auto t = config_json.find("text_config"); t != config_json.end() && t->is_object()) {
        if (auto it2 = t->find(key); it2 != t->end() && !it2->is_null()) {
          id = &*it2;
          where = cat("config.json: field 'text_config.", key, "'");
        }
      }
      if (id != nullptr && is_json_int(*id)) sr.set_id(typ, id->get<int64_t>(), where);
    }
  }

  // Chat template: tokenizer_config.json, else chat_template.jinja, else chat_template.json.
  if (auto it = tc.find("chat_template"); it != tc.end() && it->is_string()) {
    v.chat_template = it->get<std::string>();
  } else if (it != tc.end() && it->is_array()) {
    for (const json& t : *it) {
      if (t.is_object() && t.value("name", "") == "default" && t.contains("template") && t["template"].is_string()) {
        v.chat_template = t["template"].get<std::string>();
      }
    }
  }
  if (!v.chat_template && fs::exists(d / "chat_template.jinja", ec)) {
    v.chat_template = read_file((d / "chat_template.jinja").string());
  } else if (!v.chat_template) {
    if (auto ct = read_json_file_if_exists(d / "chat_template.json")) {
      const JsonFields f(ct->json, ct->name);
      v.chat_template = f.opt_string("chat_template");
    }
  }
  return v;
}

void add_vocab_keys(GgufWriter& w, const HfVocab& v) {
  w.set("tokenizer.ggml.model", GgufValue::str(v.model));
  w.set("tokenizer.ggml.pre", GgufValue::str(v.pre));
  w.set("tokenizer.ggml.tokens", GgufValue::str_array(v.tokens));
  w.set("tokenizer.ggml.token_type", GgufValue::i32_array(v.token_types));
  w.set("tokenizer.ggml.merges", GgufValue::str_array(v.merges));
  for (const auto& [typ, id] : v.special_ids) w.set(special_id_key(typ), GgufValue::u32(id));
  for (const auto& [typ, on] : v.add_special) {
    // gguf-py only has writers for add_bos / add_eos / add_sep; others are skipped.
    if (typ == "bos" || typ == "eos" || typ == "sep") w.set(cat("tokenizer.ggml.add_", typ, "_token"), GgufValue::boolean(on));
  }
  if (v.add_space_prefix) w.set("tokenizer.ggml.add_space_prefix", GgufValue::boolean(*v.add_space_prefix));
  if (v.chat_template) w.set("tokenizer.chat_template", GgufValue::str(*v.chat_template));
}

}  // namespace smolvlm
