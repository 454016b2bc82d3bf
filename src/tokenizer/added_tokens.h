// Added (control / user-defined) tokens matched on raw text before pre-tokenization,
// leftmost-longest like tokenizers' AddedVocabulary: a byte trie plus a first-byte index, so text
// without any candidate first byte is skipped at memchr speed.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace smolvlm::tok {

class AddedTokenMatcher {
 public:
  // Ignored when text is empty or already present (the first id keeps it).
  void add(std::string_view text, int32_t id);
  bool empty() const { return n_first_ == 0; }

  struct Match {
    size_t len = 0;  // 0: no token starts here
    int32_t id = -1;
  };
  Match longest_at(std::string_view text, size_t pos) const;
  // The first position >= pos whose byte can start a token, or text.size().
  size_t next_candidate(std::string_view text, size_t pos) const;

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> children;  // (byte, node), sorted by byte
    int32_t id = -1;
  };
  int32_t child(int32_t node, uint8_t b) const;
  std::vector<Node> nodes_{1};
  std::array<bool, 256> first_{};
  int n_first_ = 0;
  char only_first_ = 0;  // the first byte when n_first_ == 1
};

}  // namespace smolvlm::tok
