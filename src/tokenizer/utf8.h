// UTF-8 helpers of the tokenizer: strict validation (encode input), Rust-style lossy decoding
// (decode output, one U+FFFD per maximal invalid subpart), and GPT-2's byte-level alphabet
// (every byte value <-> one printable code point, "Ġ" = 0x20).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/utf8.h"

namespace smolvlm::tok {

// One decoding step at s[i] (i < s.size()), following the Unicode "maximal subpart" practice that
// Rust's String::from_utf8_lossy implements.
struct Utf8Step {
  uint32_t cp = 0;         // the code point when ok
  int len = 1;             // bytes of the character, or of the maximal invalid subpart (>= 1)
  bool ok = false;
  bool truncated = false;  // !ok and the subpart runs to the end of s: more bytes could complete it
};
Utf8Step utf8_step(std::string_view s, size_t i);

// Throws Error "<what>: invalid UTF-8 at byte offset N" for the first invalid byte.
void utf8_validate(std::string_view s, std::string_view what);

// Appends s to out with each maximal invalid subpart replaced by U+FFFD.
void append_utf8_lossy(std::string& out, std::string_view s);
// Appends the complete prefix of s (invalid subparts as U+FFFD) to out and returns how many bytes
// of s were consumed: a truncated sequence at the very end is left unconsumed.
size_t append_utf8_complete(std::string& out, std::string_view s);

using smolvlm::append_utf8;  // base/utf8.h

// GPT-2 bytes_to_unicode(): printable bytes map to themselves, the other 68 to U+0100 + n.
uint32_t byte_to_cp(uint8_t b);
// The inverse: the byte a code point stands for, or -1 when it is not in the byte-level alphabet.
int cp_to_byte(uint32_t cp);

// The raw bytes a byte-level token string stands for (tokenizers' ByteLevel decoder, per token):
// every character mapped back to its byte, or the string itself when any character is outside
// the alphabet (or the string is not valid UTF-8).
std::string byte_level_decode(std::string_view token);

}  // namespace smolvlm::tok
