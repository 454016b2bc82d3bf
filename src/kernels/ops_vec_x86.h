// 256-bit helpers shared by the AVX2 and AVX-512 vector traits. Templated on the traits type
// (Tag), so that each ISA's translation unit gets its own instantiation, compiled with its own
// flags, and the linker never substitutes one ISA's copy for another's.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace smolvlm::kernels::x86 {

template <class Tag>
inline __m256 load8(const float* p) {
  return _mm256_loadu_ps(p);
}
template <class Tag>
inline __m256 load8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// dst[c * dst_stride + r] = src[r * src_stride + c] for r, c < 8 (fp16 sources are widened).
template <class Tag, class T>
inline void transpose8x8(const T* src, int64_t src_stride, float* dst, int64_t dst_stride) {
  __m256 r[8], t[8];
  for (int i = 0; i < 8; ++i) r[i] = load8<Tag>(src + i * src_stride);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int i = 0; i < 4; ++i) {
    _mm256_storeu_ps(dst + i * dst_stride, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
    _mm256_storeu_ps(dst + (i + 4) * dst_stride, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
  }
}

}  // namespace smolvlm::kernels::x86
