// Shared by the JSON-constraint tests: a vocabulary's token bytes and end-of-generation flags, as
// JsonTokenMask sees them (for per-token checks of the mask).
#pragma once

#include <string>
#include <vector>

#include "runtime/json_constraint.h"
#include "tokenizer/tokenizer.h"

namespace smolvlm::testing {

struct VocabTable {
  std::vector<std::string> bytes;  // [id]: what the token spells
  std::vector<bool> eog;           // [id]: ends generation
};

inline VocabTable vocab_table(const Tokenizer& tok, const JsonTokenMask& mask) {
  VocabTable t{std::vector<std::string>(static_cast<size_t>(tok.n_vocab())),
               std::vector<bool>(static_cast<size_t>(tok.n_vocab()))};
  for (int32_t id = 0; id < tok.n_vocab(); ++id) {
    t.eog[static_cast<size_t>(id)] = tok.is_eog(id);
    t.bytes[static_cast<size_t>(id)] = std::string(mask.bytes(id));
  }
  return t;
}

}  // namespace smolvlm::testing
