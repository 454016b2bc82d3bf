#include "convert/random_checkpoint.h"

#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/file_util.h"
#include "base/fp16.h"
#include "base/progress.h"
#include "convert/model_configs.h"
#include "io/safetensors_writer.h"

namespace smolvlm {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

static_assert(std::endian::native == std::endian::little, "safetensors data are written in host byte order");

// ---- the generator --------------------------------------------------------------------------

uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t fnv1a64(std::string_view bytes) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (const unsigned char b : bytes) h = (h ^ b) * 0x100000001B3ull;
  return h;
}

uint64_t stream_key(std::string_view name, uint64_t seed) { return fnv1a64(name) ^ mix64(seed); }

uint64_t stream_word(uint64_t key, uint64_t i) { return mix64(key + (i + 1) * 0x9E3779B97F4A7C15ull); }

namespace {

// u(i) = ((word(i) >> 11) + 0.5) / 2^53, strictly inside (0, 1); exact in double.
double stream_uniform(uint64_t key, uint64_t i) {
  return (static_cast<double>(stream_word(key, i) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

}  // namespace

// The reference rounds after every operation (numpy); contracting a*b+c into an FMA would change
// the last bit, so contraction is switched off here whatever the build flags say.
#if defined(__clang__)
#define SMOLVLM_NO_FP_CONTRACT
#elif defined(__GNUC__)
#define SMOLVLM_NO_FP_CONTRACT __attribute__((optimize("fp-contract=off")))
#else
#define SMOLVLM_NO_FP_CONTRACT
#endif

SMOLVLM_NO_FP_CONTRACT void stream_normals(uint64_t key, int64_t start, int64_t n, double* out) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  if (n <= 0) return;
  const int64_t end = start + n;
  for (int64_t k = start / 2; 2 * k < end; ++k) {
    const double u1 = stream_uniform(key, 2 * static_cast<uint64_t>(k));
    const double u2 = stream_uniform(key, 2 * static_cast<uint64_t>(k) + 1);
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double t = 6.283185307179586 * u2;
    const int64_t j = 2 * k;
    if (j >= start) out[j - start] = r * std::cos(t);
    if (j + 1 < end) out[j + 1 - start] = r * std::sin(t);
  }
}

SMOLVLM_NO_FP_CONTRACT void random_values(uint64_t key, int64_t start, int64_t n, double mean, double std,
                                          float* out) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  constexpr int64_t kBlock = 4096;
  double z[kBlock];
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t m = std::min(kBlock, n - b);
    stream_normals(key, start + b, m, z);
    for (int64_t i = 0; i < m; ++i) {
      const double scaled = z[i] * std;  // one double rounding
      const double shifted = scaled + mean;  // one double rounding
      out[b + i] = static_cast<float>(shifted);  // one rounding to float32 (nearest-even)
    }
  }
}

namespace {

// ---- the synthetic tokenizer of tinytok.py --------------------------------------------------

const char* const kChatTemplate =
    "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}"
    "{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}"
    "<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}";

constexpr int kTinyMergesDefault = 301;  // tiny_merges.txt (600 ids in all)
const std::vector<std::string> kSpecialLow = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};

std::vector<std::string> special_high() {
  std::vector<std::string> s = {"<global-img>"};
  for (int r = 1; r <= 6; ++r) {
    for (int c = 1; c <= 6; ++c) s.push_back(cat("<row_", r, "_col_", c, ">"));
  }
  for (const char* t : {"<fake_token_around_image>", "<image>", "<end_of_utterance>"}) s.push_back(t);
  return s;
}

std::string utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

// The 256 GPT-2 byte symbols (bytes_to_unicode), sorted by code point: the printable bytes map
// to themselves, the other 68 to U+0100 onwards, so the sorted set is those code points.
std::vector<std::string> byte_symbols() {
  std::vector<std::string> out;
  for (uint32_t b = 0; b < 256; ++b) {
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) out.push_back(utf8(b));
  }
  for (uint32_t n = 0; n < 68; ++n) out.push_back(utf8(256 + n));
  return out;
}

