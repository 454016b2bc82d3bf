// Activation preparation: f32 activations converted to the weight type's ggml vec_dot_type, the
// same bytes ggml's x86 CPU backend produces, laid out struct-of-arrays for the kernels.
#include <emmintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/error.h"
#include "base/fp16.h"
#include "kernels/matmul_act.h"
#include "quant/quant.h"

namespace smolvlm::kernels::mm {
namespace {

// ggml x86 quantize_row_q8_0 / q8_1 for one block of 32: d = amax / 127 stored as fp16, codes
// round-half-even(x * (127 / amax)). Returns the fp32 d before fp16 rounding and the code sum.
float q8_block(const float* x, int8_t* q, int& sum) {
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.f;
  const float id = amax != 0.0f ? 127.f / amax : 0.0f;
  sum = 0;
  for (int j = 0; j < 32; ++j) {
    const int v = int(std::nearbyint(x[j] * id));  // default rounding mode: half to even
    q[j] = int8_t(v);
    sum += v;
  }
  return d;
}

size_t align64(size_t n) { return (n + 63) & ~size_t(63); }

void q8_0_row(const float* x, int64_t cols, int8_t* q, float* d, float* s, int32_t* sums) {
  for (int64_t b = 0; b < cols / 32; ++b) {
    int sum = 0;
    const float db = q8_block(x + b * 32, q + b * 32, sum);
    d[b] = fp16_to_fp32(fp32_to_fp16(db));
    if (s) s[b] = fp16_to_fp32(fp32_to_fp16(db * float(sum)));
    sums[b] = sum;
  }
}

void q8_K_row(const float* x, int64_t cols, int8_t* q, float* d, int16_t* bsums) {
  uint8_t blockbuf[292];
  for (int64_t b = 0; b < cols / 256; ++b) {
    quantize_row(GgmlType::Q8_K, x + b * 256, blockbuf, 256);
    std::memcpy(d + b, blockbuf, 4);
    std::memcpy(q + b * 256, blockbuf + 4, 256);
    std::memcpy(bsums + b * 16, blockbuf + 260, 32);
  }
}

void round_f16_row(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = fp16_to_fp32(fp32_to_fp16(x[i]));
}
void round_bf16_row(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = bf16_to_fp32(fp32_to_bf16(x[i]));
}
void to_bf16_row(const float* x, uint16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = fp32_to_bf16(x[i]);
}

const ActRowFns kScalarFns{q8_0_row, q8_K_row, round_f16_row, round_bf16_row, to_bf16_row};

// The 4 codes at element 4k of each of 4 rows -> 16 consecutive bytes, for all k (SSE2 4x4
// dword transposes). Missing rows (nullptr) read as zeros.
void tile_codes(const int8_t* const rows[4], int64_t cols, int8_t* dst) {
  alignas(16) static const int8_t zeros[16] = {};
  int64_t k = 0;
  for (; k + 16 <= cols; k += 16, dst += 64) {
    __m128i r[4];
    for (int i = 0; i < 4; ++i)
      r[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[i] ? rows[i] + k : zeros));
    const __m128i t0 = _mm_unpacklo_epi32(r[0], r[1]), t1 = _mm_unpackhi_epi32(r[0], r[1]);
    const __m128i t2 = _mm_unpacklo_epi32(r[2], r[3]), t3 = _mm_unpackhi_epi32(r[2], r[3]);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm_unpacklo_epi64(t0, t2));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 16), _mm_unpackhi_epi64(t0, t2));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 32), _mm_unpacklo_epi64(t1, t3));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 48), _mm_unpackhi_epi64(t1, t3));
  }
  for (; k < cols; k += 4, dst += 16)
    for (int i = 0; i < 4; ++i) {
      if (rows[i])
        std::memcpy(dst + 4 * i, rows[i] + k, 4);
      else
        std::memset(dst + 4 * i, 0, 4);
    }
}

}  // namespace

const ActRowFns& scalar_act_fns() { return kScalarFns; }
void scalar_to_bf16(const float* x, uint16_t* y, int64_t n) { to_bf16_row(x, y, n); }

const ActRowFns& act_fns(Isa isa) {
  const ActRowFns* fns = isa == Isa::kAvx512 ? avx512_act_fns() : isa == Isa::kAvx2 ? avx2_act_fns() : nullptr;
  return fns != nullptr ? *fns : scalar_act_fns();
}

ActType act_type_for(GgmlType w) {
  switch (w) {
    case GgmlType::F16: return ActType::F16;
    case GgmlType::BF16: return ActType::BF16;
    case GgmlType::Q4_0:
    case GgmlType::Q5_0:
    case GgmlType::Q8_0: return ActType::Q8_0;
    case GgmlType::Q4_1:
    case GgmlType::Q5_1: return ActType::Q8_1;
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
    case GgmlType::Q6_K: return ActType::Q8_K;
    default: return ActType::F32;
  }
}

int64_t act_block(ActType a) {
  switch (a) {
    case ActType::Q8_0:
    case ActType::Q8_1: return 32;
    case ActType::Q8_K: return 256;
    default: return 1;
  }
}

