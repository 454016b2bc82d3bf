// Random-weight SmolVLM2 checkpoints in Hugging Face format: the C++ twin of
// golden/tools/make_tiny_model.py (`smolvlm dev random-checkpoint`). Every weight is a pure
// function of (tensor name, seed) through the counter-based generator of the golden data
// (README.md of the golden data, section 1.2): splitmix64 words keyed by fnv1a64(name) ^
// mix64(seed), Box-Muller normals in double precision, value = float32(std * N + mean); bf16
// files store the float32 value rounded to nearest-even bfloat16. With glibc the output is byte
// for byte the Python generator's.
//
// Files written to OUT_DIR (each atomically): model.safetensors (streamed in name order, memory
// stays small for any config), config.json, generation_config.json, preprocessor_config.json,
// processor_config.json, chat_template.json, golden_weights.json, and the tokenizer files:
//   real* configs: tokenizer.json, tokenizer_config.json (required), special_tokens_map.json,
//     added_tokens.json, vocab.json, merges.txt, chat_template.json copied byte for byte from the
//     tokenizer folder (the vocabulary size and the <image> / <end_of_utterance> ids come from its
//     tokenizer.json);
//   tiny* configs: the synthetic tokenizer of golden/tools/tinytok.py, built from the merges file
//     (golden/tools/tiny_merges.txt) when one is given. Without it no tokenizer files are
//     written and the configs assume the standard 301 merges (600 ids, <image> = 598).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace smolvlm {

// ---- the generator --------------------------------------------------------------------------
uint64_t mix64(uint64_t z);
uint64_t fnv1a64(std::string_view bytes);
uint64_t stream_key(std::string_view name, uint64_t seed);  // fnv1a64(name) ^ mix64(seed)
// word(i) = mix64(key + (i + 1) * 0x9E3779B97F4A7C15)
uint64_t stream_word(uint64_t key, uint64_t i);
// Standard normals N(start) .. N(start + n - 1) of the stream (any start).
void stream_normals(uint64_t key, int64_t start, int64_t n, double* out);
// Elements start .. start + n - 1 (row-major) of a generated tensor: float32(std * N(j) + mean).
void random_values(uint64_t key, int64_t start, int64_t n, double mean, double std, float* out);

// ---- the checkpoint -------------------------------------------------------------------------
struct RandomCheckpointOptions {
  std::string config;         // tiny512, tiny384, real256m, real500m, real2b
  int64_t seed = 1;
  std::string out_dir;        // created if missing
  std::string dtype;          // "f32" | "bf16"; empty = f32 for tiny*, bf16 for real*
  std::string tokenizer_dir;  // required for real*, refused for tiny*
  std::string merges_file;    // tiny* only: tiny_merges.txt (optional)
  bool force = false;         // overwrite existing files
  int threads = 0;            // 0 = all hardware threads
  int progress = -1;          // progress bar: -1 auto (stderr is a tty), 0 off, 1 on
};

struct RandomCheckpointResult {
  std::vector<std::string> files;  // paths written, in order
  std::string dtype;               // "F32" or "BF16"
  int64_t n_tensors = 0, n_params = 0, n_vocab = 0;
  uint64_t safetensors_bytes = 0;
  bool tokenizer_written = false;  // false only for tiny* without a merges file
};

RandomCheckpointResult make_random_checkpoint(const RandomCheckpointOptions& opt);

}  // namespace smolvlm
