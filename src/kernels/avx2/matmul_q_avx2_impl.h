// AVX2 kernels for the integer-quantized weight types on the 8-row interleaved layout of
// matmul_pack.h (one ymm dword lane per row), the AVX2 twin of avx512/matmul_q_avx512.cpp.
// Included by three translation units: matmul_q_avx2_vnni.cpp (SMOLVLM_AVX2_VNNI = 1: vpdpbusd
// from AVX-VNNI), matmul_q_avx2_vnni_evex.cpp (= 2: the same ymm vpdpbusd EVEX-encoded, from
// AVX512-VNNI + VL) and matmul_q_avx2.cpp (= 0: vpmaddubsw + vpmaddwd). Everything here has
// internal linkage, so the builds never mix.
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "kernels/avx2/matmul_avx2.h"
#include "kernels/matmul_pack.h"

namespace smolvlm::kernels::mm::avx2 {
namespace {

constexpr int R = 8;
constexpr bool kVnni = SMOLVLM_AVX2_VNNI != 0;

// Lanes: ggml's order (SumOrder::kGgml); else one integer sum per block and slot (kFastest).
template <int Bits, int Offset, bool HasMin, ScaleKind SK, bool Lanes = true>
struct QType {
  static constexpr int kBits = Bits;
  static constexpr bool kLanes = Lanes;
  // Without VNNI, 8-bit codes go back to signed int8 (maddubs would saturate on q + 128), so
  // there is no offset to remove.
  static constexpr int kOffset = (Bits == 8 && !kVnni) ? 0 : Offset;
  static constexpr bool kHasMin = HasMin;
  static constexpr ScaleKind kScales = SK;
  static constexpr int kBlock = SK == ScaleKind::kBlock ? 32 : 256;
  static constexpr ChunkLayout C = chunk_layout(kBlock, Bits, HasMin, SK, R);
};
using Q4_0 = QType<4, 8, false, ScaleKind::kBlock>;
using Q4_1 = QType<4, 0, true, ScaleKind::kBlock>;
using Q5_0 = QType<5, 16, false, ScaleKind::kBlock>;
using Q5_1 = QType<5, 0, true, ScaleKind::kBlock>;
using Q8_0 = QType<8, 128, false, ScaleKind::kBlock>;
using Q4_K = QType<4, 0, true, ScaleKind::kK32Min>;
using Q5_K = QType<5, 0, true, ScaleKind::kK32Min>;
using Q6_K = QType<6, 32, false, ScaleKind::kK16>;
template <class Q>
using Fast = QType<Q::kBits, Q::kBits == 8 ? 128 : Q::kOffset, Q::kHasMin, Q::kScales, false>;

inline __m256i bcast4(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}
inline __m256 f16x8(const uint8_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }

// acc += sum of 4 (unsigned code x signed activation) products per dword lane.
inline __m256i dot_u8s8(__m256i acc, __m256i w, __m256i a) {
#if SMOLVLM_AVX2_VNNI == 2
  return _mm256_dpbusd_epi32(acc, w, a);
#elif SMOLVLM_AVX2_VNNI
  return _mm256_dpbusd_avx_epi32(acc, w, a);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(w, a), _mm256_set1_epi16(1)));
#endif
}
// acc += signed 8-bit x signed 8-bit (8-bit codes without VNNI: the sign trick).
inline __m256i dot_s8s8(__m256i acc, __m256i w, __m256i a) {
  return _mm256_add_epi32(
      acc, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w)), _mm256_set1_epi16(1)));
}
// acc += int16 pairs dot.
inline __m256i dot_s16(__m256i acc, __m256i a, __m256i b) {
#if SMOLVLM_AVX2_VNNI == 2
  return _mm256_dpwssd_epi32(acc, a, b);
#elif SMOLVLM_AVX2_VNNI
  return _mm256_dpwssd_avx_epi32(acc, a, b);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
#endif
}

// Bit 8b + s of every dword lane moved to bit `to` of byte b.
template <int s, int to>
inline __m256i plane_bits(__m256i x) {
  constexpr int sh = to - s;
  const __m256i v = sh >= 0 ? _mm256_slli_epi32(x, sh >= 0 ? sh : 0) : _mm256_srli_epi32(x, sh < 0 ? -sh : 0);
  return _mm256_and_si256(v, _mm256_set1_epi8(char(1 << to)));
}

