#include "tokenizer/pretokenize.h"

#include <unicode/uchar.h>

#include <memory>

#include "tokenizer/utf8.h"

namespace smolvlm::tok {
namespace {

CharClass icu_class(uint32_t cp) {
  const auto c = static_cast<UChar32>(cp);
  switch (u_charType(c)) {
    case U_UPPERCASE_LETTER:
    case U_LOWERCASE_LETTER:
    case U_TITLECASE_LETTER:
    case U_MODIFIER_LETTER:
    case U_OTHER_LETTER: return CharClass::kLetter;
    case U_DECIMAL_DIGIT_NUMBER:
    case U_LETTER_NUMBER:
    case U_OTHER_NUMBER: return CharClass::kNumber;
    default: return u_hasBinaryProperty(c, UCHAR_WHITE_SPACE) ? CharClass::kSpace : CharClass::kOther;
  }
}

// The Basic Multilingual Plane from a table (built once), the rest straight from ICU.
struct BmpTable {
  std::unique_ptr<CharClass[]> cls{new CharClass[0x10000]};
  BmpTable() {
    for (uint32_t cp = 0; cp < 0x10000; ++cp) cls[cp] = icu_class(cp);
  }
};

const BmpTable& bmp_table() {
  static const BmpTable t;
  return t;
}

bool is_contraction_letter(char c) { return c == 's' || c == 't' || c == 'm' || c == 'd'; }
bool is_contraction_pair(char a, char b) {
  return (a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l');
}

}  // namespace

CharClass char_class(uint32_t cp) { return cp < 0x10000 ? bmp_table().cls[cp] : icu_class(cp); }

void PreTokenizer::split(std::string_view seg, std::vector<Span>& words, Scratch& scratch) const {
  // Decode once: offset and class of every code point.
  auto& off = scratch.offset;
  auto& cls = scratch.cls;
  off.clear();
  cls.clear();
  const CharClass* bmp = bmp_table().cls.get();
  for (size_t i = 0; i < seg.size();) {
    off.push_back(i);
    const auto b = static_cast<uint8_t>(seg[i]);
    if (b < 0x80) {
      cls.push_back(bmp[b]);
      ++i;
      continue;
    }
    const Utf8Step st = utf8_step(seg, i);  // seg is valid: st.ok
    cls.push_back(char_class(st.cp));
    i += st.len;
  }
  const size_t n = cls.size();
  off.push_back(seg.size());

  auto byte = [&](size_t k) { return seg[off[k]]; };
  auto emit = [&](size_t from, size_t to) { words.push_back({off[from], off[to]}); };
  auto run_of = [&](size_t k, CharClass c) {
    while (k < n && cls[k] == c) ++k;
    return k;
  };
  // With Digits first, a number character ends the piece the GPT-2 pattern sees.
  auto piece_end = [&](size_t k) { return k == n || (split_digits_ && cls[k] == CharClass::kNumber); };

  size_t i = 0;
  while (i < n) {
    const CharClass c = cls[i];
    if (split_digits_ && c == CharClass::kNumber) {
      emit(i, i + 1);
      ++i;
      continue;
    }
    // 's|'t|'re|'ve|'m|'ll|'d (lower case only)
    if (byte(i) == '\'' && i + 1 < n && !piece_end(i + 1)) {
      if (is_contraction_letter(byte(i + 1))) {
        emit(i, i + 2);
        i += 2;
        continue;
      }
      if (i + 2 < n && !piece_end(i + 2) && is_contraction_pair(byte(i + 1), byte(i + 2))) {
        emit(i, i + 3);
        i += 3;
        continue;
      }
    }
    // ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+': an optional ASCII space, then a run of one class.
    size_t start = i;
    if (byte(i) == ' ' && i + 1 < n && !piece_end(i + 1) && cls[i + 1] != CharClass::kSpace) start = i + 1;
    if (cls[start] != CharClass::kSpace) {
      const size_t j = run_of(start + 1, cls[start]);
      emit(i, j);
      i = j;
      continue;
    }
    // '\s+(?!\S)|\s+': a whitespace run leaves its last character to a following non-space.
    const size_t j = run_of(i + 1, CharClass::kSpace);
    const size_t end = (piece_end(j) || j - i == 1) ? j : j - 1;
    emit(i, end);
    i = end;
  }
}

}  // namespace smolvlm::tok
