// AVX-512 kernels for float weights (F32, F16, BF16) on ggml rows in place, through the blocked
// driver of matmul_float_gemm.h. Activations arrive already rounded to the weight's ggml
// vec_dot_type (fp16 / bf16). F16 weights widen with F16C (vcvtph2ps), BF16 ones by a shift.
// Where the CPU has AVX512_BF16, BF16 weights take vdpbf16ps instead: the activations come as
// bf16 codes, and each instruction adds the exact products of two bf16 pairs per lane (ggml's
// AVX512BF16 vec_dot does the same), twice the work of an f32 FMA. (The fast order takes the
// panel kernel of matmul_bf16_panel_avx512.cpp instead.)
#include <immintrin.h>

#include <atomic>

#include "kernels/avx2/matmul_avx2.h"
#include "kernels/avx512/matmul_avx512.h"
#include "kernels/matmul_float_gemm.h"

namespace smolvlm::kernels::mm::avx512 {
namespace {

inline __mmask16 mask16(int n) { return __mmask16((1u << n) - 1); }
inline __mmask32 mask32(int n) { return __mmask32((uint64_t(1) << n) - 1); }

// Weight element loads: 16 elements widened to f32.
struct F32 {
  static constexpr size_t kSize = 4;
  static __m512 load(const uint8_t* p) { return _mm512_loadu_ps(p); }
  static __m512 load(const uint8_t* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
};
struct F16 {
  static constexpr size_t kSize = 2;
  static __m512 load(const uint8_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  static __m512 load(const uint8_t* p, __mmask16 m) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p)); }
};
struct BF16 {
  static constexpr size_t kSize = 2;
  static __m512 widen(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }
  static __m512 load(const uint8_t* p) { return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  static __m512 load(const uint8_t* p, __mmask16 m) { return widen(_mm256_maskz_loadu_epi16(m, p)); }
};

struct Base {
  using V = __m512;
  static V zero() { return _mm512_setzero_ps(); }
  static float reduce(V v) { return _mm512_reduce_add_ps(v); }
};

// f32 FMA on weights of element type W against f32 activations.
template <class W>
struct Fma : Base {
  using WV = __m512;
  using XV = __m512;
  static constexpr int kStep = 16, kRT = 6, kTT = 4;
  static constexpr size_t kWSize = W::kSize, kXSize = 4;
  static WV w(const uint8_t* p) { return W::load(p); }
  static WV w_tail(const uint8_t* p, int n) { return W::load(p, mask16(n)); }
  static XV x(const uint8_t* p) { return _mm512_loadu_ps(p); }
  static XV x_tail(const uint8_t* p, int n) { return _mm512_maskz_loadu_ps(mask16(n), p); }
  static V madd(V acc, WV w, XV x) { return _mm512_fmadd_ps(w, x, acc); }
  static const uint8_t* act(const Acts& a, int64_t t) { return reinterpret_cast<const uint8_t*>(a.f + t * a.f_stride); }

  // Decode: one row as a single sequential stream (the hardware prefetcher's best case), in
  // ggml_vec_dot_f16/f32's order: four accumulators over 64-element steps, reduced as
  // (a0 + a2) + (a1 + a3) and then across the lanes; the last cols % 64 one by one.
  static float row_dot(const uint8_t* w, const uint8_t* xb, int64_t cols) {
    const float* x = reinterpret_cast<const float*>(xb);
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    int64_t k = 0;
    for (; k + 64 <= cols; k += 64) {
      for (int j = 0; j < 4; ++j)
        acc[j] = _mm512_fmadd_ps(W::load(w + size_t(k + 16 * j) * W::kSize), _mm512_loadu_ps(x + k + 16 * j), acc[j]);
    }
    const float sum = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[2]), _mm512_add_ps(acc[1], acc[3])));
    return gemm::ggml_dot_rest<W::kSize>(sum, k, cols, [&](int64_t i) {
      return _mm512_cvtss_f32(W::load(w + size_t(i) * W::kSize, mask16(1)));
    }, x);
  }
};