// Where T token slots' activations live for the current block (see the AVX-512 kernel).
template <int T, bool Tiled>
struct Toks {
  static constexpr int kP = Tiled ? (T + 3) / 4 : 1;
  static constexpr int kStep = Tiled ? 4 : 1;
  const int8_t* q[kP];
  const float* d[kP];
  const float* s[kP];
  const int32_t* aux[kP];

  Toks(const Acts& a, int64_t t0) {
    for (int p = 0; p < kP; ++p) {
      if constexpr (Tiled) {
        const int64_t tile = t0 / 4 + p, lane = t0 % 4;
        q[p] = a.tq + tile * a.tq_stride + 4 * lane;
        d[p] = a.td + tile * a.td_stride + lane;
        s[p] = a.ts ? a.ts + tile * a.td_stride + lane : nullptr;
        aux[p] = a.taux ? a.taux + tile * a.taux_stride + lane : nullptr;
      } else {
        q[p] = a.q + t0 * a.q_stride;
        d[p] = a.d + t0 * a.d_stride;
        s[p] = a.s ? a.s + t0 * a.d_stride : nullptr;
        aux[p] = a.aux ? a.aux + t0 * a.aux_stride : nullptr;
      }
    }
  }
  const int8_t* qk(int t, int k) const { return Tiled ? q[t / 4] + 4 * k + 4 * (t % 4) : q[0] + k; }
  float dv(int t) const { return d[t / kStep][t % kStep]; }
  float sv(int t) const { return s[t / kStep][t % kStep]; }
  const int32_t* auxp(int t, int i) const { return aux[t / kStep] + kStep * i + t % kStep; }
  void next(int block, int aux_per_block) {
    for (int p = 0; p < kP; ++p) {
      q[p] += block * kStep;
      d[p] += kStep;
      if (s[p]) s[p] += kStep;
      if (aux[p]) aux[p] += aux_per_block * kStep;
    }
  }
};

// Integer dot products of step m (0..3) of the unit at element u32, for T slots: lo[t] += codes
// of elements 4m..4m+3 x activations (ggml's lane m), hi[t] += elements 16+4m.. (lane 4+m). From
// zero, such a sum fits int16 (at most 32004), so the K-quants scale it with an int16 pair dot.
template <class Q, int T, int m, class A>
inline void step_dots(const uint8_t* unit, const A& act, int u32, __m256i* lo, __m256i* hi) {
  const uint8_t* codes = unit + Q::C.n_planes * 4 * R;
  if constexpr (Q::kBits == 8) {
    const __m256i wl = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(unit + 32 * m));
    const __m256i wh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(unit + 32 * (4 + m)));
    for (int t = 0; t < T; ++t) {
      const __m256i xl = bcast4(act.qk(t, u32 + 4 * m)), xh = bcast4(act.qk(t, u32 + 16 + 4 * m));
      if constexpr (kVnni) {
        lo[t] = dot_u8s8(lo[t], wl, xl);
        hi[t] = dot_u8s8(hi[t], wh, xh);
      } else {
        const __m256i flip = _mm256_set1_epi8(char(0x80));
        lo[t] = dot_s8s8(lo[t], _mm256_xor_si256(wl, flip), xl);
        hi[t] = dot_s8s8(hi[t], _mm256_xor_si256(wh, flip), xh);
      }
    }
    return;
  }
  const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + 32 * m));
  const __m256i nib = _mm256_set1_epi8(0x0F);
  __m256i wl = _mm256_and_si256(w, nib);
  __m256i wh = _mm256_and_si256(_mm256_srli_epi16(w, 4), nib);
  if constexpr (Q::C.n_planes >= 1) {
    const __m256i p0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(unit));
    wl = _mm256_or_si256(wl, plane_bits<2 * m, 4>(p0));
    wh = _mm256_or_si256(wh, plane_bits<2 * m + 1, 4>(p0));
  }
  if constexpr (Q::C.n_planes >= 2) {
    const __m256i p1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(unit + 32));
    wl = _mm256_or_si256(wl, plane_bits<2 * m, 5>(p1));
    wh = _mm256_or_si256(wh, plane_bits<2 * m + 1, 5>(p1));
  }
  for (int t = 0; t < T; ++t) {
    lo[t] = dot_u8s8(lo[t], wl, bcast4(act.qk(t, u32 + 4 * m)));
    hi[t] = dot_u8s8(hi[t], wh, bcast4(act.qk(t, u32 + 16 + 4 * m)));
  }
}
template <class Q, int T, class A>
inline void step_dots(const uint8_t* unit, const A& act, int u32, int m, __m256i* lo, __m256i* hi) {
  switch (m) {
    case 0: return step_dots<Q, T, 0>(unit, act, u32, lo, hi);
    case 1: return step_dots<Q, T, 1>(unit, act, u32, lo, hi);
    case 2: return step_dots<Q, T, 2>(unit, act, u32, lo, hi);
    default: return step_dots<Q, T, 3>(unit, act, u32, lo, hi);
  }
}

