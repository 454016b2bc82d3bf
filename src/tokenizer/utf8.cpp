#include "tokenizer/utf8.h"

#include <array>

#include "base/error.h"

namespace smolvlm::tok {
namespace {

bool printable_byte(unsigned b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE; }

struct ByteMap {
  std::array<uint16_t, 256> to_cp{};
  std::array<int16_t, 324> to_byte{};  // code points 0 .. 323 cover the whole alphabet
  ByteMap() {
    to_byte.fill(-1);
    unsigned n = 0;
    for (unsigned b = 0; b < 256; ++b) {
      to_cp[b] = static_cast<uint16_t>(printable_byte(b) ? b : 256 + n++);
      to_byte[to_cp[b]] = static_cast<int16_t>(b);
    }
  }
};
const ByteMap& byte_map() {
  static const ByteMap m;  // function-local: safe from other files' static initializers
  return m;
}

}  // namespace

Utf8Step utf8_step(std::string_view s, size_t i) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  const uint8_t b0 = p[i];
  Utf8Step r;
  if (b0 < 0x80) {
    r.cp = b0;
    r.ok = true;
    return r;
  }
  if (b0 < 0xC2 || b0 > 0xF4) return r;  // continuation byte, overlong lead or beyond U+10FFFF
  const int need = b0 < 0xE0 ? 1 : b0 < 0xF0 ? 2 : 3;
  // The second byte's range excludes overlongs (E0, F0), surrogates (ED) and > U+10FFFF (F4).
  uint8_t lo = 0x80, hi = 0xBF;
  if (b0 == 0xE0) lo = 0xA0;
  if (b0 == 0xED) hi = 0x9F;
  if (b0 == 0xF0) lo = 0x90;
  if (b0 == 0xF4) hi = 0x8F;
  uint32_t cp = b0 & (0x3F >> need);
  for (int k = 1; k <= need; ++k) {
    r.len = k;
    if (i + k >= n) {
      r.truncated = true;
      return r;
    }
    const uint8_t b = p[i + k];
    if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return r;
    cp = (cp << 6) | (b & 0x3F);
  }
  r.len = need + 1;
  r.cp = cp;
  r.ok = true;
  return r;
}

void utf8_validate(std::string_view s, std::string_view what) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  size_t i = 0;
  while (i < s.size()) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    const Utf8Step st = utf8_step(s, i);
    if (!st.ok) {
      fail(what, ": invalid UTF-8 at byte offset ", i, " (byte 0x", std::hex, static_cast<unsigned>(p[i]), ")");
    }
    i += st.len;
  }
}

namespace {

// Shared loop of the two lossy decoders; stops before a truncated tail when keep_tail.
size_t append_lossy(std::string& out, std::string_view s, bool keep_tail) {
  out.reserve(out.size() + s.size());
  size_t i = 0, run = 0;  // [run, i) is valid text not yet copied
  while (i < s.size()) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const Utf8Step st = utf8_step(s, i);
    if (st.ok) {
      i += st.len;
      continue;
    }
    out.append(s.data() + run, i - run);
    if (st.truncated && keep_tail) return i;
    out += "\xEF\xBF\xBD";  // U+FFFD
    i += st.len;
    run = i;
  }
  out.append(s.data() + run, i - run);
  return i;
}

}  // namespace

void append_utf8_lossy(std::string& out, std::string_view s) { append_lossy(out, s, false); }

size_t append_utf8_complete(std::string& out, std::string_view s) { return append_lossy(out, s, true); }

uint32_t byte_to_cp(uint8_t b) { return byte_map().to_cp[b]; }

int cp_to_byte(uint32_t cp) { const auto& m = byte_map().to_byte;
  return cp < m.size() ? m[cp] : -1; }

std::string byte_level_decode(std::string_view token) {
  std::string bytes;
  bytes.reserve(token.size());
  for (size_t i = 0; i < token.size();) {
    const Utf8Step st = utf8_step(token, i);
    const int b = st.ok ? cp_to_byte(st.cp) : -1;
    if (b < 0) return std::string(token);
    bytes += static_cast<char>(b);
    i += st.len;
  }
  return bytes;
}

}  // namespace smolvlm::tok