// vdpbf16ps on bf16 weights against bf16 activation codes: 32 elements per step, lane j holds
// the pairs (2j, 2j+1).
struct DpBf16 : Base {
  using WV = __m512bh;
  using XV = __m512bh;
  static constexpr int kStep = 32, kRT = 6, kTT = 4;
  static constexpr size_t kWSize = 2, kXSize = 2;
  static __m512bh ld(const uint8_t* p) { return __m512bh(_mm512_loadu_si512(p)); }
  static __m512bh ld(const uint8_t* p, int n) { return __m512bh(_mm512_maskz_loadu_epi16(mask32(n), p)); }
  static WV w(const uint8_t* p) { return ld(p); }
  static WV w_tail(const uint8_t* p, int n) { return ld(p, n); }
  static XV x(const uint8_t* p) { return ld(p); }
  static XV x_tail(const uint8_t* p, int n) { return ld(p, n); }
  static V madd(V acc, WV w, XV x) { return _mm512_dpbf16_ps(acc, w, x); }
  static const uint8_t* act(const Acts& a, int64_t t) { return reinterpret_cast<const uint8_t*>(a.h + t * a.h_stride); }

  static float row_dot(const uint8_t* w, const uint8_t* x, int64_t cols) {
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    int64_t k = 0;
    for (; k + 128 <= cols; k += 128) {
      _mm_prefetch(reinterpret_cast<const char*>(w + size_t(k) * 2 + 2048), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(w + size_t(k) * 2 + 2048 + 128), _MM_HINT_T0);
      for (int j = 0; j < 4; ++j) {
        const size_t off = size_t(k + 32 * j) * 2;
        acc[j] = _mm512_dpbf16_ps(acc[j], ld(w + off), ld(x + off));
      }
    }
    for (; k < cols; k += 32) {
      const int n = cols - k >= 32 ? 32 : int(cols - k);
      acc[0] = _mm512_dpbf16_ps(acc[0], ld(w + size_t(k) * 2, n), ld(x + size_t(k) * 2, n));
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
  }
};

template <class F>
constexpr Kernel make(bool bf16_codes = false) {
  return Kernel{
      .isa = Isa::kAvx512, .row_block = F::kRT, .bf16_codes = bf16_codes, .token_tile = F::kTT, .tile = gemm::tile<F>};
}
constexpr Kernel kF32 = make<Fma<F32>>();
constexpr Kernel kF16 = make<Fma<F16>>();

// F16 in the fast order: the same GEMM, but a decode step (one token) takes the AVX2 kernel's row
// dot (eight ymm chains over the same 64 lanes, widening 8 fp16 at a time), which streams the
// weights faster than four zmm chains widening 16 at a time: on Zen 4, 2 threads, the real-shape
// 256M's F16 tg128 went 92-119 -> 101-145 t/s, faster in 5 of 6 interleaved pairs (by 3-28%).
void f16_fast_tile(const PackedData& pw, const Acts& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1, float* y,
                   int64_t ldy) {
  static const Kernel* const avx2 = avx2::f16_rows_fast();
  if (a.n_tokens == 1) return avx2->tile(pw, a, r0, r1, t0, t1, y, ldy);
  gemm::tile<Fma<F16>>(pw, a, r0, r1, t0, t1, y, ldy);
}
constexpr Kernel kF16Fast = {.isa = Isa::kAvx512, .row_block = Fma<F16>::kRT, .token_tile = Fma<F16>::kTT,
                             .tile = f16_fast_tile};
constexpr Kernel kBF16 = make<Fma<BF16>>();
constexpr Kernel kBF16Dp = make<DpBf16>(true);

std::atomic<int>& bf16_override() {
  static std::atomic<int> v{-1};  // -1: follow CPUID
  return v;
}

}  // namespace

const Kernel* float_kernel(GgmlType t, SumOrder order) {
  switch (t) {
    case GgmlType::F32: return &kF32;
    case GgmlType::F16: return order == SumOrder::kFastest ? &kF16Fast : &kF16;
    case GgmlType::BF16: {
      const int o = bf16_override().load();
      if (!cpu_features().avx512_bf16 || o == 0) return &kBF16;
      return order == SumOrder::kFastest ? &kBF16Panels : &kBF16Dp;
    }
    default: return nullptr;
  }
}

}  // namespace smolvlm::kernels::mm::avx512

namespace smolvlm::kernels::mm {
void avx512_use_bf16(int on) { avx512::bf16_override().store(on); }
}  // namespace smolvlm::kernels::mm
