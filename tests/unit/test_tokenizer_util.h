// Shared by the tokenizer tests: the real SmolVLM tokenizer built from ../shared/tokenizer (once per
// process), and JSON files read as UTF-8 bytes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "base/file_util.h"
#include "convert/hf_config.h"
#include "convert/hf_vocab.h"
#include "support/testing.h"
#include "tokenizer/tokenizer.h"

namespace smolvlm::testing {

inline constexpr const char* kRealTokenizerDir = "tokenizer/smolvlm-256m-instruct";

inline VocabSpec vocab_spec(const HfVocab& v) {
  VocabSpec s;
  s.tokens = v.tokens;
  s.token_types = v.token_types;
  s.merges = v.merges;
  s.pre = v.pre;
  for (const auto& [type, id] : v.special_ids) {
    const auto i = static_cast<int32_t>(id);
    if (type == "bos") s.bos_id = i;
    if (type == "eos") s.eos_id = i;
    if (type == "pad") s.pad_id = i;
    if (type == "unk") s.unk_id = i;
  }
  return s;
}

// The SmolVLM tokenizer as our converter would write it into a GGUF (49,280 ids). Guard the
// caller with SMOLVLM_REQUIRE_SHARED(kRealTokenizerDir).
inline const Tokenizer& real_tokenizer() {
  static const Tokenizer tok = [] {
    const std::string dir = shared_path(kRealTokenizerDir).string();
    const nlohmann::json config = nlohmann::json::parse(smolvlm::read_file(dir + "/config.json"));
    return Tokenizer(vocab_spec(load_hf_vocab(dir, 49280, config)));
  }();
  return tok;
}

inline nlohmann::json read_json_utf8(const std::string& rel) {
  return nlohmann::json::parse(smolvlm::read_file(shared_path(rel).string()));
}

}  // namespace smolvlm::testing
