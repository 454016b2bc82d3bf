// AVX-512 VNNI kernels for the integer-quantized weight types, on the 16-row interleaved layout of
// matmul_pack.h. One zmm lane per weight row: each step loads 4 consecutive codes of 16 rows and
// vpdpbusd's them (unsigned codes x signed int8 activations) against 4 broadcast activation bytes
// of each of T tokens, so every weight byte loaded serves T tokens. The integer sums stay apart
// per ggml lane (elements 4j..4j+3 of every 32, j = 0..7) and are scaled and summed in f32 in
// ggml's order (matmul_scalar.cpp), so results are bit-identical to the scalar reference and to
// ggml. Code offsets (Q4_0 8, Q5_0 16, Q8_0 128, Q6_K 32) are removed exactly through the
// activation's quad sums (Q6_K: its bsums, as ggml does).
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "kernels/avx512/matmul_avx512.h"
#include "kernels/matmul_pack.h"

namespace smolvlm::kernels::mm::avx512 {
namespace {

constexpr int R = 16;

// Lanes: ggml's order (SumOrder::kGgml); else one integer sum per block and slot, scaled with one
// fma (SumOrder::kFastest: the same products, summed in another f32 order, ~2x the batch speed).
template <int Bits, int Offset, bool HasMin, ScaleKind SK, bool Lanes = true>
struct QType {
  static constexpr int kBits = Bits, kOffset = Offset;
  static constexpr bool kHasMin = HasMin, kLanes = Lanes;
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
using Fast = QType<Q::kBits, Q::kOffset, Q::kHasMin, Q::kScales, false>;

inline __m512i bcast4(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}
inline __mmask64 mask_at(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __mmask64(v);
}
inline __m512 f16x16(const uint8_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }

// Where T token slots' activations live for the current block: one token's rows (T == 1,
// decode) or 4-token tiles (see Acts), so that every slot is reached from one base pointer per
// tile with constant offsets.
template <int T, bool Tiled>
struct Toks {
  static constexpr int kP = Tiled ? (T + 3) / 4 : 1;
  static constexpr int kStep = Tiled ? 4 : 1;  // tiles interleave 4 tokens
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
  // 4 codes of slot t at element k (a multiple of 4) of the current block.
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

// Integer dot products of step m (0..3) of the 32-element unit at element u32 of the block, for T
// slots: lo[t] += codes of elements 4m..4m+3 x activations (ggml's lane m), hi[t] += elements
// 16+4m..16+4m+3 (lane 4+m). From zero, such a sum fits int16 (codes < 64, |q8| <= 127: at most
// 32004), so the K-quants apply their sub-block scales with vpdpwssd.
template <class Q, int T, int G = 1, class A>
inline void step_dots(const uint8_t* unit, size_t stride, const A& act, int u32, int m, __m512i* lo, __m512i* hi) {
  __m512i wl[G], wh[G];
  for (int g = 0; g < G; ++g) {
    const uint8_t* ug = unit + g * stride;
    const uint8_t* codes = ug + Q::C.n_planes * 4 * R;
    if constexpr (Q::kBits == 8) {
      wl[g] = _mm512_loadu_si512(codes + 64 * m);
      wh[g] = _mm512_loadu_si512(codes + 64 * (4 + m));
    } else {
      const __m512i nib = _mm512_set1_epi8(0x0F);
      const __m512i w = _mm512_loadu_si512(codes + 64 * m);
      wl[g] = _mm512_and_si512(w, nib);
      wh[g] = _mm512_and_si512(_mm512_srli_epi16(w, 4), nib);
      if constexpr (Q::C.n_planes >= 1) {
        const __m512i b4 = _mm512_set1_epi8(0x10);
        wl[g] = _mm512_mask_add_epi8(wl[g], mask_at(ug + 8 * (2 * m)), wl[g], b4);
        wh[g] = _mm512_mask_add_epi8(wh[g], mask_at(ug + 8 * (2 * m + 1)), wh[g], b4);
      }
      if constexpr (Q::C.n_planes >= 2) {
        const __m512i b5 = _mm512_set1_epi8(0x20);
        wl[g] = _mm512_mask_add_epi8(wl[g], mask_at(ug + 64 + 8 * (2 * m)), wl[g], b5);
        wh[g] = _mm512_mask_add_epi8(wh[g], mask_at(ug + 64 + 8 * (2 * m + 1)), wh[g], b5);
      }
    }
  }
  for (int t = 0; t < T; ++t) {
    const __m512i xl = bcast4(act.qk(t, u32 + 4 * m)), xh = bcast4(act.qk(t, u32 + 16 + 4 * m));
    for (int g = 0; g < G; ++g) {
      lo[g * T + t] = _mm512_dpbusd_epi32(lo[g * T + t], wl[g], xl);
      hi[g * T + t] = _mm512_dpbusd_epi32(hi[g * T + t], wh[g], xh);
    }
  }
}

// Byte k (0..3) of every dword lane, zero- or sign-extended to 32 bits.
inline __m512i byte_u32(__m512i v, int k) {
  return _mm512_and_si512(_mm512_srlv_epi32(v, _mm512_set1_epi32(8 * k)), _mm512_set1_epi32(0xFF));
}
inline __m512i byte_s32(__m512i v, int k) {
  return _mm512_srai_epi32(_mm512_sllv_epi32(v, _mm512_set1_epi32(24 - 8 * k)), 24);
}

// Q4_K/Q5_K: the eight 6-bit (scale, min) pairs of every row from ggml's 12 bytes
// (get_scale_min_k4), one dword lane per row.
inline void k_scales_mins(const uint8_t* sp, __m512i* sc, __m512i* mn) {
  const __m512i D0 = _mm512_loadu_si512(sp), D1 = _mm512_loadu_si512(sp + 64), D2 = _mm512_loadu_si512(sp + 128);
  const __m512i m6 = _mm512_set1_epi8(0x3F), m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
  const __m512i sc03 = _mm512_and_si512(D0, m6), mn03 = _mm512_and_si512(D1, m6);
  const __m512i sc47 = _mm512_or_si512(_mm512_and_si512(D2, m4), _mm512_and_si512(_mm512_srli_epi32(D0, 2), m30));
  const __m512i mn47 =
      _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(D2, 4), m4), _mm512_and_si512(_mm512_srli_epi32(D1, 2), m30));
  for (int u = 0; u < 8; ++u) {
    sc[u] = byte_u32(u < 4 ? sc03 : sc47, u % 4);
    mn[u] = byte_u32(u < 4 ? mn03 : mn47, u % 4);
  }
}
// Q6_K: the sixteen int8 scales of every row, sign-extended: sl[u] for elements 32u..32u+15, sh[u]
// for the next 16.
inline void q6_scales(const uint8_t* sp, __m512i* sl, __m512i* sh) {
  for (int u = 0; u < 8; ++u) {
    const __m512i P = _mm512_loadu_si512(sp + 64 * (u / 2));
    sl[u] = byte_s32(P, (2 * u) % 4);
    sh[u] = byte_s32(P, (2 * u + 1) % 4);
  }
}

// The f32 state of T slots in ggml's order (one zmm lane per row): acc[8 t + j] is ggml's lane j
// (elements 4j..4j+3 of every 32, see matmul_scalar.cpp), mins[4 t + k] Q4_K's four min lanes,
// sum[t] the scalar sum ggml keeps beside them (Q4_1/Q5_1 m * s, Q5_K dmin * mins).
template <int T, bool Mins = false, bool Sum = false>
struct LaneAcc {
  __m512 acc[8 * T], mins[Mins ? 4 * T : 1], sum[Sum ? T : 1];
  LaneAcc() {
    for (int i = 0; i < 8 * T; ++i) acc[i] = _mm512_setzero_ps();
    if constexpr (Mins)
      for (int i = 0; i < 4 * T; ++i) mins[i] = _mm512_setzero_ps();
    if constexpr (Sum)
      for (int i = 0; i < T; ++i) sum[i] = _mm512_setzero_ps();
  }
  // ggml: hsum_float_8(acc) (+ ((m0 + m2) + (m1 + m3))) (+ sum), per row.
  __m512 result(int t) const {
    const __m512* a = acc + 8 * t;
    const __m512 r0 = _mm512_add_ps(a[4], a[0]), r1 = _mm512_add_ps(a[5], a[1]);
    const __m512 r2 = _mm512_add_ps(a[6], a[2]), r3 = _mm512_add_ps(a[7], a[3]);
    __m512 h = _mm512_add_ps(_mm512_add_ps(r0, r2), _mm512_add_ps(r1, r3));
    if constexpr (Mins) {
      const __m512* m = mins + 4 * t;
      h = _mm512_add_ps(h, _mm512_add_ps(_mm512_add_ps(m[0], m[2]), _mm512_add_ps(m[1], m[3])));
    }
    if constexpr (Sum) h = _mm512_add_ps(h, sum[t]);
    return h;
  }
};
// The lanes a type's dot product keeps: Q4_K four min lanes; Q5_K and Q4_1/Q5_1 a scalar sum.
template <class Q, int T>
using LaneAccFor = LaneAcc<T, Q::kScales == ScaleKind::kK32Min && Q::kBits == 4,
                           Q::kHasMin && !(Q::kScales == ScaleKind::kK32Min && Q::kBits == 4)>;

// SumOrder::kFastest's state: one f32 accumulator per slot (one zmm lane per row).
template <int T>
struct BlockAcc {
  __m512 acc[T];
  BlockAcc() {
    for (auto& a : acc) a = _mm512_setzero_ps();
  }
  __m512 result(int t) const { return acc[t]; }
};
template <class Q, int T>
using AccFor = std::conditional_t<Q::kLanes, LaneAccFor<Q, T>, BlockAcc<T>>;

// Lanes m and 4+m of one block: acc += lo * dd, acc += hi * dd (ints exact, one fma each).
template <int T, class L_>
inline void add_lanes(L_& L, int m, const __m512i* lo, const __m512i* hi, const __m512* dd) {
  for (int t = 0; t < T; ++t) {
    L.acc[8 * t + m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(lo[t]), dd[t], L.acc[8 * t + m]);
    L.acc[8 * t + 4 + m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(hi[t]), dd[t], L.acc[8 * t + 4 + m]);
  }
}

// SumOrder::kFastest, one block: each slot's whole integer dot product (codes x activations, the
// code offset removed through the activation block sum; K-quants with their sub-block scales),
// then one fma with the block scale (mins: one more).
template <class Q, int T, int G, class A, class L_>
inline void block_sums(const uint8_t* group, size_t stride, const uint8_t* unit, const A& act, L_& L, const __m512* dd) {
  const ChunkLayout& C = Q::C;
  if constexpr (Q::kScales == ScaleKind::kBlock) {
    __m512i isum[G * T];
    for (int t = 0; t < T; ++t) {
      const __m512i i0 = Q::kOffset ? _mm512_set1_epi32(*act.auxp(t, 0)) : _mm512_setzero_si512();
      for (int g = 0; g < G; ++g) isum[g * T + t] = i0;
    }
    for (int m = 0; m < 4; ++m) step_dots<Q, T, G>(unit, stride, act, 0, m, isum, isum);
    for (int i = 0; i < G * T; ++i) L.acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[i]), dd[i], L.acc[i]);
    if constexpr (Q::kHasMin) {
      for (int g = 0; g < G; ++g) {
        const __m512 mr = f16x16(group + g * stride + C.m);
        for (int t = 0; t < T; ++t) L.acc[g * T + t] = _mm512_fmadd_ps(mr, _mm512_set1_ps(act.sv(t)), L.acc[g * T + t]);
      }
    }
  } else if constexpr (Q::kScales == ScaleKind::kK32Min) {
    __m512i sc[8], mn[8];
    k_scales_mins(group + C.scales, sc, mn);
    __m512i S[T], M[T];
    for (int t = 0; t < T; ++t) S[t] = M[t] = _mm512_setzero_si512();
    for (int u = 0; u < 8; ++u) {
      __m512i isum[T];
      for (int t = 0; t < T; ++t) isum[t] = _mm512_setzero_si512();
      for (int m = 0; m < 4; ++m) step_dots<Q, T>(unit + u * C.unit_bytes, 0, act, 32 * u, m, isum, isum);
      for (int t = 0; t < T; ++t) {
        S[t] = _mm512_add_epi32(S[t], _mm512_mullo_epi32(isum[t], sc[u]));
        M[t] = _mm512_dpwssd_epi32(M[t], _mm512_or_si512(mn[u], _mm512_slli_epi32(mn[u], 16)), _mm512_set1_epi32(*act.auxp(t, u)));
      }
    }
    const __m512 dmin = f16x16(group + C.m);
    for (int t = 0; t < T; ++t) {
      L.acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(S[t]), dd[t], L.acc[t]);
      L.acc[t] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(M[t]), _mm512_mul_ps(dmin, _mm512_set1_ps(act.dv(t))), L.acc[t]);
    }
  } else {  // kK16
    const uint8_t* sp = group + C.scales;
    __m512i S[T];
    for (int t = 0; t < T; ++t) S[t] = _mm512_setzero_si512();
    __m512i sl[8], sh[8];
    q6_scales(sp, sl, sh);
    for (int u = 0; u < 8; ++u) {
      __m512i lo[T], hi[T];
      for (int t = 0; t < T; ++t) {
        lo[t] = _mm512_set1_epi32(*act.auxp(t, 2 * u));  // -32 * bsum: removes the code offset
        hi[t] = _mm512_set1_epi32(*act.auxp(t, 2 * u + 1));
      }
      for (int m = 0; m < 4; ++m) step_dots<Q, T>(unit + u * C.unit_bytes, 0, act, 32 * u, m, lo, hi);
      for (int t = 0; t < T; ++t)
        S[t] = _mm512_add_epi32(S[t], _mm512_add_epi32(_mm512_mullo_epi32(lo[t], sl[u]), _mm512_mullo_epi32(hi[t], sh[u])));
    }
    for (int t = 0; t < T; ++t) L.acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(S[t]), dd[t], L.acc[t]);
  }
}