void quantize_act_row(ActType type, const float* x, uint8_t* dst, int64_t cols) {
  if (cols % act_block(type) != 0) fail("quantize_act_row: ", cols, " columns is not a multiple of the block");
  switch (type) {
    case ActType::Q8_0:
    case ActType::Q8_1: {
      const bool q81 = type == ActType::Q8_1;
      const size_t hdr = q81 ? 4 : 2;
      for (int64_t b = 0; b < cols / 32; ++b, x += 32, dst += hdr + 32) {
        int sum = 0;
        const float d = q8_block(x, reinterpret_cast<int8_t*>(dst + hdr), sum);
        const uint16_t dh = fp32_to_fp16(d);
        std::memcpy(dst, &dh, 2);
        if (q81) {
          const uint16_t sh = fp32_to_fp16(d * float(sum));
          std::memcpy(dst + 2, &sh, 2);
        }
      }
      break;
    }
    case ActType::Q8_K: quantize_row(GgmlType::Q8_K, x, dst, cols); break;
    default: fail("quantize_act_row: not a quantized activation type");
  }
}

int64_t aux_count(AuxKind k, int64_t cols) {
  switch (k) {
    case AuxKind::kNone: return 0;
    case AuxKind::kQuadSum: return cols / 4;
    case AuxKind::kBlockSum:
    case AuxKind::kPairs16: return cols / 32;
    case AuxKind::kHalfSum: return cols / 16;
  }
  return 0;
}

namespace {

// Hands out 64-byte aligned pieces of one scratch buffer.
class Carver {
 public:
  explicit Carver(uint8_t* base) : p_(base) {}
  template <typename T>
  T* take(size_t count) {
    T* r = reinterpret_cast<T*>(p_);
    p_ += align64(count * sizeof(T));
    return r;
  }
  uint8_t* at() const { return p_; }

 private:
  uint8_t* p_;
};

// The tiled copy of tokens [4i, 4i+4) (see Acts); missing tokens are zero.
void fill_tile(const Acts& a, int64_t i, int64_t nblk, int64_t naux, int8_t* tq, float* td, float* ts, int32_t* taux) {
  const int8_t* rows[4];
  for (int lane = 0; lane < 4; ++lane) {
    const int64_t t = 4 * i + lane;
    rows[lane] = t < a.n_tokens ? a.q + t * a.q_stride : nullptr;
  }
  tile_codes(rows, a.cols, tq);
  for (int lane = 0; lane < 4; ++lane) {
    const int64_t t = 4 * i + lane;
    const bool real = t < a.n_tokens;
    for (int64_t b = 0; b < nblk; ++b) {
      td[4 * b + lane] = real ? a.d[t * a.d_stride + b] : 0.0f;
      if (ts) ts[4 * b + lane] = real ? a.s[t * a.d_stride + b] : 0.0f;
    }
    for (int64_t j = 0; j < naux; ++j) taux[4 * j + lane] = real ? a.aux[t * a.aux_stride + j] : 0;
  }
}

}  // namespace