std::vector<std::pair<std::string, std::string>> load_merges(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open the merges file");
  std::vector<std::pair<std::string, std::string>> merges;
  std::string line;
  for (int no = 1; std::getline(in, line); ++no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#' || line.find_first_not_of(" \t") == std::string::npos) continue;
    const size_t sp = line.find(' ');
    if (sp == std::string::npos || sp == 0 || sp + 1 == line.size() || line.find(' ', sp + 1) != std::string::npos) {
      fail(path, ":", no, ": expected \"LEFT RIGHT\" (two parts, one space), got \"", line, "\"");
    }
    merges.emplace_back(line.substr(0, sp), line.substr(sp + 1));
  }
  return merges;
}

struct TokenizerFiles {
  std::vector<std::string> tokens;                         // id order
  std::vector<std::pair<std::string, std::string>> files;  // file name -> content (synthetic)
  std::vector<std::string> copy;                           // file names copied from the tokenizer dir
  ojson chat_template;                                     // for chat_template.json when not copied
  bool write_chat_template = true;
  std::string note;                                        // golden_weights.json "tokenizer"
};

// build_tokenizer_files() of make_tiny_model.py: the byte-level BPE vocabulary of `merges`, with
// SmolVLM's special tokens below and above it. `source` names the merges in errors.
TokenizerFiles tokenizer_from_merges(const std::vector<std::pair<std::string, std::string>>& merges,
                                     const std::string& merges_path, const ModelConfig& cfg) {
  TokenizerFiles tf;
  auto& tokens = tf.tokens;
  tokens = kSpecialLow;
  for (auto& b : byte_symbols()) tokens.push_back(std::move(b));
  std::set<std::string> present(tokens.begin(), tokens.end());
  for (size_t i = 0; i < merges.size(); ++i) {
    const auto& [a, b] = merges[i];
    if (!present.count(a) || !present.count(b)) {
      fail(merges_path, ": merge ", i + 1, " (\"", a, " ", b, "\") uses a part that is not in the vocabulary yet");
    }
    if (!present.insert(a + b).second) fail(merges_path, ": merge ", i + 1, " repeats the token \"", a + b, "\"");
    tokens.push_back(a + b);
  }
  const size_t n_base = tokens.size();
  for (auto& s : special_high()) tokens.push_back(std::move(s));

  const auto added = [&](size_t i, bool with_id) {
    ojson a = ojson::object();
    if (with_id) a["id"] = i;
    a["content"] = tokens[i];
    a["single_word"] = false;
    a["lstrip"] = false;
    a["rstrip"] = false;
    a["normalized"] = false;
    a["special"] = true;
    return a;
  };
  std::vector<size_t> added_ids = {0, 1, 2};
  for (size_t i = n_base; i < tokens.size(); ++i) added_ids.push_back(i);
  ojson vocab = ojson::object();
  for (size_t i = 0; i < n_base; ++i) vocab[tokens[i]] = i;
  const auto sequence_item = [](const char* type) {
    ojson o = ojson::object();
    o["type"] = type;
    return o;
  };

  ojson tj = ojson::object();
  tj["version"] = "1.0";
  tj["truncation"] = nullptr;
  tj["padding"] = nullptr;
  tj["added_tokens"] = ojson::array();
  for (size_t i : added_ids) tj["added_tokens"].push_back(added(i, true));
  tj["normalizer"] = nullptr;
  ojson digits = sequence_item("Digits");
  digits["individual_digits"] = true;
  ojson bytelevel = sequence_item("ByteLevel");
  bytelevel["add_prefix_space"] = false;
  bytelevel["trim_offsets"] = true;
  bytelevel["use_regex"] = true;
  ojson pre = sequence_item("Sequence");
  pre["pretokenizers"] = ojson::array({digits, bytelevel});
  tj["pre_tokenizer"] = pre;
  tj["post_processor"] = nullptr;
  ojson decoder = sequence_item("ByteLevel");
  decoder["add_prefix_space"] = true;
  decoder["trim_offsets"] = true;
  decoder["use_regex"] = true;
  tj["decoder"] = decoder;
  ojson model = sequence_item("BPE");
  for (const char* k : {"dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix"}) model[k] = nullptr;
  model["fuse_unk"] = false;
  model["byte_fallback"] = false;
  model["ignore_merges"] = false;
  model["vocab"] = vocab;
  model["merges"] = ojson::array();
  for (const auto& [a, b] : merges) model["merges"].push_back(ojson::array({a, b}));
  tj["model"] = model;

  const auto tokdef = [](const std::string& s) {
    ojson d = ojson::object();
    d["content"] = s;
    d["lstrip"] = false;
    d["normalized"] = false;
    d["rstrip"] = false;
    d["single_word"] = false;
    return d;
  };
  const std::vector<std::string> extra_special = {"<fake_token_around_image>", "<image>", "<end_of_utterance>"};
  ojson cfgj = ojson::object();
  cfgj["add_prefix_space"] = false;
  ojson decoder_map = ojson::object();
  for (size_t i : added_ids) decoder_map[std::to_string(i)] = added(i, false);
  cfgj["added_tokens_decoder"] = decoder_map;
  cfgj["additional_special_tokens"] = extra_special;
  cfgj["bos_token"] = "<|im_start|>";
  cfgj["chat_template"] = kChatTemplate;
  cfgj["clean_up_tokenization_spaces"] = false;
  cfgj["eos_token"] = "<end_of_utterance>";
  ojson extra = ojson::object();
  extra["end_of_utterance_token"] = "<end_of_utterance>";
  extra["fake_image_token"] = "<fake_token_around_image>";
  extra["global_image_token"] = "<global-img>";
  extra["image_token"] = "<image>";
  cfgj["extra_special_tokens"] = extra;
  cfgj["legacy"] = false;
  cfgj["model_max_length"] = cfg.text.max_position_embeddings;
  cfgj["pad_token"] = "<|im_end|>";
  cfgj["processor_class"] = "SmolVLMProcessor";
  cfgj["tokenizer_class"] = "GPT2Tokenizer";
  cfgj["truncation_side"] = "left";
  cfgj["unk_token"] = "<|endoftext|>";
  cfgj["vocab_size"] = tokens.size();

  ojson special_map = ojson::object();
  special_map["additional_special_tokens"] = ojson::array();
  for (const auto& s : extra_special) special_map["additional_special_tokens"].push_back(tokdef(s));
  special_map["bos_token"] = tokdef("<|im_start|>");
  special_map["eos_token"] = tokdef("<end_of_utterance>");
  special_map["pad_token"] = tokdef("<|im_end|>");
  special_map["unk_token"] = tokdef("<|endoftext|>");

  ojson added_json = ojson::object();
  for (size_t i = n_base; i < tokens.size(); ++i) added_json[tokens[i]] = i;
  std::string merges_txt = "#version: 0.2\n";
  for (const auto& [a, b] : merges) merges_txt += a + " " + b + "\n";

  tf.files = {{"tokenizer.json", python_json(tj)},
              {"tokenizer_config.json", python_json(cfgj)},
              {"special_tokens_map.json", python_json(special_map)},
              {"added_tokens.json", python_json(added_json)},
              {"vocab.json", python_json(vocab)},
              {"merges.txt", merges_txt}};
  tf.chat_template = kChatTemplate;
  tf.note = "synthetic tokenizer (tinytok.py, tiny_merges.txt)";
  return tf;
}

