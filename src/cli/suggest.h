// "Did you mean …?" for mistyped command and parameter names.
#pragma once

#include <string>
#include <vector>

namespace smolvlm::cli {

// The candidate closest to `word` by edit distance (case-insensitive), when it is close enough
// (at most a third of the word's letters, and at least one, differ); "" otherwise.
std::string nearest_word(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace smolvlm::cli
