// The SmolVLM2 model configurations of golden/tools/make_tiny_model.py (tiny512, tiny384 and the
// real-shape real256m, real500m, real2b): hyper-parameters, the Hugging Face tensor list with the
// generator's per-tensor mean/std, and the JSON files of a Hugging Face checkpoint folder
// (config.json, generation_config.json, preprocessor_config.json, processor_config.json).
// python_json() prints JSON exactly like Python's json.dump(obj, f, indent=2, ensure_ascii=False),
// so the files are byte-identical to the Python generator's.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smolvlm {

struct VisionHparams {
  int image_size, patch_size, hidden_size, num_hidden_layers, num_attention_heads, intermediate_size;
};

struct TextHparams {
  int hidden_size, num_hidden_layers, num_attention_heads, num_key_value_heads, head_dim, intermediate_size;
  double rms_norm_eps, rope_theta;
  int max_position_embeddings;
};

struct ModelConfig {
  std::string name;
  VisionHparams vision;
  int scale_factor;
  TextHparams text;
  int longest_edge, max_image_size;  // preprocessor size.longest_edge / max_image_size.longest_edge
  bool real_tokenizer;               // real* configs: tokenizer files copied from --tokenizer DIR
};

// The config called `name`; throws Error listing the known names.
const ModelConfig& model_config(std::string_view name);
std::vector<std::string> model_config_names();

// One checkpoint tensor with its generator parameters.
struct CheckpointTensor {
  std::string name;            // Hugging Face name
  std::vector<int64_t> shape;  // PyTorch order
  double mean, std;
  int64_t n_elements() const;
};

// (mean, std) of the generator for an HF tensor name (first matching rule of INIT_RULES); throws
// Error for a name no rule covers.
std::pair<double, double> init_params(std::string_view name);

// Every tensor of the checkpoint, sorted by name (the safetensors file order).
std::vector<CheckpointTensor> checkpoint_tensors(const ModelConfig& cfg, int64_t n_vocab);

// The token ids the JSON files need.
struct CheckpointTokens {
  int64_t n_vocab;
  int64_t image_token_id;       // "<image>"
  int64_t end_of_utterance_id;  // "<end_of_utterance>" (generation eos)
};

// torch_dtype: "float32" or "bfloat16".
nlohmann::ordered_json hf_config_json(const ModelConfig& cfg, const CheckpointTokens& tok,
                                      const std::string& torch_dtype);
nlohmann::ordered_json hf_generation_config_json(const CheckpointTokens& tok);
nlohmann::ordered_json hf_preprocessor_config_json(const ModelConfig& cfg);
nlohmann::ordered_json hf_processor_config_json(const ModelConfig& cfg);

// json.dump(obj, indent=2, ensure_ascii=False) + "\n" as written by golden_common.write_json:
// keys in insertion order, floats as Python's repr (1e-05, 100000.0), non-ASCII kept as UTF-8.
std::string python_json(const nlohmann::ordered_json& j);

}  // namespace smolvlm