TokenizerFiles tiny_tokenizer(const std::string& merges_path, const ModelConfig& cfg) {
  return tokenizer_from_merges(load_merges(merges_path), merges_path, cfg);
}

// A real* config without the real tokenizer at hand (`make demo` offline): a synthetic byte-level
// BPE of the real vocabulary's size (49280 ids, the same special tokens), so that the embedding and
// output matrices have their real shapes. Merges: every pair of the 95 printable symbols (space as
// GPT-2's U+0120), then those pairs extended by one symbol, in a fixed order, until the size is met.
TokenizerFiles synthetic_real_tokenizer(const ModelConfig& cfg) {
  constexpr size_t kRealVocab = 49280;
  std::vector<std::string> alphabet = {utf8(0x120)};
  for (uint32_t c = 33; c <= 126; ++c) alphabet.push_back(utf8(c));
  const size_t want = kRealVocab - kSpecialLow.size() - 256 - special_high().size();
  std::vector<std::pair<std::string, std::string>> merges;
  std::vector<std::string> pairs;
  for (const auto& a : alphabet)
    for (const auto& b : alphabet) {
      if (merges.size() == want) break;
      merges.emplace_back(a, b);
      pairs.push_back(a + b);
    }
  for (const auto& p : pairs)
    for (const auto& b : alphabet) {
      if (merges.size() == want) break;
      merges.emplace_back(p, b);
    }
  TokenizerFiles tf = tokenizer_from_merges(merges, "(synthetic real-size merges)", cfg);
  tf.note = "synthetic tokenizer of the real size (no --tokenizer given): random weights, words are noise";
  return tf;
}