Acts prepare_acts(ActType type, const Kernel& kern, const float* x, int64_t n, int64_t cols, ActScratch& scratch,
                  ThreadPool& pool) {
  Acts a;
  a.type = type;
  a.n_tokens = n;
  a.cols = cols;
  if (type == ActType::F32) {
    a.f = x;
    a.f_stride = cols;
    return a;
  }
  const bool is_float = type == ActType::F16 || type == ActType::BF16;
  const bool codes = type == ActType::BF16 && kern.bf16_codes;  // bf16 as 16-bit codes, not f32
  const bool qk = type == ActType::Q8_K;
  const int64_t nblk = cols / act_block(type);
  const int64_t nsum = qk ? cols / 16 : nblk;
  const int64_t naux = is_float ? 0 : aux_count(kern.aux, cols);
  const bool tiles = !is_float && kern.tiles && n > 1;
  const int64_t n_tiles = tiles ? (n + 3) / 4 : 0;
  // Row strides (elements), each row 64-byte aligned.
  a.f_stride = is_float && !codes ? int64_t(align64(size_t(cols) * 4) / 4) : 0;
  a.h_stride = codes ? int64_t(align64(size_t(cols) * 2) / 2) : 0;
  a.q_stride = is_float ? 0 : int64_t(align64(size_t(cols)));
  a.d_stride = is_float ? 0 : int64_t(align64(size_t(nblk) * 4) / 4);
  a.sums_stride = is_float ? 0 : int64_t(align64(size_t(nsum) * (qk ? 2 : 4)) / (qk ? 2 : 4));
  a.aux_stride = int64_t(align64(size_t(naux) * 4) / 4);
  a.n_tiles = n_tiles;
  a.tq_stride = cols * 4;
  a.td_stride = int64_t(align64(size_t(nblk) * 16) / 4);
  a.taux_stride = int64_t(align64(size_t(naux) * 16) / 4);
  const size_t need = size_t(n) * (size_t(a.f_stride) * 4 + size_t(a.h_stride) * 2 + size_t(a.q_stride) +
                                   size_t(a.d_stride) * 4 * 2 + size_t(a.sums_stride) * 4 + size_t(a.aux_stride) * 4) +
                      size_t(n_tiles) * (size_t(a.tq_stride) + size_t(a.td_stride) * 4 * 2 + size_t(a.taux_stride) * 4) +
                      64 * 16;
  if (scratch.bytes.size() < need) scratch.bytes.assign(need, 0);
  uint8_t* base = scratch.bytes.data();
  Carver c(base + (64 - reinterpret_cast<uintptr_t>(base) % 64) % 64);
  float* f = c.take<float>(size_t(n * a.f_stride));
  uint16_t* h = c.take<uint16_t>(size_t(n * a.h_stride));
  int8_t* q = c.take<int8_t>(size_t(n * a.q_stride));
  float* d = c.take<float>(size_t(n * a.d_stride));
  float* s = type == ActType::Q8_1 ? c.take<float>(size_t(n * a.d_stride)) : nullptr;
  int32_t* sums = qk ? nullptr : c.take<int32_t>(size_t(n * a.sums_stride));
  int16_t* bsums = qk ? c.take<int16_t>(size_t(n * a.sums_stride)) : nullptr;
  int32_t* aux = c.take<int32_t>(size_t(n * a.aux_stride));
  int8_t* tq = c.take<int8_t>(size_t(n_tiles * a.tq_stride));
  float* td = c.take<float>(size_t(n_tiles * a.td_stride));
  float* ts = type == ActType::Q8_1 ? c.take<float>(size_t(n_tiles * a.td_stride)) : nullptr;
  int32_t* taux = c.take<int32_t>(size_t(n_tiles * a.taux_stride));
  if (codes) {
    a.h = h;
  } else if (is_float) {
    a.f = f;
  } else {
    a.q = q;
    a.d = d;
    a.s = s;
    a.sums = sums;
    a.bsums = bsums;
    a.aux = naux ? aux : nullptr;
  }

  const ActRowFns* fns = &act_fns(kern.isa);
  auto one = [&](int64_t t) {
    const float* xt = x + t * cols;
    switch (type) {
      case ActType::F16: fns->round_f16(xt, f + t * a.f_stride, cols); break;
      case ActType::BF16:
        if (codes) {
          fns->to_bf16(xt, h + t * a.h_stride, cols);
          if (cols % 2 != 0) h[t * a.h_stride + cols] = 0;  // an odd row's last pair is (x, 0)
        } else
          fns->round_bf16(xt, f + t * a.f_stride, cols);
        break;
      case ActType::Q8_0:
      case ActType::Q8_1:
        fns->q8_0(xt, cols, q + t * a.q_stride, d + t * a.d_stride, s ? s + t * a.d_stride : nullptr,
                  sums + t * a.sums_stride);
        break;
      case ActType::Q8_K: fns->q8_K(xt, cols, q + t * a.q_stride, d + t * a.d_stride, bsums + t * a.sums_stride); break;
      case ActType::F32: break;
    }
    int32_t* at = aux + t * a.aux_stride;
    switch (kern.aux) {
      case AuxKind::kNone: break;
      case AuxKind::kBlockSum:
        for (int64_t j = 0; j < naux; ++j) at[j] = -kern.aux_offset * sums[t * a.sums_stride + j];
        break;
      case AuxKind::kQuadSum: {
        const int8_t* qt = q + t * a.q_stride;
        for (int64_t j = 0; j < naux; ++j)
          at[j] = -kern.aux_offset * (qt[4 * j] + qt[4 * j + 1] + qt[4 * j + 2] + qt[4 * j + 3]);
        break;
      }
      case AuxKind::kPairs16:
        for (int64_t j = 0; j < naux; ++j) {
          const int16_t* bs = bsums + t * a.sums_stride + 2 * j;
          at[j] = int32_t(uint32_t(uint16_t(bs[0])) | (uint32_t(uint16_t(bs[1])) << 16));
        }
        break;
      case AuxKind::kHalfSum:
        for (int64_t j = 0; j < naux; ++j) at[j] = -kern.aux_offset * bsums[t * a.sums_stride + j];
        break;
    }
  };
  const bool parallel = n >= 4 && pool.size() > 1;
  if (parallel) {
    pool.run(n, [&](int64_t t, int) { one(t); });
  } else {
    for (int64_t t = 0; t < n; ++t) one(t);
  }
  if (tiles) {
    a.tq = tq;
    a.td = td;
    a.ts = ts;
    a.taux = taux;
    auto tile = [&](int64_t i) {
      fill_tile(a, i, nblk, naux, tq + i * a.tq_stride, td + i * a.td_stride, ts ? ts + i * a.td_stride : nullptr,
                taux + i * a.taux_stride);
    };
    if (parallel) {
      pool.run(n_tiles, [&](int64_t i, int) { tile(i); });
    } else {
      for (int64_t i = 0; i < n_tiles; ++i) tile(i);
    }
  }
  return a;
}

}  // namespace smolvlm::kernels::mm
