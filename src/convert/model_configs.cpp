#include "convert/model_configs.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "base/error.h"

namespace smolvlm {
namespace {

using ojson = nlohmann::ordered_json;

// The CONFIGS table of make_tiny_model.py.
const std::vector<ModelConfig>& configs() {
  static const std::vector<ModelConfig> table = {
      {"tiny512", {512, 16, 64, 2, 4, 256}, 4, {256, 2, 4, 2, 64, 512, 1e-5, 100000.0, 8192}, 2048, 512, false},
      {"tiny384", {384, 14, 72, 2, 2, 144}, 3, {256, 2, 4, 4, 64, 512, 1e-5, 273768.0, 16384}, 1536, 384, false},
      {"real256m", {512, 16, 768, 12, 12, 3072}, 4, {576, 30, 9, 3, 64, 1536, 1e-5, 100000.0, 8192}, 2048, 512, true},
      {"real500m", {512, 16, 768, 12, 12, 3072}, 4, {960, 32, 15, 5, 64, 2560, 1e-5, 100000.0, 8192}, 2048, 512, true},
      {"real2b", {384, 14, 1152, 27, 16, 4304}, 3, {2048, 24, 32, 32, 64, 8192, 1e-5, 273768.0, 16384}, 1536, 384,
       true},
  };
  return table;
}

// INIT_RULES of make_tiny_model.py: (suffix or glob, mean, std), first match wins. A pattern with
// '*' is matched as fnmatch("*" + pattern), otherwise as a name suffix.
struct InitRule {
  const char* pattern;
  double mean, std;
};
constexpr InitRule kInitRules[] = {
    {"embeddings.patch_embedding.weight", 0.0, 0.02},
    {"embeddings.patch_embedding.bias", 0.0, 0.01},
    {"embeddings.position_embedding.weight", 0.0, 0.05},
    {"layer_norm1.weight", 1.0, 0.05},
    {"layer_norm2.weight", 1.0, 0.05},
    {"post_layernorm.weight", 1.0, 0.05},
    {"layer_norm1.bias", 0.0, 0.02},
    {"layer_norm2.bias", 0.0, 0.02},
    {"post_layernorm.bias", 0.0, 0.02},
    {"self_attn.out_proj.weight", 0.0, 0.05},
    {"mlp.fc1.weight", 0.0, 0.08},
    {"mlp.fc2.weight", 0.0, 0.04},
    {"modality_projection.proj.weight", 0.0, 0.03},
    {"embed_tokens.weight", 0.0, 0.5},
    {"input_layernorm.weight", 1.0, 0.05},
    {"post_attention_layernorm.weight", 1.0, 0.05},
    {"text_model.norm.weight", 1.0, 0.05},
    {"self_attn.o_proj.weight", 0.0, 0.03},
    {"mlp.down_proj.weight", 0.0, 0.03},
    {"mlp.gate_proj.weight", 0.0, 0.06},
    {"mlp.up_proj.weight", 0.0, 0.06},
    {"lm_head.weight", 0.0, 0.1},
    {"vision_model.encoder.layers.*.self_attn.*_proj.weight", 0.0, 0.08},  // vision q/k/v
    {".bias", 0.0, 0.02},
    {"_proj.weight", 0.0, 0.06},
};

// Glob match where '*' matches any run of characters (the only wildcard the rules use).
bool glob_match(std::string_view pat, std::string_view s) {
  size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
  while (i < s.size()) {
    if (p < pat.size() && pat[p] == '*') {
      star = p++;
      mark = i;
    } else if (p < pat.size() && pat[p] == s[i]) {
      ++p;
      ++i;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

// ---- Python-compatible JSON printing --------------------------------------------------------

// Python's repr(float): shortest round-trip digits; exponent form when exp10 < -4 or >= 16.
std::string python_float(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d < 0 ? "-Infinity" : "Infinity";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  const std::string sci(buf, r.ptr);  // "-d.ddde-05"
  const size_t epos = sci.find('e');
  const int exp10 = std::stoi(sci.substr(epos + 1));
  std::string sign, digits;
  for (size_t i = 0; i < epos; ++i) {
    if (sci[i] == '-') sign = "-";
    else if (sci[i] != '.') digits += sci[i];
  }
  if (exp10 < -4 || exp10 >= 16) {
    std::string m = digits.substr(0, 1);
    if (digits.size() > 1) m += "." + digits.substr(1);
    char e[16];
    std::snprintf(e, sizeof e, "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
    return sign + m + e;
  }
  const int point = exp10 + 1;  // digits before the decimal point
  const int n = static_cast<int>(digits.size());
  if (point <= 0) return sign + "0." + std::string(-point, '0') + digits;
  if (point < n) return sign + digits.substr(0, point) + "." + digits.substr(point);
  return sign + digits + std::string(point - n, '0') + ".0";
}

// json.encoder.py_encode_basestring (ensure_ascii=False).
void python_string(const std::string& s, std::string& out) {
  out += '"';
  for (const unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char e[8];
          std::snprintf(e, sizeof e, "\\u%04x", c);
          out += e;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void python_dump(const ojson& j, int level, std::string& out) {
  const auto newline = [&](int lv) {
    out += '\n';
    out.append(static_cast<size_t>(2 * lv), ' ');
  };
  switch (j.type()) {
    case ojson::value_t::null: out += "null"; break;
    case ojson::value_t::boolean: out += j.get<bool>() ? "true" : "false"; break;
    case ojson::value_t::number_integer: out += std::to_string(j.get<int64_t>()); break;
    case ojson::value_t::number_unsigned: out += std::to_string(j.get<uint64_t>()); break;
    case ojson::value_t::number_float: out += python_float(j.get<double>()); break;
    case ojson::value_t::string: python_string(j.get_ref<const std::string&>(), out); break;
    case ojson::value_t::array: {
      if (j.empty()) {
        out += "[]";
        break;
      }
      out += '[';
      bool first = true;
      for (const auto& v : j) {
        if (!first) out += ',';
        first = false;
        newline(level + 1);
        python_dump(v, level + 1, out);
      }
      newline(level);
      out += ']';
      break;
    }
    case ojson::value_t::object: {
      if (j.empty()) {
        out += "{}";
        break;
      }
      out += '{';
      bool first = true;
      for (const auto& [k, v] : j.items()) {
        if (!first) out += ',';
        first = false;
        newline(level + 1);
        python_string(k, out);
        out += ": ";
        python_dump(v, level + 1, out);
      }
      newline(level);
      out += '}';
      break;
    }
    default: fail("python_json: value type ", j.type_name(), " has no JSON form");
  }
}

}  // namespace

std::string python_json(const ojson& j) {
  std::string out;
  python_dump(j, 0, out);
  out += '\n';
  return out;
}

const ModelConfig& model_config(std::string_view name) {
  for (const auto& c : configs()) {
    if (c.name == name) return c;
  }
  std::string known;
  for (const auto& n : model_config_names()) known += (known.empty() ? "" : ", ") + n;
  fail("unknown model config \"", name, "\" (known: ", known, ")");
}

std::vector<std::string> model_config_names() {
  std::vector<std::string> names;
  for (const auto& c : configs()) names.push_back(c.name);
  return names;
}

int64_t CheckpointTensor::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::pair<double, double> init_params(std::string_view name) {
  for (const auto& r : kInitRules) {
    const std::string_view pat = r.pattern;
    const bool hit = pat.find('*') != std::string_view::npos
                         ? glob_match(std::string("*") + r.pattern, name)
                         : name.size() >= pat.size() && name.substr(name.size() - pat.size()) == pat;
    if (hit) return {r.mean, r.std};
  }
  fail("no generator rule for tensor ", name);
}

// tensor_shapes() of make_tiny_model.py, sorted by name.
std::vector<CheckpointTensor> checkpoint_tensors(const ModelConfig& cfg, int64_t n_vocab) {
  const auto& v = cfg.vision;
  const auto& t = cfg.text;
  const int64_t C = v.hidden_size, P = v.patch_size, S = v.image_size, F = v.intermediate_size;
  const int64_t E = t.hidden_size, Ft = t.intermediate_size, H = t.num_attention_heads,
                Hkv = t.num_key_value_heads, D = t.head_dim, s = cfg.scale_factor;
  const int64_t npatch = (S / P) * (S / P);
  std::vector<CheckpointTensor> out;
  const auto add = [&](std::string name, std::vector<int64_t> shape) {
    const auto [mean, std] = init_params(name);
    out.push_back({std::move(name), std::move(shape), mean, std});
  };
  const std::string vp = "model.vision_model.";
  add(vp + "embeddings.patch_embedding.weight", {C, 3, P, P});
  add(vp + "embeddings.patch_embedding.bias", {C});
  add(vp + "embeddings.position_embedding.weight", {npatch, C});
  for (int i = 0; i < v.num_hidden_layers; ++i) {
    const std::string lp = cat(vp, "encoder.layers.", i, ".");
    for (const char* ln : {"layer_norm1", "layer_norm2"}) {
      add(lp + ln + ".weight", {C});
      add(lp + ln + ".bias", {C});
    }
    for (const char* pr : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
      add(lp + "self_attn." + pr + ".weight", {C, C});
      add(lp + "self_attn." + pr + ".bias", {C});
    }
    add(lp + "mlp.fc1.weight", {F, C});
    add(lp + "mlp.fc1.bias", {F});
    add(lp + "mlp.fc2.weight", {C, F});
    add(lp + "mlp.fc2.bias", {C});
  }
  add(vp + "post_layernorm.weight", {C});
  add(vp + "post_layernorm.bias", {C});
  add("model.connector.modality_projection.proj.weight", {E, C * s * s});
  const std::string tp = "model.text_model.";
  add(tp + "embed_tokens.weight", {n_vocab, E});
  for (int i = 0; i < t.num_hidden_layers; ++i) {
    const std::string lp = cat(tp, "layers.", i, ".");
    add(lp + "input_layernorm.weight", {E});
    add(lp + "post_attention_layernorm.weight", {E});
    add(lp + "self_attn.q_proj.weight", {H * D, E});
    add(lp + "self_attn.k_proj.weight", {Hkv * D, E});
    add(lp + "self_attn.v_proj.weight", {Hkv * D, E});
    add(lp + "self_attn.o_proj.weight", {E, H * D});
    add(lp + "mlp.gate_proj.weight", {Ft, E});
    add(lp + "mlp.up_proj.weight", {Ft, E});
    add(lp + "mlp.down_proj.weight", {E, Ft});
  }
  add(tp + "norm.weight", {E});
  add("lm_head.weight", {n_vocab, E});
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

// build_configs() of make_tiny_model.py; keys in the same order.
ojson hf_config_json(const ModelConfig& cfg, const CheckpointTokens& tok, const std::string& torch_dtype) {
  const auto& v = cfg.vision;
  const auto& t = cfg.text;
  ojson text = ojson::object();
  text["model_type"] = "llama";
  text["architectures"] = {"VLlama3ForCausalLM"};
  text["hidden_size"] = t.hidden_size;
  text["intermediate_size"] = t.intermediate_size;
  text["num_hidden_layers"] = t.num_hidden_layers;
  text["num_attention_heads"] = t.num_attention_heads;
  text["num_key_value_heads"] = t.num_key_value_heads;
  text["head_dim"] = t.head_dim;
  text["max_position_embeddings"] = t.max_position_embeddings;
  text["rms_norm_eps"] = t.rms_norm_eps;
  text["rope_theta"] = t.rope_theta;
  text["rope_scaling"] = nullptr;
  text["rope_interleaved"] = false;
  text["hidden_act"] = "silu";
  text["attention_bias"] = false;
  text["attention_dropout"] = 0.0;
  text["mlp_bias"] = false;
  text["vocab_size"] = tok.n_vocab;
  text["bos_token_id"] = 1;
  text["eos_token_id"] = 2;
  text["pad_token_id"] = 2;
  text["tie_word_embeddings"] = false;
  text["initializer_range"] = 0.02;
  text["pretraining_tp"] = 1;
  text["use_cache"] = true;
  text["pixel_shuffle_factor"] = cfg.scale_factor;
  text["qk_layer_norms"] = false;
  text["use_resampler"] = false;
  text["torch_dtype"] = torch_dtype;

  ojson vision = ojson::object();
  vision["model_type"] = "smolvlm_vision";
  vision["hidden_size"] = v.hidden_size;
  vision["intermediate_size"] = v.intermediate_size;
  vision["num_hidden_layers"] = v.num_hidden_layers;
  vision["num_attention_heads"] = v.num_attention_heads;
  vision["num_channels"] = 3;
  vision["image_size"] = v.image_size;
  vision["patch_size"] = v.patch_size;
  vision["hidden_act"] = "gelu_pytorch_tanh";
  vision["layer_norm_eps"] = 1e-6;
  vision["attention_dropout"] = 0.0;
  vision["initializer_range"] = 0.02;

  ojson c = ojson::object();
  c["architectures"] = {"SmolVLMForConditionalGeneration"};
  c["model_type"] = "smolvlm";
  c["image_token_id"] = tok.image_token_id;
  c["scale_factor"] = cfg.scale_factor;
  c["tie_word_embeddings"] = false;
  c["vocab_size"] = tok.n_vocab;
  c["pad_token_id"] = 2;
  c["use_cache"] = true;
  c["torch_dtype"] = torch_dtype;
  c["text_config"] = std::move(text);
  c["vision_config"] = std::move(vision);
  return c;
}

ojson hf_generation_config_json(const CheckpointTokens& tok) {
  ojson g = ojson::object();
  g["_from_model_config"] = true;
  g["bos_token_id"] = 0;
  g["eos_token_id"] = tok.end_of_utterance_id;
  g["pad_token_id"] = 2;
  return g;
}

ojson hf_preprocessor_config_json(const ModelConfig& cfg) {
  const auto edge = [](int n) {
    ojson e = ojson::object();
    e["longest_edge"] = n;
    return e;
  };
  ojson p = ojson::object();
  for (const char* k : {"do_convert_rgb", "do_image_splitting", "do_normalize", "do_pad", "do_rescale", "do_resize"}) {
    p[k] = true;
  }
  p["image_mean"] = {0.5, 0.5, 0.5};
  p["image_std"] = {0.5, 0.5, 0.5};
  p["image_processor_type"] = "SmolVLMImageProcessor";
  p["max_image_size"] = edge(cfg.max_image_size);
  p["processor_class"] = "SmolVLMProcessor";
  p["resample"] = 1;
  p["rescale_factor"] = 0.00392156862745098;
  p["size"] = edge(cfg.longest_edge);
  ojson video = ojson::object();
  video["fps"] = 1;
  video["max_frames"] = 64;
  video["video_size"] = edge(cfg.max_image_size);
  p["video_sampling"] = std::move(video);
  return p;
}

ojson hf_processor_config_json(const ModelConfig& cfg) {
  const int per_side = cfg.vision.image_size / cfg.vision.patch_size;
  ojson p = ojson::object();
  p["image_seq_len"] = per_side * per_side / (cfg.scale_factor * cfg.scale_factor);
  p["processor_class"] = "SmolVLMProcessor";
  return p;
}

}  // namespace smolvlm