// Tiny config without a merges file: only the token count and special ids are known.
TokenizerFiles tiny_tokens_only() {
  TokenizerFiles tf;
  tf.tokens = kSpecialLow;
  tf.tokens.resize(3 + 256 + kTinyMergesDefault);  // placeholder spellings; only the size is used
  for (auto& s : special_high()) tf.tokens.push_back(std::move(s));
  tf.chat_template = kChatTemplate;
  tf.note = "no tokenizer files (no merges file given)";
  return tf;
}

ojson read_json_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) fail(p.string(), ": cannot open");
  try {
    return ojson::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail(p.string(), ": invalid JSON: ", e.what());
  }
}

// real_tokenizer_files() of make_tiny_model.py.
TokenizerFiles real_tokenizer(const std::string& dir) {
  static const char* const kFiles[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                       "added_tokens.json", "vocab.json", "merges.txt", "chat_template.json"};
  const fs::path d(dir);
  if (!fs::is_directory(d)) fail(dir, ": tokenizer folder not found");
  TokenizerFiles tf;
  tf.write_chat_template = false;
  for (const char* f : kFiles) {
    if (fs::exists(d / f)) tf.copy.push_back(f);
  }
  for (const char* need : {"tokenizer.json", "tokenizer_config.json"}) {
    if (!fs::exists(d / need)) fail(need, " not found in ", dir);
  }
  const fs::path tj_path = d / "tokenizer.json";
  const ojson tj = read_json_file(tj_path);
  std::map<int64_t, std::string> by_id;
  try {
    for (const auto& [tok, id] : tj.at("model").at("vocab").items()) by_id[id.get<int64_t>()] = tok;
    for (const auto& a : tj.at("added_tokens")) by_id[a.at("id").get<int64_t>()] = a.at("content").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    fail(tj_path.string(), ": unexpected layout (model.vocab, added_tokens): ", e.what());
  }
  if (by_id.empty() || by_id.begin()->first < 0) fail(tj_path.string(), ": no token ids, or a negative id");
  const int64_t n = by_id.rbegin()->first + 1;
  if (static_cast<int64_t>(by_id.size()) != n) {
    for (int64_t i = 0; i < n; ++i) {
      if (!by_id.count(i)) fail(tj_path.string(), ": token id ", i, " is not assigned (", n - by_id.size(), " gaps)");
    }
  }
  for (auto& [id, tok] : by_id) tf.tokens.push_back(std::move(tok));
  std::string list;
  for (const auto& f : tf.copy) list += (list.empty() ? "" : ", ") + f;
  tf.note = "real tokenizer files copied from --tokenizer: " + list;
  if (!fs::exists(d / "chat_template.json")) {
    tf.write_chat_template = true;
    const ojson tc = read_json_file(d / "tokenizer_config.json");
    tf.chat_template = tc.contains("chat_template") ? tc["chat_template"] : ojson(kChatTemplate);
  }
  return tf;
}