inline __m256i byte_u32(__m256i v, int k) {
  return _mm256_and_si256(_mm256_srlv_epi32(v, _mm256_set1_epi32(8 * k)), _mm256_set1_epi32(0xFF));
}
inline __m256i byte_s32(__m256i v, int k) {
  return _mm256_srai_epi32(_mm256_sllv_epi32(v, _mm256_set1_epi32(24 - 8 * k)), 24);
}

// Q4_K/Q5_K: the eight 6-bit (scale, min) pairs of every row from ggml's 12 bytes
// (get_scale_min_k4), one dword lane per row.
inline void k_scales_mins(const uint8_t* sp, __m256i* sc, __m256i* mn) {
  const __m256i D0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sp));
  const __m256i D1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sp + 32));
  const __m256i D2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sp + 64));
  const __m256i m6 = _mm256_set1_epi8(0x3F), m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
  const __m256i sc03 = _mm256_and_si256(D0, m6), mn03 = _mm256_and_si256(D1, m6);
  const __m256i sc47 = _mm256_or_si256(_mm256_and_si256(D2, m4), _mm256_and_si256(_mm256_srli_epi32(D0, 2), m30));
  const __m256i mn47 =
      _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(D2, 4), m4), _mm256_and_si256(_mm256_srli_epi32(D1, 2), m30));
  for (int u = 0; u < 8; ++u) {
    sc[u] = byte_u32(u < 4 ? sc03 : sc47, u % 4);
    mn[u] = byte_u32(u < 4 ? mn03 : mn47, u % 4);
  }
}
// Q6_K: the sixteen int8 scales of every row, sign-extended: sl[u] for elements 32u..32u+15, sh[u]
// for the next 16.
inline void q6_scales(const uint8_t* sp, __m256i* sl, __m256i* sh) {
  for (int u = 0; u < 8; ++u) {
    const __m256i P = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sp + 32 * (u / 2)));
    sl[u] = byte_s32(P, (2 * u) % 4);
    sh[u] = byte_s32(P, (2 * u + 1) % 4);
  }
}

// The f32 state of T slots in ggml's order, one ymm lane per row (see the AVX-512 kernel).
template <int T, bool Mins = false, bool Sum = false>
struct LaneAcc {
  __m256 acc[8 * T], mins[Mins ? 4 * T : 1], sum[Sum ? T : 1];
  LaneAcc() {
    for (int i = 0; i < 8 * T; ++i) acc[i] = _mm256_setzero_ps();
    if constexpr (Mins)
      for (int i = 0; i < 4 * T; ++i) mins[i] = _mm256_setzero_ps();
    if constexpr (Sum)
      for (int i = 0; i < T; ++i) sum[i] = _mm256_setzero_ps();
  }
  // ggml: hsum_float_8(acc) (+ ((m0 + m2) + (m1 + m3))) (+ sum), per row.
  __m256 result(int t) const {
    const __m256* a = acc + 8 * t;
    const __m256 r0 = _mm256_add_ps(a[4], a[0]), r1 = _mm256_add_ps(a[5], a[1]);
    const __m256 r2 = _mm256_add_ps(a[6], a[2]), r3 = _mm256_add_ps(a[7], a[3]);
    __m256 h = _mm256_add_ps(_mm256_add_ps(r0, r2), _mm256_add_ps(r1, r3));
    if constexpr (Mins) {
      const __m256* m = mins + 4 * t;
      h = _mm256_add_ps(h, _mm256_add_ps(_mm256_add_ps(m[0], m[2]), _mm256_add_ps(m[1], m[3])));
    }
    if constexpr (Sum) h = _mm256_add_ps(h, sum[t]);
    return h;
  }
};