// L += dot(rows of G groups (group + g * stride; G > 1 for Q8_0 only), slot t)
// for T slots, block by block in ggml's order; L's slots are g * T + t.
// No software prefetch, even where the weights stream from memory (decode): on Zen 4 the
// hardware's own prefetch alone reads them faster (bench_matmul BM_DecodeLayers, interleaved:
// 29.6-39.3 GiB/s without, 24.6-30.8 with lines 1, 2 or 4 KB ahead; the 256M's Q8_0 tg128
// 163-218 -> 218-263 t/s).
template <class Q, int T, int G, class A, class L_>
void group_dot(const uint8_t* group, size_t stride, int64_t nb, A act, L_& L) {
  static_assert(G == 1 || Q::kBits == 8 || !Q::kLanes);
  const ChunkLayout& C = Q::C;
  constexpr int kAuxPerBlock = Q::kScales == ScaleKind::kBlock ? (Q::kOffset ? (Q::kLanes ? 8 : 1) : 0)
                               : Q::kScales == ScaleKind::kK32Min ? 8
                                                                   : 16;
  for (int64_t b = 0; b < nb; ++b, group += C.bytes, act.next(Q::kBlock, kAuxPerBlock)) {
    const uint8_t* unit = group + C.unit0;
    __m512 dd[G * T];
    for (int g = 0; g < G; ++g) {
      const __m512 d = f16x16(group + g * stride + C.d);
      for (int t = 0; t < T; ++t) dd[g * T + t] = _mm512_mul_ps(d, _mm512_set1_ps(act.dv(t)));
    }
    __m512i lo[G * T], hi[G * T];
    if constexpr (!Q::kLanes) {
      block_sums<Q, T, G>(group, stride, unit, act, L, dd);
    } else if constexpr (Q::kScales == ScaleKind::kBlock) {
      for (int m = 0; m < 4; ++m) {
        for (int t = 0; t < T; ++t) {  // the code offset, removed per quad of elements
          const __m512i l0 = Q::kOffset ? _mm512_set1_epi32(*act.auxp(t, m)) : _mm512_setzero_si512();
          const __m512i h0 = Q::kOffset ? _mm512_set1_epi32(*act.auxp(t, 4 + m)) : _mm512_setzero_si512();
          for (int g = 0; g < G; ++g) lo[g * T + t] = l0, hi[g * T + t] = h0;
        }
        step_dots<Q, T, G>(unit, stride, act, 0, m, lo, hi);
        add_lanes<G * T>(L, m, lo, hi, dd);
      }
      if constexpr (Q::kHasMin) {
        for (int g = 0; g < G; ++g) {
          const __m512 mr = f16x16(group + g * stride + C.m);
          for (int t = 0; t < T; ++t) L.sum[g * T + t] = _mm512_fmadd_ps(mr, _mm512_set1_ps(act.sv(t)), L.sum[g * T + t]);
        }
      }
    } else if constexpr (Q::kScales == ScaleKind::kK32Min) {
      __m512i sc[8], mn[8];
      k_scales_mins(group + C.scales, sc, mn);
      // mins: ggml's int products min_u * (bsums of unit u), a pair of units per lane k
      const __m512 dmin = f16x16(group + C.m);
      for (int t = 0; t < T; ++t) {
        const __m512 dm = _mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(dmin, _mm512_set1_ps(act.dv(t))));
        __m512i mk[4];
        for (int k = 0; k < 4; ++k) {
          mk[k] = _mm512_setzero_si512();
          for (int u = 2 * k; u < 2 * k + 2; ++u) {
            mk[k] = _mm512_dpwssd_epi32(mk[k], _mm512_or_si512(mn[u], _mm512_slli_epi32(mn[u], 16)),
                                        _mm512_set1_epi32(*act.auxp(t, u)));
          }
        }
        if constexpr (Q::kBits == 4) {
          for (int k = 0; k < 4; ++k) L.mins[4 * t + k] = _mm512_fmadd_ps(dm, _mm512_cvtepi32_ps(mk[k]), L.mins[4 * t + k]);
        } else {
          const __m512i all = _mm512_add_epi32(_mm512_add_epi32(mk[0], mk[1]), _mm512_add_epi32(mk[2], mk[3]));
          L.sum[t] = _mm512_fmadd_ps(dm, _mm512_cvtepi32_ps(all), L.sum[t]);
        }
      }
      for (int m = 0; m < 4; ++m) {
        for (int t = 0; t < T; ++t) lo[t] = hi[t] = _mm512_setzero_si512();
        for (int u = 0; u < 8; ++u) {
          __m512i l[T], h[T];
          for (int t = 0; t < T; ++t) l[t] = h[t] = _mm512_setzero_si512();
          step_dots<Q, T>(unit + u * C.unit_bytes, 0, act, 32 * u, m, l, h);
          for (int t = 0; t < T; ++t) {
            lo[t] = _mm512_dpwssd_epi32(lo[t], l[t], sc[u]);  // sc: (scale, 0) as int16 pairs
            hi[t] = _mm512_dpwssd_epi32(hi[t], h[t], sc[u]);
          }
        }
        add_lanes<T>(L, m, lo, hi, dd);
      }
    } else {  // kK16 (Q6_K): sixteen int8 scales per row, one per 16 elements.
      const uint8_t* sp = group + C.scales;
      __m512i sl[8], sh[8];
      q6_scales(sp, sl, sh);
      const __m512i lo16 = _mm512_set1_epi32(0xFFFF);  // a scale as the int16 pair (scale, 0)
      for (int m = 0; m < 4; ++m) {
        // ggml takes the code offset out of lane j as 32 * (bsum[2j] sc[2j] + bsum[2j+1] sc[2j+1]);
        // the aux holds -32 * bsum per 16.
        for (int t = 0; t < T; ++t) {
          lo[t] = _mm512_add_epi32(_mm512_mullo_epi32(sl[m], _mm512_set1_epi32(*act.auxp(t, 2 * m))),
                                   _mm512_mullo_epi32(sh[m], _mm512_set1_epi32(*act.auxp(t, 2 * m + 1))));
          hi[t] = _mm512_add_epi32(_mm512_mullo_epi32(sl[4 + m], _mm512_set1_epi32(*act.auxp(t, 8 + 2 * m))),
                                   _mm512_mullo_epi32(sh[4 + m], _mm512_set1_epi32(*act.auxp(t, 8 + 2 * m + 1))));
        }
        for (int u = 0; u < 8; ++u) {
          __m512i l[T], h[T];
          for (int t = 0; t < T; ++t) l[t] = h[t] = _mm512_setzero_si512();
          step_dots<Q, T>(unit + u * C.unit_bytes, 0, act, 32 * u, m, l, h);
          for (int t = 0; t < T; ++t) {
            lo[t] = _mm512_dpwssd_epi32(lo[t], l[t], _mm512_and_si512(sl[u], lo16));
            hi[t] = _mm512_dpwssd_epi32(hi[t], h[t], _mm512_and_si512(sh[u], lo16));
          }
        }
        add_lanes<T>(L, m, lo, hi, dd);
      }
    }
  }
}

