// The pre-tokenizer of the "smollm" (and plain "gpt2") vocabularies, hand-written over code points:
//   smollm: Digits(individual_digits) — every \p{N} character (Nd, Nl, No) its own piece — then
//   gpt2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// on each piece, with Unicode classes from ICU (\s = the White_Space property).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace smolvlm::tok {

enum class CharClass : uint8_t { kLetter, kNumber, kSpace, kOther };
CharClass char_class(uint32_t cp);  // \p{L}, \p{N}, \s, anything else

struct Span {
  size_t begin = 0, end = 0;  // byte range
};

class PreTokenizer {
 public:
  explicit PreTokenizer(bool split_digits) : split_digits_(split_digits) {}

  // Reusable buffers of split() (one per thread / call).
  struct Scratch {
    std::vector<size_t> offset;  // byte offset of each code point, plus the end
    std::vector<CharClass> cls;
  };
  // Appends the words of `seg` (valid UTF-8) to `words`, as byte ranges of seg, in order.
  void split(std::string_view seg, std::vector<Span>& words, Scratch& scratch) const;

 private:
  bool split_digits_;
};

}  // namespace smolvlm::tok