template <int T, class L_>
inline void add_lanes(L_& L, int m, const __m256i* lo, const __m256i* hi, const __m256* dd) {
  for (int t = 0; t < T; ++t) {
    L.acc[8 * t + m] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(lo[t]), dd[t], L.acc[8 * t + m]);
    L.acc[8 * t + 4 + m] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(hi[t]), dd[t], L.acc[8 * t + 4 + m]);
  }
}

// The lanes a type's dot product keeps: Q4_K four min lanes; Q5_K and Q4_1/Q5_1 a scalar sum.
template <class Q, int T>
using LaneAccFor = LaneAcc<T, Q::kScales == ScaleKind::kK32Min && Q::kBits == 4,
                           Q::kHasMin && !(Q::kScales == ScaleKind::kK32Min && Q::kBits == 4)>;

// SumOrder::kFastest's state: one f32 accumulator per slot (one ymm lane per row).
template <int T>
struct BlockAcc {
  __m256 acc[T];
  BlockAcc() {
    for (auto& a : acc) a = _mm256_setzero_ps();
  }
  __m256 result(int t) const { return acc[t]; }
};
template <class Q, int T>
using AccFor = std::conditional_t<Q::kLanes, LaneAccFor<Q, T>, BlockAcc<T>>;

// SumOrder::kFastest, one block: each slot's whole integer dot product (the code offset removed
// through the activation block sum; K-quants with their sub-block scales), then one fma with the
// block scale (mins: one more).
template <class Q, int T, class A, class L_>
inline void block_sums(const uint8_t* group, const uint8_t* unit, const A& act, L_& L, const __m256* dd) {
  const ChunkLayout& C = Q::C;
  if constexpr (Q::kScales == ScaleKind::kBlock) {
    __m256i isum[T];
    for (int t = 0; t < T; ++t) isum[t] = Q::kOffset ? _mm256_set1_epi32(*act.auxp(t, 0)) : _mm256_setzero_si256();
    for (int m = 0; m < 4; ++m) step_dots<Q, T>(unit, act, 0, m, isum, isum);
    for (int t = 0; t < T; ++t) L.acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), dd[t], L.acc[t]);
    if constexpr (Q::kHasMin) {
      const __m256 mr = f16x8(group + C.m);
      for (int t = 0; t < T; ++t) L.acc[t] = _mm256_fmadd_ps(mr, _mm256_set1_ps(act.sv(t)), L.acc[t]);
    }
  } else if constexpr (Q::kScales == ScaleKind::kK32Min) {
    __m256i sc[8], mn[8];
    k_scales_mins(group + C.scales, sc, mn);
    __m256i S[T], M[T];
    for (int t = 0; t < T; ++t) S[t] = M[t] = _mm256_setzero_si256();
    for (int u = 0; u < 8; ++u) {
      __m256i isum[T];
      for (int t = 0; t < T; ++t) isum[t] = _mm256_setzero_si256();
      for (int m = 0; m < 4; ++m) step_dots<Q, T>(unit + u * C.unit_bytes, act, 32 * u, m, isum, isum);
      for (int t = 0; t < T; ++t) {
        S[t] = _mm256_add_epi32(S[t], _mm256_mullo_epi32(isum[t], sc[u]));
        M[t] = dot_s16(M[t], _mm256_or_si256(mn[u], _mm256_slli_epi32(mn[u], 16)), _mm256_set1_epi32(*act.auxp(t, u)));
      }
    }
    const __m256 dmin = f16x8(group + C.m);
    for (int t = 0; t < T; ++t) {
      L.acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(S[t]), dd[t], L.acc[t]);
      L.acc[t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(M[t]), _mm256_mul_ps(dmin, _mm256_set1_ps(act.dv(t))), L.acc[t]);
    }
  } else {  // kK16
    const uint8_t* sp = group + C.scales;
    __m256i S[T];
    for (int t = 0; t < T; ++t) S[t] = _mm256_setzero_si256();
    __m256i sl[8], sh[8];
    q6_scales(sp, sl, sh);
    for (int u = 0; u < 8; ++u) {
      __m256i lo[T], hi[T];
      for (int t = 0; t < T; ++t) {
        lo[t] = _mm256_set1_epi32(*act.auxp(t, 2 * u));  // -32 * bsum: removes the code offset
        hi[t] = _mm256_set1_epi32(*act.auxp(t, 2 * u + 1));
      }
      for (int m = 0; m < 4; ++m) step_dots<Q, T>(unit + u * C.unit_bytes, act, 32 * u, m, lo, hi);
      for (int t = 0; t < T; ++t)
        S[t] = _mm256_add_epi32(S[t], _mm256_add_epi32(_mm256_mullo_epi32(lo[t], sl[u]), _mm256_mullo_epi32(hi[t], sh[u])));
    }
    for (int t = 0; t < T; ++t) L.acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(S[t]), dd[t], L.acc[t]);
  }
}