// id of `token` (the last one with that spelling, like the Python dict).
int64_t token_id(const std::vector<std::string>& tokens, const std::string& token) {
  for (size_t i = tokens.size(); i-- > 0;) {
    if (tokens[i] == token) return static_cast<int64_t>(i);
  }
  fail("the tokenizer has no token ", token);
}

void write_text(const fs::path& p, const std::string& text, bool force) {
  AtomicFile f(p.string(), force);
  f.write(text.data(), text.size());
  f.commit();
}


std::string hex64(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

RandomCheckpointResult make_random_checkpoint(const RandomCheckpointOptions& opt) {
  const ModelConfig& cfg = model_config(opt.config);
  const std::string dtype = opt.dtype.empty() ? (cfg.real_tokenizer ? "bf16" : "f32") : opt.dtype;
  if (dtype != "f32" && dtype != "bf16") fail("--dtype must be f32 or bf16, not \"", dtype, "\"");
  const bool bf16 = dtype == "bf16";
  const uint64_t seed = static_cast<uint64_t>(opt.seed);  // Python: seed & (2^64 - 1)

  TokenizerFiles tf;
  if (cfg.real_tokenizer) {
    if (!opt.merges_file.empty()) fail("--merges only applies to the tiny configs");
    tf = opt.tokenizer_dir.empty() ? synthetic_real_tokenizer(cfg) : real_tokenizer(opt.tokenizer_dir);
  } else {
    if (!opt.tokenizer_dir.empty()) {
      fail("--tokenizer is only used by the real* configs (tiny* use the synthetic tokenizer)");
    }
    tf = opt.merges_file.empty() ? tiny_tokens_only() : tiny_tokenizer(opt.merges_file, cfg);
  }
  const CheckpointTokens tok{static_cast<int64_t>(tf.tokens.size()), token_id(tf.tokens, "<image>"),
                             token_id(tf.tokens, "<end_of_utterance>")};
  const auto tensors = checkpoint_tensors(cfg, tok.n_vocab);

  // Every output path, checked before anything is written.
  const fs::path out(opt.out_dir);
  std::vector<std::string> names;
  for (const auto& f : tf.copy) names.push_back(f);
  for (const auto& f : tf.files) names.push_back(f.first);
  for (const char* f : {"model.safetensors", "config.json", "generation_config.json", "preprocessor_config.json",
                        "processor_config.json"}) {
    names.push_back(f);
  }
  if (tf.write_chat_template) names.push_back("chat_template.json");
  names.push_back("golden_weights.json");
  if (fs::exists(out) && !fs::is_directory(out)) fail(opt.out_dir, ": exists and is not a folder");
  if (!opt.force) {
    for (const auto& n : names) {
      if (fs::exists(out / n)) fail((out / n).string(), ": output exists; pass --force to overwrite it");
    }
  }
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) fail(opt.out_dir, ": cannot create the folder: ", ec.message());

  RandomCheckpointResult res;
  res.dtype = bf16 ? "BF16" : "F32";
  res.n_tensors = static_cast<int64_t>(tensors.size());
  res.n_vocab = tok.n_vocab;
  res.tokenizer_written = !tf.copy.empty() || !tf.files.empty();
  const auto written = [&](const std::string& n) { res.files.push_back((out / n).string()); };

  for (const auto& f : tf.copy) {
    write_text(out / f, read_file((fs::path(opt.tokenizer_dir) / f).string()), opt.force);
    written(f);
  }
  for (const auto& [f, text] : tf.files) {
    write_text(out / f, text, opt.force);
    written(f);
  }

  // model.safetensors, generated piece by piece on all threads.
  std::vector<SafetensorsEntry> entries;
  std::vector<uint64_t> keys;
  for (const auto& t : tensors) {
    entries.push_back({t.name, res.dtype, t.shape});
    keys.push_back(stream_key(t.name, seed));
    res.n_params += t.n_elements();
  }
  const size_t esize = bf16 ? 2 : 4;
  const auto produce = [&](size_t index, uint64_t offset, std::span<uint8_t> dst) {
    const auto& t = tensors[index];
    const int64_t start = static_cast<int64_t>(offset / esize);
    const int64_t n = static_cast<int64_t>(dst.size() / esize);
    constexpr int64_t kBlock = 1 << 14;  // float32 values generated at a time
    std::vector<float> v(static_cast<size_t>(std::min(n, kBlock)));
    for (int64_t b = 0; b < n; b += kBlock) {
      const int64_t m = std::min(kBlock, n - b);
      random_values(keys[index], start + b, m, t.mean, t.std, v.data());
      uint8_t* p = dst.data() + b * esize;
      if (!bf16) {
        std::memcpy(p, v.data(), static_cast<size_t>(m) * 4);
        continue;
      }
      for (int64_t i = 0; i < m; ++i) {
        const uint16_t h = fp32_to_bf16(v[i]);
        std::memcpy(p + 2 * i, &h, 2);
      }
    }
  };
  uint64_t data_bytes = 0;
  for (const auto& e : entries) data_bytes += static_cast<uint64_t>(e.n_elements()) * esize;
  Progress progress("generating " + cfg.name, data_bytes, Progress::Unit::kBytes, opt.progress);
  SafetensorsWriteOptions wo;
  wo.overwrite = opt.force;
  wo.threads = opt.threads;
  wo.chunk_bytes = 4ull << 20;
  wo.progress = &progress;
  res.safetensors_bytes = write_safetensors((out / "model.safetensors").string(), entries, {}, produce, wo);
  written("model.safetensors");

  const std::string torch_dtype = bf16 ? "bfloat16" : "float32";
  const std::pair<const char*, ojson> configs[] = {
      {"config.json", hf_config_json(cfg, tok, torch_dtype)},
      {"generation_config.json", hf_generation_config_json(tok)},
      {"preprocessor_config.json", hf_preprocessor_config_json(cfg)},
      {"processor_config.json", hf_processor_config_json(cfg)},
  };
  for (const auto& [f, j] : configs) {
    write_text(out / f, python_json(j), opt.force);
    written(f);
  }
  if (tf.write_chat_template) {
    ojson ct = ojson::object();
    ct["chat_template"] = tf.chat_template;
    write_text(out / "chat_template.json", python_json(ct), opt.force);
    written("chat_template.json");
  }

  // golden_weights.json: the generator parameters of every tensor.
  ojson gw = ojson::object();
  gw["config"] = cfg.name;
  gw["seed"] = opt.seed;
  gw["generator"] =
      "value = float32(mean + std * N(j)), N = Box-Muller normals of the splitmix64 stream keyed by "
      "fnv1a64(name) ^ mix64(seed); element j in row-major order of `shape` (see README.md of the golden data)";
  gw["n_params"] = res.n_params;
  gw["tensors"] = ojson::array();
  for (size_t i = 0; i < tensors.size(); ++i) {
    ojson t = ojson::object();
    t["name"] = tensors[i].name;
    t["shape"] = tensors[i].shape;
    t["mean"] = tensors[i].mean;
    t["std"] = tensors[i].std;
    t["key"] = hex64(keys[i]);
    gw["tensors"].push_back(std::move(t));
  }
  if (bf16 || cfg.real_tokenizer) {  // as in Python: extra keys only off the tiny f32 path
    gw["dtype"] = bf16 ? "BF16: the float32 value rounded to bfloat16 (nearest, ties to even)" : "F32";
    gw["tokenizer"] = tf.note;
  }
  write_text(out / "golden_weights.json", python_json(gw), opt.force);
  written("golden_weights.json");
  return res;
}

}  // namespace smolvlm
