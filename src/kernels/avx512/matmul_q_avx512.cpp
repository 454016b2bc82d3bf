// AVX-512 VNNI kernels for the integer-quantized weight types, on the 16-row interleaved layout of
// matmul_pack.h. One zmm lane per weight row: each step loads 4 consecutive codes of 16 rows and
// vpdpbusd's them (unsigned codes x signed int8 activations) against 4 broadcast activation bytes
// of each of T tokens, so every weight byte loaded serves T tokens. Code offsets (Q4_0 8, Q5_0 16,
// Q8_0 128, Q6_K 32) are removed exactly through the activation block sums; block sums are scaled
// and summed in f32 as ggml does.
#include <immintrin.h>

#include <cstring>

#include "kernels/avx512/matmul_avx512.h"
#include "kernels/matmul_pack.h"

namespace smolvlm::kernels::mm::avx512 {
namespace {

constexpr int R = 16;

template <int Bits, int Offset, bool HasMin, ScaleKind SK>
struct QType {
  static constexpr int kBits = Bits, kOffset = Offset;
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

// Integer dot products of the 32-element unit at element u32 of the block, for G row groups
// (unit + g * stride) and T slots: lo[g * T + t] += codes of elements 0..15 x activations,
// hi[g * T + t] += elements 16..31 (lo and hi may alias). Each activation broadcast serves G groups.
template <class Q, int T, int G = 1, class A>
inline void unit_dots(const uint8_t* unit, size_t stride, const A& act, int u32, __m512i* lo, __m512i* hi) {
  const uint8_t* codes = unit + Q::C.n_planes * 4 * R;
  if constexpr (Q::kBits == 8) {
    for (int j = 0; j < 8; ++j) {
      __m512i w[G];
      for (int g = 0; g < G; ++g) w[g] = _mm512_loadu_si512(codes + g * stride + 64 * j);
      for (int t = 0; t < T; ++t) {
        const __m512i x = bcast4(act.qk(t, u32 + 4 * j));
        for (int g = 0; g < G; ++g) {
          __m512i& acc = j < 4 ? lo[g * T + t] : hi[g * T + t];
          acc = _mm512_dpbusd_epi32(acc, w[g], x);
        }
      }
    }
  } else {
    const __m512i nib = _mm512_set1_epi8(0x0F);
    for (int m = 0; m < 4; ++m) {
      __m512i wl[G], wh[G];
      for (int g = 0; g < G; ++g) {
        const uint8_t* ug = unit + g * stride;
        const __m512i w = _mm512_loadu_si512(codes + g * stride + 64 * m);
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
      for (int t = 0; t < T; ++t) {
        const __m512i xl = bcast4(act.qk(t, u32 + 4 * m)), xh = bcast4(act.qk(t, u32 + 16 + 4 * m));
        for (int g = 0; g < G; ++g) {
          lo[g * T + t] = _mm512_dpbusd_epi32(lo[g * T + t], wl[g], xl);
          hi[g * T + t] = _mm512_dpbusd_epi32(hi[g * T + t], wh[g], xh);
        }
      }
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

// acc[g * T + t] (f32, one lane per row) += dot(rows of group g, slot t) for T slots and G
// groups (group + g * stride; G > 1 for the legacy 32-blocks only).
template <class Q, int T, int G = 1, class A>
void group_dot(const uint8_t* group, size_t stride, int64_t nb, A act, __m512* acc, bool stream = T == 1) {
  static_assert(G == 1 || Q::kScales == ScaleKind::kBlock);
  const ChunkLayout& C = Q::C;
  constexpr int kAuxPerBlock = Q::kScales == ScaleKind::kBlock ? 1 : Q::kScales == ScaleKind::kK32Min ? 8 : 16;
  for (int64_t b = 0; b < nb; ++b, group += C.bytes, act.next(Q::kBlock, kAuxPerBlock)) {
    // Decode (one token, or the batched steps of a few sequences) streams the weights from
    // memory: ask for the bytes >= 2 KB ahead (the groups of a task are contiguous), so loads
    // stay in flight while this chunk computes. G groups: each stream.
    if (stream) {
      constexpr int kAhead = Q::C.bytes * 2 > 2048 ? Q::C.bytes * 2 : 2048;
      for (int g = 0; g < G; ++g)
        for (int off = 0; off < C.bytes; off += 64)
          _mm_prefetch(reinterpret_cast<const char*>(group + g * stride + kAhead + off), _MM_HINT_T0);
    }
    const uint8_t* unit = group + C.unit0;
    if constexpr (Q::kScales == ScaleKind::kBlock) {
      __m512i isum[G * T];
      for (int t = 0; t < T; ++t) {
        const __m512i init = Q::kOffset ? _mm512_set1_epi32(*act.auxp(t, 0)) : _mm512_setzero_si512();
        for (int g = 0; g < G; ++g) isum[g * T + t] = init;
      }
      unit_dots<Q, T, G>(unit, stride, act, 0, isum, isum);
      for (int g = 0; g < G; ++g) {
        const __m512 d = f16x16(group + g * stride + C.d);
        for (int t = 0; t < T; ++t)
          acc[g * T + t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[g * T + t]), _mm512_mul_ps(d, _mm512_set1_ps(act.dv(t))),
                                           acc[g * T + t]);
        if constexpr (Q::kHasMin) {
          const __m512 m = f16x16(group + g * stride + C.m);
          for (int t = 0; t < T; ++t) acc[g * T + t] = _mm512_fmadd_ps(m, _mm512_set1_ps(act.sv(t)), acc[g * T + t]);
        }
      }
    } else if constexpr (Q::kScales == ScaleKind::kK32Min) {
      const __m512 d = f16x16(group + C.d);
      // Eight 6-bit (scale, min) pairs per row from ggml's 12 bytes (get_scale_min_k4).
      const uint8_t* sp = group + C.scales;
      const __m512i D0 = _mm512_loadu_si512(sp), D1 = _mm512_loadu_si512(sp + 64), D2 = _mm512_loadu_si512(sp + 128);
      const __m512i m6 = _mm512_set1_epi8(0x3F), m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
      const __m512i sc03 = _mm512_and_si512(D0, m6), mn03 = _mm512_and_si512(D1, m6);
      const __m512i sc47 = _mm512_or_si512(_mm512_and_si512(D2, m4), _mm512_and_si512(_mm512_srli_epi32(D0, 2), m30));
      const __m512i mn47 =
          _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(D2, 4), m4), _mm512_and_si512(_mm512_srli_epi32(D1, 2), m30));
      __m512i S[T], M[T];
      for (int t = 0; t < T; ++t) S[t] = M[t] = _mm512_setzero_si512();
      for (int u = 0; u < 8; ++u) {
        const __m512i sc = byte_u32(u < 4 ? sc03 : sc47, u % 4);
        const __m512i mn = byte_u32(u < 4 ? mn03 : mn47, u % 4);
        const __m512i mnpair = _mm512_or_si512(mn, _mm512_slli_epi32(mn, 16));
        __m512i isum[T];
        for (int t = 0; t < T; ++t) isum[t] = _mm512_setzero_si512();
        unit_dots<Q, T>(unit + u * C.unit_bytes, 0, act, 32 * u, isum, isum);
        for (int t = 0; t < T; ++t) {
          S[t] = _mm512_add_epi32(S[t], _mm512_mullo_epi32(isum[t], sc));
          // min term: mn_u * (bsums[2u] + bsums[2u+1]) as one int16-pair dot.
          M[t] = _mm512_dpwssd_epi32(M[t], mnpair, _mm512_set1_epi32(*act.auxp(t, u)));
        }
      }
      const __m512 dmin = f16x16(group + C.m);
      for (int t = 0; t < T; ++t) {
        const __m512 dd = _mm512_set1_ps(act.dv(t));
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(S[t]), _mm512_mul_ps(d, dd), acc[t]);
        acc[t] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(M[t]), _mm512_mul_ps(dmin, dd), acc[t]);
      }
    } else {  // kK16 (Q6_K): sixteen int8 scales per row, one per 16 elements.
      const __m512 d = f16x16(group + C.d);
      const uint8_t* sp = group + C.scales;
      __m512i S[T];
      for (int t = 0; t < T; ++t) S[t] = _mm512_setzero_si512();
      for (int u = 0; u < 8; ++u) {
        const __m512i P = _mm512_loadu_si512(sp + 64 * (u / 2));
        const __m512i sl = byte_s32(P, (2 * u) % 4);
        const __m512i sh = byte_s32(P, (2 * u + 1) % 4);
        __m512i lo[T], hi[T];
        for (int t = 0; t < T; ++t) {
          lo[t] = _mm512_set1_epi32(*act.auxp(t, 2 * u));  // -32 * bsum: removes the code offset
          hi[t] = _mm512_set1_epi32(*act.auxp(t, 2 * u + 1));
        }
        unit_dots<Q, T>(unit + u * C.unit_bytes, 0, act, 32 * u, lo, hi);
        for (int t = 0; t < T; ++t)
          S[t] = _mm512_add_epi32(S[t], _mm512_add_epi32(_mm512_mullo_epi32(lo[t], sl), _mm512_mullo_epi32(hi[t], sh)));
      }
      for (int t = 0; t < T; ++t)
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(S[t]), _mm512_mul_ps(d, _mm512_set1_ps(act.dv(t))), acc[t]);
    }
  }
}

// Computes T slots from token t0 for G groups (group + g * stride) and stores the first n_valid
// slots (rows: the last group's valid rows).
template <class Q, int T, bool Tiled, int G = 1>
inline void group_tokens(const uint8_t* group, size_t stride, int64_t nb, const Acts& a, int64_t t0, int n_valid,
                         float* y, int64_t ldy, __mmask16 rows, bool stream = T == 1) {
  __m512 acc[G * T];
  for (int i = 0; i < G * T; ++i) acc[i] = _mm512_setzero_ps();
  group_dot<Q, T, G>(group, stride, nb, Toks<T, Tiled>(a, t0), acc, stream);
  for (int g = 0; g < G; ++g)
    for (int t = 0; t < T && t < n_valid; ++t)
      _mm512_mask_storeu_ps(y + (t0 + t) * ldy + g * R, g + 1 < G ? __mmask16(0xFFFF) : rows, acc[g * T + t]);
}

// Token slots per pass: enough accumulators to reuse each weight load, few enough to stay in
// the 32 zmm registers (legacy: 2 tiles; K-quants keep 4 accumulators per slot: 1 tile).
template <class Q>
constexpr int kTokens = Q::kScales == ScaleKind::kBlock ? 8 : 4;
// Up to this many tokens a matmul reads its weights from memory once for all of them (batched
// decode), so the kernel prefetches them as the one-token decode does.
constexpr int64_t kStreamTokens = 8;

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
    // A few tokens (batched decode steps) stream the weights from memory as decode does; slots
    // are sized to the tokens left (4, 2 or 1), so no slot computes a missing token.
    const bool stream = a.n_tokens <= kStreamTokens;
    if constexpr (Q::kScales == ScaleKind::kBlock) {
      if (g0 + 2 * R <= r1) {  // two full groups: each activation broadcast feeds both
        int64_t t = t0;
        for (; t + 4 <= t1; t += 4) group_tokens<Q, 4, true, 2>(group, group_bytes, nb, a, t, 4, yg, ldy, rows, stream);
        if (t + 2 <= t1) group_tokens<Q, 2, true, 2>(group, group_bytes, nb, a, t, 2, yg, ldy, rows, stream), t += 2;
        if (t < t1) group_tokens<Q, 1, true, 2>(group, group_bytes, nb, a, t, 1, yg, ldy, rows, stream);
        g0 += R;
        continue;
      }
    }
    constexpr int TB = kTokens<Q>;
    int64_t t = t0;
    for (; t + TB <= t1; t += TB) group_tokens<Q, TB, true>(group, 0, nb, a, t, TB, yg, ldy, rows, stream);
    for (; t + 4 <= t1; t += 4) group_tokens<Q, 4, true>(group, 0, nb, a, t, 4, yg, ldy, rows, stream);
    if (t + 2 <= t1) group_tokens<Q, 2, true>(group, 0, nb, a, t, 2, yg, ldy, rows, stream), t += 2;
    if (t < t1) group_tokens<Q, 1, true>(group, 0, nb, a, t, 1, yg, ldy, rows, stream);
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
                          : Q::kOffset != 0                ? AuxKind::kBlockSum
                                                           : AuxKind::kNone;
  return Kernel{.isa = Isa::kAvx512,
                .row_block = R,
                .packed_bytes = packed_bytes<Ty>,
                .pack = pack<Ty>,
                .aux = aux,
                .aux_offset = Q::kOffset,
                .tiles = true,
                .token_tile = kTokens<Q>,
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

}  // namespace

const Kernel* quant_kernel(GgmlType t) {
  switch (t) {
    case GgmlType::Q4_0: return &kQ4_0;
    case GgmlType::Q4_1: return &kQ4_1;
    case GgmlType::Q5_0: return &kQ5_0;
    case GgmlType::Q5_1: return &kQ5_1;
    case GgmlType::Q8_0: return &kQ8_0;
    case GgmlType::Q4_K: return &kQ4_K;
    case GgmlType::Q5_K: return &kQ5_K;
    case GgmlType::Q6_K: return &kQ6_K;
    default: return nullptr;
  }
}

}  // namespace smolvlm::kernels::mm::avx512