template <class Q, int T, class A, class L_>
void group_dot(const uint8_t* group, int64_t nb, A act, L_& L, bool stream) {
  const ChunkLayout& C = Q::C;
  constexpr int kAuxPerBlock = Q::kScales == ScaleKind::kBlock ? (Q::kOffset ? (Q::kLanes ? 8 : 1) : 0)
                               : Q::kScales == ScaleKind::kK32Min ? 8
                                                                   : 16;
  for (int64_t b = 0; b < nb; ++b, group += C.bytes, act.next(Q::kBlock, kAuxPerBlock)) {
    // Decode (one token, or the batched steps of a few sequences) streams the weights from
    // memory: ask for the bytes >= 4 KB ahead (the groups of a task are contiguous), so loads
    // stay in flight while this chunk computes.
    if (stream) {
      constexpr int kAhead = Q::C.bytes * 2 > 4096 ? Q::C.bytes * 2 : 4096;
      for (int off = 0; off < C.bytes; off += 64) _mm_prefetch(reinterpret_cast<const char*>(group + kAhead + off), _MM_HINT_T0);
    }
    const __m256 d = f16x8(group + C.d);
    __m256 dd[T];
    for (int t = 0; t < T; ++t) dd[t] = _mm256_mul_ps(d, _mm256_set1_ps(act.dv(t)));
    const uint8_t* unit = group + C.unit0;
    __m256i lo[T], hi[T];
    if constexpr (!Q::kLanes) {
      block_sums<Q, T>(group, unit, act, L, dd);
    } else if constexpr (Q::kScales == ScaleKind::kBlock) {
      for (int m = 0; m < 4; ++m) {
        for (int t = 0; t < T; ++t) {  // the code offset, removed per quad of elements
          lo[t] = Q::kOffset ? _mm256_set1_epi32(*act.auxp(t, m)) : _mm256_setzero_si256();
          hi[t] = Q::kOffset ? _mm256_set1_epi32(*act.auxp(t, 4 + m)) : _mm256_setzero_si256();
        }
        step_dots<Q, T>(unit, act, 0, m, lo, hi);
        add_lanes<T>(L, m, lo, hi, dd);
      }
      if constexpr (Q::kHasMin) {
        const __m256 mr = f16x8(group + C.m);
        for (int t = 0; t < T; ++t) L.sum[t] = _mm256_fmadd_ps(mr, _mm256_set1_ps(act.sv(t)), L.sum[t]);
      }
    } else if constexpr (Q::kScales == ScaleKind::kK32Min) {
      __m256i sc[8], mn[8];
      k_scales_mins(group + C.scales, sc, mn);
      const __m256 dmin = f16x8(group + C.m);
      for (int t = 0; t < T; ++t) {
        const __m256 dm = _mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(dmin, _mm256_set1_ps(act.dv(t))));
        __m256i mk[4];
        for (int k = 0; k < 4; ++k) {
          mk[k] = _mm256_setzero_si256();
          for (int u = 2 * k; u < 2 * k + 2; ++u) {
            mk[k] = dot_s16(mk[k], _mm256_or_si256(mn[u], _mm256_slli_epi32(mn[u], 16)), _mm256_set1_epi32(*act.auxp(t, u)));
          }
        }
        if constexpr (Q::kBits == 4) {
          for (int k = 0; k < 4; ++k) L.mins[4 * t + k] = _mm256_fmadd_ps(dm, _mm256_cvtepi32_ps(mk[k]), L.mins[4 * t + k]);
        } else {
          const __m256i all = _mm256_add_epi32(_mm256_add_epi32(mk[0], mk[1]), _mm256_add_epi32(mk[2], mk[3]));
          L.sum[t] = _mm256_fmadd_ps(dm, _mm256_cvtepi32_ps(all), L.sum[t]);
        }
      }
      for (int m = 0; m < 4; ++m) {
        for (int t = 0; t < T; ++t) lo[t] = hi[t] = _mm256_setzero_si256();
        for (int u = 0; u < 8; ++u) {
          __m256i l[T], h[T];
          for (int t = 0; t < T; ++t) l[t] = h[t] = _mm256_setzero_si256();
          step_dots<Q, T>(unit + u * C.unit_bytes, act, 32 * u, m, l, h);
          for (int t = 0; t < T; ++t) {
            lo[t] = dot_s16(lo[t], l[t], sc[u]);  // sc: (scale, 0) as int16 pairs
            hi[t] = dot_s16(hi[t], h[t], sc[u]);
          }
        }
        add_lanes<T>(L, m, lo, hi, dd);
      }
    } else {  // kK16 (Q6_K)
      const uint8_t* sp = group + C.scales;
      __m256i sl[8], sh[8];
      q6_scales(sp, sl, sh);
      const __m256i lo16 = _mm256_set1_epi32(0xFFFF);  // a scale as the int16 pair (scale, 0)
      for (int m = 0; m < 4; ++m) {
        // lane j less 32 * (bsum[2j] sc[2j] + bsum[2j+1] sc[2j+1]); the aux holds -32 * bsum per 16
        for (int t = 0; t < T; ++t) {
          lo[t] = _mm256_add_epi32(_mm256_mullo_epi32(sl[m], _mm256_set1_epi32(*act.auxp(t, 2 * m))),
                                   _mm256_mullo_epi32(sh[m], _mm256_set1_epi32(*act.auxp(t, 2 * m + 1))));
          hi[t] = _mm256_add_epi32(_mm256_mullo_epi32(sl[4 + m], _mm256_set1_epi32(*act.auxp(t, 8 + 2 * m))),
                                   _mm256_mullo_epi32(sh[4 + m], _mm256_set1_epi32(*act.auxp(t, 8 + 2 * m + 1))));
        }
        for (int u = 0; u < 8; ++u) {
          __m256i l[T], h[T];
          for (int t = 0; t < T; ++t) l[t] = h[t] = _mm256_setzero_si256();
          step_dots<Q, T>(unit + u * C.unit_bytes, act, 32 * u, m, l, h);
          for (int t = 0; t < T; ++t) {
            lo[t] = dot_s16(lo[t], l[t], _mm256_and_si256(sl[u], lo16));
            hi[t] = dot_s16(hi[t], h[t], _mm256_and_si256(sh[u], lo16));
          }
        }
        add_lanes<T>(L, m, lo, hi, dd);
      }
    }
  }
}

