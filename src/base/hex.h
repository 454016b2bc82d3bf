// Lower-case hexadecimal of bytes (digests: "sha256:" + hex_lower(md, 32)).
#pragma once

#include <cstddef>
#include <string>

namespace smolvlm {

inline std::string hex_lower(const unsigned char* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) out[2 * i] = kHex[p[i] >> 4], out[2 * i + 1] = kHex[p[i] & 15];
  return out;
}

}  // namespace smolvlm
