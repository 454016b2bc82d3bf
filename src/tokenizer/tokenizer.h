// Byte-level BPE tokenizer of SmolLM2 / SmolVLM2 (Hugging Face `tokenizers` semantics) built from a
// GGUF's tokenizer.ggml.* keys: added/special tokens matched first (leftmost-longest), then the
// `smollm` pre-tokenizer (each Unicode digit its own piece, then the GPT-2 pattern with real
// Unicode letter/number classes), the byte->unicode map and rank-ordered BPE merges. Nothing is
// added (no BOS/EOS); bytes without a token are dropped as the reference does.
//
//   Tokenizer tok = Tokenizer::from_gguf(file);
//   std::vector<int32_t> ids = tok.encode("<|im_start|>User: Hi<end_of_utterance>\nAssistant:");
//   std::string text = tok.decode(ids, /*skip_special=*/true);
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace smolvlm {

class GgufFile;

// What a vocabulary is made of (the tokenizer.ggml.* keys, already read).
struct VocabSpec {
  std::vector<std::string> tokens;   // id order, byte-level spelling ("Ġ" = space)
  std::vector<int32_t> token_types;  // llama.cpp types: 1 normal, 3 control, 4 user-defined, 5 unused, ...
  std::vector<std::string> merges;   // "left right", rank = index
  std::string pre = "smollm";        // tokenizer.ggml.pre
  int32_t bos_id = -1, eos_id = -1, pad_id = -1, unk_id = -1;
};

class Tokenizer {
 public:
  // Throws Error naming the key for a vocabulary we cannot run (model other than "gpt2", a
  // pre-tokenizer we do not know, merges naming unknown tokens, sizes that disagree).
  explicit Tokenizer(VocabSpec spec);
  static Tokenizer from_gguf(const GgufFile& file);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  int32_t n_vocab() const;
  int32_t bos() const;  // -1 when the vocabulary has none
  int32_t eos() const;  // tokenizer.ggml.eos_token_id (<end_of_utterance> = 49279 in SmolVLM2)
  // End of generation: eos plus the tokens llama.cpp treats as such (<end_of_utterance>,
  // <|im_end|>, <|endoftext|> when present).
  bool is_eog(int32_t id) const;
  bool is_special(int32_t id) const;  // control / user-defined (added) tokens: skipped by skip_special

  // Text -> ids. parse_special: added tokens in the text are matched as tokens (else they are
  // ordinary text). Invalid UTF-8 throws Error naming the byte offset.
  std::vector<int32_t> encode(std::string_view text, bool parse_special = true) const;

  // Ids -> UTF-8 text (invalid byte sequences become U+FFFD like Rust's from_utf8_lossy).
  // Throws Error for an id out of range.
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;
  // The raw bytes one token stands for (added tokens: their text; "" for skipped specials).
  std::string token_bytes(int32_t id, bool skip_special = false) const;
  const std::string& token_text(int32_t id) const;  // the vocabulary string (byte-level spelling)
  std::optional<int32_t> find_token(std::string_view text) const;  // exact vocabulary string

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Streaming detokenizer: turns ids into text as they are generated and never emits a broken UTF-8
// sequence (an incomplete trailing sequence is held back until it completes or cannot).
class TokenStreamDecoder {
 public:
  explicit TokenStreamDecoder(const Tokenizer& tok, bool skip_special = true) : tok_(&tok), skip_(skip_special) {}
  std::string push(int32_t id);  // the text that became complete with this token
  std::string flush();           // whatever is held back, invalid bytes as U+FFFD
 private:
  const Tokenizer* tok_;
  bool skip_;
  std::string pending_;
};

}  // namespace smolvlm