template <class Q, int T, bool Tiled>
inline void group_tokens(const uint8_t* group, int64_t nb, const Acts& a, int64_t t0, int n_valid, float* y,
                         int64_t ldy, int n_rows, bool stream = T == 1) {
  AccFor<Q, T> L;
  group_dot<Q, T>(group, nb, Toks<T, Tiled>(a, t0), L, stream);
  if (n_rows == R) {
    for (int t = 0; t < T && t < n_valid; ++t) _mm256_storeu_ps(y + (t0 + t) * ldy, L.result(t));
  } else {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(n_rows), lanes);
    for (int t = 0; t < T && t < n_valid; ++t) _mm256_maskstore_ps(y + (t0 + t) * ldy, mask, L.result(t));
  }
}

// Up to this many tokens a matmul reads its weights from memory once for all of them (batched
// decode), so the kernel prefetches them as the one-token decode does.
constexpr int64_t kStreamTokens = 8;

// SumOrder::kFastest Q8_0 with VNNI on a batch: a register tile of G row groups x T tokens, so
// each weight vector loaded serves T tokens and each activation broadcast G groups. Per block:
// 8 G weight loads and 8 T broadcasts for 8 G T vpdpbusd (one group of 4 tokens: 40 loads for 32,
// so Zen 4's two 256-bit loads a cycle bound it rather than its two vpdpbusd). The G T integer sums
// and a weight and an activation vector take 11 of the 16 ymm registers AVX-VNNI has; the f32
// accumulators, touched once per block, live in L1. The same products and order as block_sums:
// the same bits. Zen 4, AVX2 forced (EVEX build), bench_matmul BM_MatmulM1024 Q8_0 fc1/fc2:
// 531-597 GFLOP/s, against 387-419 with one group of 4 tokens.
constexpr int kQ8Groups = 2, kQ8Tokens = 4;
template <class Q>
void q8_groups_tokens(const uint8_t* group, size_t stride, int64_t nb, const Acts& a, int64_t t0, float* y,
                      int64_t ldy) {
  constexpr int G = kQ8Groups, T = kQ8Tokens;
  static_assert(kVnni && Q::kBits == 8 && !Q::kLanes && Q::kOffset != 0);
  Toks<T, true> act(a, t0);
  alignas(32) float acc[G][T][R] = {};
  for (int64_t b = 0; b < nb; ++b, group += Q::C.bytes, act.next(Q::kBlock, 1)) {
    __m256i isum[G][T];
    for (int t = 0; t < T; ++t) {
      const __m256i off = _mm256_set1_epi32(*act.auxp(t, 0));  // the code offset, through the block sum
      for (int g = 0; g < G; ++g) isum[g][t] = off;
    }
    const uint8_t* unit = group + Q::C.unit0;
    for (int j = 0; j < 8; ++j) {  // codes of elements 4j (j < 4) or 16 + 4(j - 4) of every row
      const int k = j < 4 ? 4 * j : 16 + 4 * (j - 4);
      __m256i w[G];
      for (int g = 0; g < G; ++g) w[g] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(unit + g * stride + 32 * j));
      for (int t = 0; t < T; ++t) {
        const __m256i x = bcast4(act.qk(t, k));
        for (int g = 0; g < G; ++g) isum[g][t] = dot_u8s8(isum[g][t], w[g], x);
      }
    }
    for (int g = 0; g < G; ++g) {
      const __m256 d = f16x8(group + g * stride + Q::C.d);
      for (int t = 0; t < T; ++t) {
        const __m256 dd = _mm256_mul_ps(d, _mm256_set1_ps(act.dv(t)));
        _mm256_store_ps(acc[g][t], _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[g][t]), dd, _mm256_load_ps(acc[g][t])));
      }
    }
  }
  for (int g = 0; g < G; ++g)
    for (int t = 0; t < T; ++t) _mm256_storeu_ps(y + (t0 + t) * ldy + g * R, _mm256_load_ps(acc[g][t]));
}

