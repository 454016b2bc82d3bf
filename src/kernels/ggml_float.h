// Internal to the kernels layer: the float operations of a ggml AVX-512 build that decide the
// last bits of llama.cpp's results, as scalar code. The scalar reference kernels use them, and
// every SIMD kernel reproduces them bit for bit (see docs/ARCHITECTURE.md, "Kernels").
#pragma once

#include <cmath>

namespace smolvlm::kernels::ggml {

// The sum of 16 lanes as _mm512_reduce_add_ps (g++) adds them: lane l + lane l+8, then l + l+4,
// then (0 + 2) + (1 + 3).
inline float tree16(const float* x) {
  float y[8], z[4];
  for (int l = 0; l < 8; ++l) y[l] = x[l + 8] + x[l];
  for (int l = 0; l < 4; ++l) z[l] = y[l + 4] + y[l];
  return (z[0] + z[2]) + (z[1] + z[3]);
}

// The sum of 8 lanes as hsum_float_8 adds them: (a0+a4 + a2+a6) + (a1+a5 + a3+a7).
inline float hsum8(const float* a) {
  const float r0 = a[4] + a[0], r1 = a[5] + a[1], r2 = a[6] + a[2], r3 = a[7] + a[3];
  return (r0 + r2) + (r1 + r3);
}

// ggml's vector exp (ggml_v_expf of its AVX-512 build; the method of Arm's optimized-routines
// expf: x = n ln2 + b with |b| <= ln2/2, a degree-5 polynomial for e^b, scaled by 2^n; < 2 ulp)
// on one float, the same operations in the same order. |n| > 192 gives 0 or +inf.
inline float expf(float x) {
  const float r = 0x1.8p23f;
  const float n = std::fma(x, 0x1.715476p+0f, r) - r;  // round(x / ln2)
  const float b = std::fma(-n, 0x1.7f7d1cp-20f, std::fma(-n, 0x1.62e4p-1f, x));
  const float u = b * b;
  const float j = std::fma(std::fma(std::fma(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u,
                                    std::fma(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                           u, std::fma(0x1.ffffecp-1f, b, 1.0f));
  if (std::fabs(n) > 192) return n <= 0 ? 0.0f : HUGE_VALF;
  return std::ldexp(j, static_cast<int>(n));  // vscalefps: one rounding, also for subnormals
}

}  // namespace smolvlm::kernels::ggml
