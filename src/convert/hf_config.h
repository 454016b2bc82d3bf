// Reading a Hugging Face SmolVLM / SmolVLM2 checkpoint folder's JSON files (config.json,
// preprocessor_config.json) into the hyper-parameters the GGUF converter needs, with the defaults
// that llama.cpp's convert_hf_to_gguf.py and transformers apply. Every error names the file and
// the field ("config.json: field 'text_config.hidden_size' is missing").
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smolvlm {

// A parsed JSON file; `name` (the path as given) is used in error messages.
struct JsonFile {
  std::string name;
  nlohmann::json json;
};

// Throws Error "<path>: cannot read" / "<path>: invalid JSON: <parser message>".
JsonFile read_json_file(const std::filesystem::path& path);
// nullopt when the file does not exist; otherwise as read_json_file.
std::optional<JsonFile> read_json_file_if_exists(const std::filesystem::path& path);

// Typed access to the fields of one JSON object, with errors naming file and dotted field path.
class JsonFields {
 public:
  // `prefix` is the dotted path of this object inside the file ("" for the root, "text_config.").
  JsonFields(const nlohmann::json& obj, std::string file, std::string prefix = "");

  bool has(std::string_view key) const;  // present and not null
  const nlohmann::json* find(std::string_view key) const;  // present and not null, else nullptr
  int64_t req_int(std::string_view key) const;
  std::optional<int64_t> opt_int(std::string_view key) const;
  double req_number(std::string_view key) const;
  std::optional<double> opt_number(std::string_view key) const;
  std::optional<bool> opt_bool(std::string_view key) const;
  std::optional<std::string> opt_string(std::string_view key) const;
  // The sub-object `key` (error when present but not an object); nullopt when absent.
  std::optional<JsonFields> opt_object(std::string_view key) const;
  std::string field(std::string_view key) const;  // "config.json: field 'text_config.key'"

 private:
  const nlohmann::json* obj_;
  std::string file_;
  std::string prefix_;
};

// Text decoder (Llama) hyper-parameters: text_config merged over the root of config.json, as
// llama.cpp's TextModel does.
struct HfTextConfig {
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;  // 32 when absent (llama.cpp's SmolVLM fix)
  int64_t num_key_value_heads = 0;  // = heads when absent
  std::optional<int64_t> head_dim;  // only written as key/value length when present
  int64_t max_position_embeddings = 0;
  int64_t vocab_size = 0;
  double rms_norm_eps = 0;
  double rope_theta = 10000.0;
  bool tie_word_embeddings = false;
  int64_t rope_dim() const { return head_dim ? *head_dim : hidden_size / num_attention_heads; }
};

// Vision tower: vision_config with the SmolVLMVisionConfig / Idefics3VisionConfig defaults.
struct HfVisionConfig {
  int64_t hidden_size = 1152;
  int64_t intermediate_size = 3072;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 16;
  int64_t image_size = 0;  // required
  int64_t patch_size = 0;  // required
  double layer_norm_eps = 1e-6;  // transformers' default (llama.cpp's converter would use 1e-5)
};

struct HfPreprocessorConfig {
  std::vector<float> image_mean{0.5f, 0.5f, 0.5f};
  std::vector<float> image_std{0.5f, 0.5f, 0.5f};
  std::optional<int64_t> longest_edge;  // size.longest_edge
};

struct HfModelConfig {
  std::string dir;
  std::string name;        // general.name: hf_model_name(folder)
  std::string model_type;  // "smolvlm" or "idefics3"
  HfTextConfig text;
  HfVisionConfig vision;
  int64_t scale_factor = 2;
  HfPreprocessorConfig preprocessor;
  nlohmann::json config_json;  // config.json as read (special-token id fallback)
};

// model_type values the converter accepts.
const std::vector<std::string>& supported_model_types();

// The model name for a checkpoint folder: its basename, its parent's when it is named "hf", or the
// repository's of a Hugging Face cache snapshot (models--ORG--NAME/snapshots/COMMIT -> NAME).
std::string hf_model_name(const std::string& dir);

// Reads DIR/config.json (required) and DIR/preprocessor_config.json (optional). Throws Error for
// a missing or invalid file, an unknown model_type (naming it and the supported ones), a missing
// or mistyped field (naming file and field), and inconsistent sizes.
HfModelConfig load_hf_config(const std::string& dir);

}  // namespace smolvlm