// ggml's order: one token slot per pass (its eight f32 lanes fill half the 16 ymm registers).
// kFastest: one accumulator per slot, 4 tokens (legacy) or 2 (K-quants) per pass; Q8_0 with VNNI
// the G x T tile above where whole groups allow.
template <class Q>
void tile(const PackedData& w, const Acts& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1, float* y, int64_t ldy) {
  const int64_t nb = w.cols / Q::kBlock;
  const size_t group_bytes = size_t(nb) * Q::C.bytes;
  for (int64_t g0 = r0; g0 < r1; g0 += R) {
    const uint8_t* group = w.data + size_t(g0 / R) * group_bytes;
    const int n = int(r1 - g0 < R ? r1 - g0 : R);
    float* yg = y + g0;
    if (a.tq == nullptr) {
      for (int64_t t = t0; t < t1; ++t) group_tokens<Q, 1, false>(group, nb, a, t, 1, yg, ldy, n);
      continue;
    }
    const bool stream = a.n_tokens <= kStreamTokens;
    int64_t t = t0;
    if constexpr (kVnni && Q::kBits == 8 && !Q::kLanes) {
      if (!stream && g0 + kQ8Groups * R <= r1) {  // full groups: the G x T register tile
        for (; t + kQ8Tokens <= t1; t += kQ8Tokens) q8_groups_tokens<Q>(group, group_bytes, nb, a, t, yg, ldy);
        for (int g = 0; g < kQ8Groups; ++g)
          for (int64_t u = t; u < t1; ++u)
            group_tokens<Q, 1, true>(group + g * group_bytes, nb, a, u, 1, yg + g * R, ldy, R, stream);
        g0 += (kQ8Groups - 1) * R;
        continue;
      }
    }
    if constexpr (!Q::kLanes) {
      constexpr int TB = Q::kScales == ScaleKind::kBlock ? 4 : 2;
      for (; t + TB <= t1; t += TB) group_tokens<Q, TB, true>(group, nb, a, t, TB, yg, ldy, n, stream);
      if constexpr (TB > 2) {
        if (t + 2 <= t1) group_tokens<Q, 2, true>(group, nb, a, t, 2, yg, ldy, n, stream), t += 2;
      }
    }
    for (; t < t1; ++t) group_tokens<Q, 1, true>(group, nb, a, t, 1, yg, ldy, n, stream);
  }
}

