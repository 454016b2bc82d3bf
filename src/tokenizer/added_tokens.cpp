#include "tokenizer/added_tokens.h"

#include <algorithm>
#include <cstring>

namespace smolvlm::tok {

int32_t AddedTokenMatcher::child(int32_t node, uint8_t b) const {
  const auto& ch = nodes_[node].children;
  const auto it = std::lower_bound(ch.begin(), ch.end(), b, [](const auto& e, uint8_t v) { return e.first < v; });
  return it != ch.end() && it->first == b ? it->second : -1;
}

void AddedTokenMatcher::add(std::string_view text, int32_t id) {
  if (text.empty()) return;
  int32_t node = 0;
  for (const char c : text) {
    const auto b = static_cast<uint8_t>(c);
    int32_t next = child(node, b);
    if (next < 0) {
      next = static_cast<int32_t>(nodes_.size());
      nodes_.emplace_back();  // may reallocate: index again below
      auto& ch = nodes_[node].children;
      ch.insert(std::lower_bound(ch.begin(), ch.end(), b, [](const auto& e, uint8_t v) { return e.first < v; }),
                {b, next});
    }
    node = next;
  }
  if (nodes_[node].id >= 0) return;
  nodes_[node].id = id;
  const auto b0 = static_cast<uint8_t>(text[0]);
  if (!first_[b0]) {
    first_[b0] = true;
    ++n_first_;
    only_first_ = text[0];
  }
}

AddedTokenMatcher::Match AddedTokenMatcher::longest_at(std::string_view text, size_t pos) const {
  Match best;
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    node = child(node, static_cast<uint8_t>(text[i]));
    if (node < 0) break;
    if (nodes_[node].id >= 0) best = {i + 1 - pos, nodes_[node].id};
  }
  return best;
}

size_t AddedTokenMatcher::next_candidate(std::string_view text, size_t pos) const {
  if (n_first_ == 1) {
    const void* p = pos < text.size() ? std::memchr(text.data() + pos, only_first_, text.size() - pos) : nullptr;
    return p ? static_cast<size_t>(static_cast<const char*>(p) - text.data()) : text.size();
  }
  while (pos < text.size() && !first_[static_cast<uint8_t>(text[pos])]) ++pos;
  return pos;
}

}  // namespace smolvlm::tok