// Computes T slots from token t0 for G groups (group + g * stride) and stores the first n_valid
// (rows: the last group's valid rows).
template <class Q, int T, bool Tiled, int G = 1>
inline void group_tokens(const uint8_t* group, size_t stride, int64_t nb, const Acts& a, int64_t t0, int n_valid,
                         float* y, int64_t ldy, __mmask16 rows) {
  AccFor<Q, G * T> L;
  group_dot<Q, T, G>(group, stride, nb, Toks<T, Tiled>(a, t0), L);
  for (int g = 0; g < G; ++g)
    for (int t = 0; t < T && t < n_valid; ++t)
      _mm512_mask_storeu_ps(y + (t0 + t) * ldy + g * R, g + 1 < G ? __mmask16(0xFFFF) : rows, L.result(g * T + t));
}

// Up to this many tokens a matmul reads its weights from memory once for all of them (batched
// decode).
constexpr int64_t kStreamTokens = 8;

// Eight f32 lanes per (group, token) slot in ggml's order, so two slots fill the 32 zmm registers:
// a prefill batch takes Q8_0 two row groups at a time (each activation broadcast and offset serves
// both), the 4/5-bit types and a few streamed tokens (batched decode) two tokens per group (each
// weight vector, loaded or decoded, serves both); decode one group per token.
template <class Q>
void tile(const PackedData& w, const Acts& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1, float* y, int64_t ldy) {
  const int64_t nb = w.cols / Q::kBlock;
  const size_t group_bytes = size_t(nb) * Q::C.bytes;
  for (int64_t g0 = r0; g0 < r1; g0 += R) {
    const uint8_t* group = w.data + size_t(g0 / R) * group_bytes;
    const int64_t n = r1 - g0 < R ? r1 - g0 : R;
    const __mmask16 rows = __mmask16((1u << n) - 1);
    float* yg = y + g0;
    if (a.tq == nullptr) {  // decode: one token at a time from its row
      for (int64_t t = t0; t < t1; ++t) group_tokens<Q, 1, false>(group, 0, nb, a, t, 1, yg, ldy, rows);
      continue;
    }
    // A few tokens (batched decode steps) stream the weights from memory as decode does.
    const bool stream = a.n_tokens <= kStreamTokens;  // (exact Q8_0: one group at a time)
    if constexpr (!Q::kLanes) {  // one accumulator per slot: 8 tokens (legacy) or 4 (K-quants)
      constexpr int TB = Q::kScales == ScaleKind::kBlock ? 8 : 4;
      int64_t t = t0;
      if (Q::kScales == ScaleKind::kBlock && g0 + 2 * R <= r1) {  // two full groups share each broadcast
        for (; t + 4 <= t1; t += 4) group_tokens<Q, 4, true, 2>(group, group_bytes, nb, a, t, 4, yg, ldy, rows);
        if (t + 2 <= t1) group_tokens<Q, 2, true, 2>(group, group_bytes, nb, a, t, 2, yg, ldy, rows), t += 2;
        if (t < t1) group_tokens<Q, 1, true, 2>(group, group_bytes, nb, a, t, 1, yg, ldy, rows);
        g0 += R;
        continue;
      }
      for (; t + TB <= t1; t += TB) group_tokens<Q, TB, true>(group, 0, nb, a, t, TB, yg, ldy, rows);
      for (; t + 4 <= t1; t += 4) group_tokens<Q, 4, true>(group, 0, nb, a, t, 4, yg, ldy, rows);
      if (t + 2 <= t1) group_tokens<Q, 2, true>(group, 0, nb, a, t, 2, yg, ldy, rows), t += 2;
      if (t < t1) group_tokens<Q, 1, true>(group, 0, nb, a, t, 1, yg, ldy, rows);
      continue;
    }
    if constexpr (Q::kBits == 8) {
      if (!stream && g0 + 2 * R <= r1) {  // two full groups
        for (int64_t t = t0; t < t1; ++t) group_tokens<Q, 1, true, 2>(group, group_bytes, nb, a, t, 1, yg, ldy, rows);
        g0 += R;
        continue;
      }
    }
    int64_t t = t0;
    for (; t + 2 <= t1; t += 2) group_tokens<Q, 2, true>(group, 0, nb, a, t, 2, yg, ldy, rows);
    if (t < t1) group_tokens<Q, 1, true>(group, 0, nb, a, t, 1, yg, ldy, rows);
  }
}

template <GgmlType Ty>
size_t packed_bytes(int64_t rows, int64_t cols) {
  return packed_quant_bytes(Ty, rows, cols, R);
}
template <GgmlType Ty>
void pack(const WeightView& w, uint8_t* dst) {
  pack_quant(w, R, BitPlanes::kMask64, dst);
}

template <GgmlType Ty, class Q>
constexpr Kernel make() {
  constexpr AuxKind aux = Q::kScales == ScaleKind::kK32Min ? AuxKind::kPairs16
                          : Q::kScales == ScaleKind::kK16  ? AuxKind::kHalfSum
                          : Q::kOffset == 0                ? AuxKind::kNone
                          : Q::kLanes                      ? AuxKind::kQuadSum
                                                           : AuxKind::kBlockSum;
  return Kernel{.isa = Isa::kAvx512,
                .row_block = R,
                .packed_bytes = packed_bytes<Ty>,
                .pack = pack<Ty>,
                .aux = aux,
                .aux_offset = Q::kOffset,
                .tiles = true,
                .token_tile = 4,
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

}  // namespace

const Kernel* quant_kernel(GgmlType t, SumOrder order) {
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

}  // namespace smolvlm::kernels::mm::avx512