template <GgmlType Ty>
size_t packed_bytes(int64_t rows, int64_t cols) {
  return packed_quant_bytes(Ty, rows, cols, R);
}
template <GgmlType Ty>
void pack(const WeightView& w, uint8_t* dst) {
  pack_quant(w, R, BitPlanes::kDword, dst);
}

template <GgmlType Ty, class Q>
constexpr Kernel make() {
  constexpr AuxKind aux = Q::kScales == ScaleKind::kK32Min ? AuxKind::kPairs16
                          : Q::kScales == ScaleKind::kK16  ? AuxKind::kHalfSum
                          : Q::kOffset == 0                ? AuxKind::kNone
                          : Q::kLanes                      ? AuxKind::kQuadSum
                                                           : AuxKind::kBlockSum;
  return Kernel{.isa = Isa::kAvx2,
                .row_block = R,
                .packed_bytes = packed_bytes<Ty>,
                .pack = pack<Ty>,
                .aux = aux,
                .aux_offset = Q::kOffset,
                .tiles = true,
                .tile = tile<Q>};
}

constexpr Kernel kQ4_0 = make<GgmlType::Q4_0, Q4_0>();
constexpr Kernel kQ4_1 = make<GgmlType::Q4_1, Q4_1>();
constexpr Kernel kQ5_0 = make<GgmlType::Q5_0, Q5_0>();
constexpr Kernel kQ5_1 = make<GgmlType::Q5_1, Q5_1>();
constexpr Kernel kQ8_0 = make<GgmlType::Q8_0, Q8_0>();
constexpr Kernel kQ4_K = make<GgmlType::Q4_K, Q4_K>();
constexpr Kernel kQ5_K = make<GgmlType::Q5_K, Q5_K>();
constexpr Kernel kQ6_K = make<GgmlType::Q6_K, Q6_K>();
constexpr Kernel kQ4_0Fast = make<GgmlType::Q4_0, Fast<Q4_0>>();
constexpr Kernel kQ4_1Fast = make<GgmlType::Q4_1, Fast<Q4_1>>();
constexpr Kernel kQ5_0Fast = make<GgmlType::Q5_0, Fast<Q5_0>>();
constexpr Kernel kQ5_1Fast = make<GgmlType::Q5_1, Fast<Q5_1>>();
constexpr Kernel kQ8_0Fast = make<GgmlType::Q8_0, Fast<Q8_0>>();
constexpr Kernel kQ4_KFast = make<GgmlType::Q4_K, Fast<Q4_K>>();
constexpr Kernel kQ5_KFast = make<GgmlType::Q5_K, Fast<Q5_K>>();
constexpr Kernel kQ6_KFast = make<GgmlType::Q6_K, Fast<Q6_K>>();

const Kernel* lookup(GgmlType t, SumOrder order) {
  const bool fast = order == SumOrder::kFastest;
  switch (t) {
    case GgmlType::Q4_0: return fast ? &kQ4_0Fast : &kQ4_0;
    case GgmlType::Q4_1: return fast ? &kQ4_1Fast : &kQ4_1;
    case GgmlType::Q5_0: return fast ? &kQ5_0Fast : &kQ5_0;
    case GgmlType::Q5_1: return fast ? &kQ5_1Fast : &kQ5_1;
    case GgmlType::Q8_0: return fast ? &kQ8_0Fast : &kQ8_0;
    case GgmlType::Q4_K: return fast ? &kQ4_KFast : &kQ4_K;
    case GgmlType::Q5_K: return fast ? &kQ5_KFast : &kQ5_K;
    case GgmlType::Q6_K: return fast ? &kQ6_KFast : &kQ6_K;
    default: return nullptr;
  }
}

}  // namespace
}  // namespace smolvlm::kernels::mm::avx2
