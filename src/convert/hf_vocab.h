// Hugging Face byte-level BPE tokenizer files (tokenizer.json, tokenizer_config.json, merges.txt,
// chat_template.jinja / chat_template.json, config.json for special-id fallbacks) -> the GGUF
// tokenizer keys llama.cpp's convert_hf_to_gguf.py writes for a "gpt2" vocabulary
// (_set_vocab_gpt2 + gguf.SpecialVocab), in the same key order.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace smolvlm {

class GgufWriter;

// llama.cpp's token types (tokenizer.ggml.token_type).
enum class TokenType : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

struct HfVocab {
  std::string model = "gpt2";   // tokenizer.ggml.model
  std::string pre = "smollm";   // tokenizer.ggml.pre
  std::vector<std::string> tokens;  // exactly n_vocab, id order; "[PAD<id>]" for ids nobody uses
  std::vector<int32_t> token_types;
  std::vector<std::string> merges;  // "left right"
  // (type, id) in SpecialVocab order: "bos", "eos", "unk", "sep", "pad", "cls", "mask".
  std::vector<std::pair<std::string, uint32_t>> special_ids;
  // ("bos" | "eos" | "sep", value) for add_<x>_token, only where the files say so.
  std::vector<std::pair<std::string, bool>> add_special;
  std::optional<bool> add_space_prefix;  // tokenizer_config add_prefix_space
  std::optional<std::string> chat_template;
};

// Reads the tokenizer of checkpoint folder `dir` for a model of `n_vocab` ids. `config_json` is
// config.json (its *_token_id fill special ids tokenizer_config.json leaves unset). Throws Error
// naming the file and field for missing/invalid files and ids outside the vocabulary.
HfVocab load_hf_vocab(const std::string& dir, int64_t n_vocab, const nlohmann::json& config_json);

// Appends the tokenizer.* keys in llama.cpp's order.
void add_vocab_keys(GgufWriter& w, const HfVocab& v);

// llama.cpp's does_token_look_special(): <|...|>, <｜...｜>, <unused...>, <pad>, <mask>, ...
bool token_looks_special(const std::string& text);

}  // namespace smolvlm
