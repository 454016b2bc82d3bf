// Scalar reference of every op in ops.h: plain loops in the operation order of ggml's CPU ops,
// which the SIMD versions are tested against. Compiled without ISA flags (and, C++20 being an ISO
// mode, without floating-point contraction), so every float operation below rounds as written.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "base/fp16.h"
#include "kernels/ops_internal.h"

namespace smolvlm::kernels::detail {
namespace {

// ggml_compute_forward_rms_norm_f32 followed by ggml_mul: the squares are rounded to float and
// summed in double; mean = (float)(sum / dim); scale = 1/sqrtf(mean + eps); y = (x * scale) * w.
void rms_norm(const float* x, const float* w, float eps, int64_t n_rows, int64_t dim, float* y) {
  for (int64_t r = 0; r < n_rows; ++r, x += dim, y += dim) {
    double sum = 0.0;
    for (int64_t i = 0; i < dim; ++i) sum += static_cast<double>(x[i] * x[i]);
    const float mean = static_cast<float>(sum / static_cast<double>(dim));
    const float scale = 1.0f / std::sqrt(mean + eps);
    for (int64_t i = 0; i < dim; ++i) y[i] = (x[i] * scale) * w[i];
  }
}

// ggml_compute_forward_norm_f32 followed by ggml_mul and ggml_add: mean from a double sum,
// d = x - mean in float, variance = (float)(sum of (float)(d*d) in double / dim),
// y = ((d * (1/sqrtf(var + eps))) * w) + b.
void layer_norm(const float* x, const float* w, const float* b, float eps, int64_t n_rows, int64_t dim,
                float* y) {
  for (int64_t r = 0; r < n_rows; ++r, x += dim, y += dim) {
    double sum = 0.0;
    for (int64_t i = 0; i < dim; ++i) sum += static_cast<double>(x[i]);
    const float mean = static_cast<float>(sum / static_cast<double>(dim));
    double sq = 0.0;
    for (int64_t i = 0; i < dim; ++i) {
      const float d = x[i] - mean;
      sq += static_cast<double>(d * d);
      y[i] = d;
    }
    const float var = static_cast<float>(sq / static_cast<double>(dim));
    const float scale = 1.0f / std::sqrt(var + eps);
    for (int64_t i = 0; i < dim; ++i) y[i] = (y[i] * scale) * w[i] + b[i];
  }
}

// ggml rope_f32, NORM mode: (x0, x1) -> (x0 cos - x1 sin, x0 sin + x1 cos), each with the one
// fused multiply-add that g++ makes of ggml's expressions.
void rope_rows(float* x, int64_t n_heads, int64_t head_dim, int64_t n_rot, const float* cos2, const float* sin2) {
  for (int64_t h = 0; h < n_heads; ++h, x += head_dim) {
    for (int64_t i = 0; i < n_rot; i += 2) {
      const float c = cos2[i], s = sin2[i + 1];
      const float x0 = x[i], x1 = x[i + 1];
      x[i] = std::fma(x0, c, -(x1 * s));
      x[i + 1] = std::fma(x0, s, x1 * c);
    }
  }
}

// ggml_compute_forward_soft_max_f32: e = expf(x - max), sum in double, y = e * (float)(1/sum).
void softmax(float* x, int64_t n) {
  if (n <= 0) return;
  float mx = -INFINITY;
  for (int64_t i = 0; i < n; ++i) mx = std::fmax(mx, x[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += static_cast<double>(x[i]);
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

// ggml_vec_swiglu_f32: silu(g) * u with ggml's vector exp.
void silu_mul(const float* gate, const float* up, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = gate[i] / (1.0f + ggml::expf(0.0f - gate[i])) * up[i];
}

// transformers' gelu_pytorch_tanh, literally: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
void gelu_tanh(float* x, int64_t n) {
  const float k = 0.7978845608028654f;  // sqrt(2/pi)
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    x[i] = 0.5f * v * (1.0f + std::tanh(k * (v + 0.044715f * v * v * v)));
  }
}

void add(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

void scale_add(float* y, const float* x, float s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += s * x[i];
}

void f32_to_f16(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = fp32_to_fp16(src[i]);
}

void f16_to_f32(const uint16_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(src[i]);
}

// Reads element d of the key or value at position j of a cache with rows `stride` bytes apart.
float kv_elem(const void* base, size_t stride, bool f16, int64_t j, int64_t d) {
  const auto* row = static_cast<const uint8_t*>(base) + static_cast<size_t>(j) * stride;
  if (f16) {
    uint16_t h;
    std::memcpy(&h, row + 2 * d, 2);
    return fp16_to_fp32(h);
  }
  float f;
  std::memcpy(&f, row + 4 * d, 4);
  return f;
}
float kv_at(const AttnTile& t, const void* base, int64_t j, int64_t d) { return kv_elem(base, t.kv_stride, t.f16, j, d); }

// Online-softmax attention for one tile, key block by key block. For an fp16 cache the query is
// rounded to fp16 first, as ggml does (it converts q to K's vec_dot_type before the dot product);
// scores are q.k * scale in float; the value sum is kept in float.
void attention_tile(const AttnTile& t) {
  const int64_t D = t.head_dim, rows = t.n_tok * t.n_g;
  std::vector<float> q(static_cast<size_t>(D)), o(static_cast<size_t>(rows * D), 0.0f);
  std::vector<float> m(static_cast<size_t>(rows), -INFINITY), l(static_cast<size_t>(rows), 0.0f);
  std::vector<float> s(static_cast<size_t>(t.kv_block));
  const int64_t n_vis_max = t.visible(t.n_tok - 1);
  for (int64_t j0 = 0; j0 < n_vis_max; j0 += t.kv_block) {
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t tok = r / t.n_g, g = r % t.n_g;
      const int64_t j1 = std::min(t.visible(tok), j0 + t.kv_block);
      if (j1 <= j0) continue;
      const float* qr = t.q + tok * t.tok_stride + g * D;
      for (int64_t d = 0; d < D; ++d) q[d] = t.f16 ? fp16_to_fp32(fp32_to_fp16(qr[d])) : qr[d];
      float mx = m[r];
      for (int64_t j = j0; j < j1; ++j) {
        float dot = 0.0f;
        for (int64_t d = 0; d < D; ++d) dot += q[d] * kv_at(t, t.k, j, d);
        s[j - j0] = dot * t.scale;
        mx = std::fmax(mx, s[j - j0]);
      }
      const float corr = std::exp(m[r] - mx);  // 0 on the first block (m = -inf)
      float* orow = o.data() + r * D;
      for (int64_t d = 0; d < D; ++d) orow[d] *= corr;
      float sum = 0.0f;
      for (int64_t j = j0; j < j1; ++j) {
        const float p = std::exp(s[j - j0] - mx);
        sum += p;
        for (int64_t d = 0; d < D; ++d) orow[d] += p * kv_at(t, t.v, j, d);
      }
      l[r] = l[r] * corr + sum;
      m[r] = mx;
    }
  }
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t tok = r / t.n_g, g = r % t.n_g;
    float* out = t.out + tok * t.tok_stride + g * D;
    for (int64_t d = 0; d < D; ++d) out[d] = o[r * D + d] / l[r];
  }
}

void attention_ggml_row(const GgmlAttnRow& r) {
  const int64_t D = r.head_dim, n = r.n_vis, D64 = D / 64 * 64;
  auto key = [&](int64_t j, int64_t d) { return kv_elem(r.k, r.kv_stride, r.f16, j, d); };
  auto value = [&](int64_t j, int64_t d) { return kv_elem(r.v, r.kv_stride, r.f16, j, d); };
  // kq = ggml_vec_dot_f32(k_j, q): 64 lanes (4 vectors of 16) over the whole 64-blocks, reduced as
  // (s0 + s2) + (s1 + s3) and then across the 16 lanes; a rest of head_dim % 64 added one by one.
  // An fp16 cache takes q rounded to fp16, as ggml converts q to K's vec_dot_type; in a batch that
  // copy is contiguous, so ggml takes tinyBLAS for it: 16 lanes along head_dim, then the tree.
  float* q = r.acc;  // the value accumulators are not in use yet
  for (int64_t d = 0; d < D; ++d) q[d] = r.f16 ? fp16_to_fp32(fp32_to_fp16(r.q[d])) : r.q[d];
  float mx = -INFINITY;
  for (int64_t j = 0; j < n; ++j) {
    float lanes[64] = {}, x[16];
    float dot;
    if (r.f16 && !r.one_token && D % 16 == 0) {  // q converted to fp16 is contiguous: tinyBLAS, 16 lanes
      for (int64_t d = 0; d < D; ++d) x[d % 16] = std::fma(key(j, d), q[d], d < 16 ? 0.0f : x[d % 16]);
      dot = ggml::tree16(x);
    } else {
      for (int64_t d = 0; d < D64; ++d) lanes[d % 64] = std::fma(key(j, d), q[d], lanes[d % 64]);
      for (int l = 0; l < 16; ++l) x[l] = (lanes[l] + lanes[32 + l]) + (lanes[16 + l] + lanes[48 + l]);
      dot = ggml::tree16(x);
      for (int64_t d = D64; d < D; ++d) dot = std::fma(key(j, d), q[d], dot);
    }
    r.scores[j] = dot * r.scale;
    mx = std::fmax(mx, r.scores[j]);
  }
  // soft_max: e = exp(s - max) in vectors of 16 keys, each vector's sum added in double.
  double sum = 0;
  for (int64_t c = 0; c < n; c += 16) {
    float e[16];
    for (int64_t l = 0; l < 16; ++l) e[l] = c + l < n ? (r.scores[c + l] = ggml::expf(r.scores[c + l] - mx)) : 0.0f;
    sum += double(ggml::tree16(e));
  }
  // (An fp16 cache takes the probabilities rounded to fp16: ggml converts kq to V's vec_dot_type.)
  const float inv = float(1.0 / sum);
  for (int64_t j = 0; j < n; ++j) {
    r.scores[j] *= inv;
    if (r.f16) r.scores[j] = fp16_to_fp32(fp32_to_fp16(r.scores[j]));
  }
  // kqv: value sums in lanes by key position: j % 16 (tinyBLAS, a batch of tokens) or j % 64
  // (vec_dot_f32, one token; the four vectors reduced as above), then across the 16 lanes.
  const int rows = r.one_token ? 64 : 16;
  std::fill(r.acc, r.acc + rows * D, 0.0f);
  for (int64_t j = 0; j < n; ++j) {
    float* a = r.acc + (j % rows) * D;
    for (int64_t d = 0; d < D; ++d) a[d] = std::fma(r.scores[j], value(j, d), a[d]);
  }
  for (int64_t d = 0; d < D; ++d) {
    float x[16];
    for (int l = 0; l < 16; ++l) {
      const float* a = r.acc + l * D + d;
      x[l] = r.one_token ? (a[0] + a[32 * D]) + (a[16 * D] + a[48 * D]) : a[0];
    }
    r.out[d] = ggml::tree16(x);
  }
}

// One chunk of a decode step, head by head: scores, the chunk's max and sum, the value sums.
void attention_split(const AttnSplit& a) {
  const int64_t D = a.head_dim, dp = attn_pad_dim(D), rep = a.n_heads / a.n_kv_heads;
  std::vector<float> q(static_cast<size_t>(D)), p(static_cast<size_t>(a.n));
  for (int64_t h = 0; h < a.n_heads; ++h) {
    const int64_t off = (h / rep) * D;
    for (int64_t d = 0; d < D; ++d) q[d] = a.f16 ? fp16_to_fp32(fp32_to_fp16(a.q[h * D + d])) : a.q[h * D + d];
    float mx = -INFINITY;
    for (int64_t j = 0; j < a.n; ++j) {
      float dot = 0.0f;
      for (int64_t d = 0; d < D; ++d) dot += q[d] * kv_elem(a.k, a.kv_stride, a.f16, j, off + d);
      p[j] = dot * a.scale;
      mx = std::fmax(mx, p[j]);
    }
    float sum = 0.0f;
    for (int64_t j = 0; j < a.n; ++j) sum += (p[j] = std::exp(p[j] - mx));
    float* o = a.o + h * dp;
    for (int64_t d = 0; d < D; ++d) {
      float acc = 0.0f;
      for (int64_t j = 0; j < a.n; ++j) acc += p[j] * kv_elem(a.v, a.kv_stride, a.f16, j, off + d);
      o[d] = acc;
    }
    a.m[h] = mx;
    a.l[h] = sum;
  }
}

void exp_rows(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}

}  // namespace

// AttnBf16Tile, row by row over the staged bf16 pairs: per key block the scores as float sums of
// the exact products, the online-softmax step in float, and the value sums over the probabilities
// rounded to bf16.
void attention_bf16_tile_scalar(const AttnBf16Tile& t) {
  const int64_t D = t.head_dim, d2 = (D + 1) / 2, dp = attn_pad_dim(D), rows = t.n_tok * t.n_g;
  const auto lo = [](uint32_t w) { return bf16_to_fp32(uint16_t(w)); };
  const auto hi = [](uint32_t w) { return bf16_to_fp32(uint16_t(w >> 16)); };
  std::vector<float> q(static_cast<size_t>(2 * d2)), o(static_cast<size_t>(D)), s(static_cast<size_t>(kBf16KeyBlock));
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t tok = r / t.n_g, g = r % t.n_g, n_vis = t.visible(tok);
    const float* qr = t.q + tok * t.tok_stride + g * D;
    for (int64_t d = 0; d < 2 * d2; ++d) q[d] = d < D ? bf16_to_fp32(fp32_to_bf16(qr[d])) : 0.0f;
    std::fill(o.begin(), o.end(), 0.0f);
    float m = -INFINITY, l = 0.0f;
    for (int64_t j0 = 0; j0 < n_vis; j0 += kBf16KeyBlock) {
      const int64_t n = std::min(kBf16KeyBlock, n_vis - j0);
      float mx = m;
      for (int64_t j = 0; j < n; ++j) {
        float dot = 0.0f;
        for (int64_t i = 0; i < d2; ++i) {
          const uint32_t w = t.k[i * t.np + j0 + j];
          dot += q[2 * i] * lo(w) + q[2 * i + 1] * hi(w);
        }
        s[j] = dot * t.scale;
        mx = std::fmax(mx, s[j]);
      }
      const float corr = std::exp(m - mx);  // 0 on the first block (m = -inf)
      float sum = 0.0f;
      for (int64_t d = 0; d < D; ++d) o[d] *= corr;
      for (int64_t j = 0; j < n; ++j) {
        const float p = std::exp(s[j] - mx);
        sum += p;
        const float pb = bf16_to_fp32(fp32_to_bf16(p));
        const uint32_t* vrow = t.v + ((j0 + j) / 2) * dp;
        for (int64_t d = 0; d < D; ++d) o[d] += pb * ((j0 + j) % 2 == 0 ? lo(vrow[d]) : hi(vrow[d]));
      }
      l = l * corr + sum;
      m = mx;
    }
    float* out = t.out + tok * t.tok_stride + g * D;
    for (int64_t d = 0; d < D; ++d) out[d] = o[d] / l;
  }
}

float quantize_row_i8(const float* x, int64_t n, int8_t* codes) {
  float amax = 0.0f;
  for (int64_t i = 0; i < n; ++i) amax = std::fabs(x[i]) > amax ? std::fabs(x[i]) : amax;
  if (amax == 0.0f) {
    std::fill(codes, codes + n, int8_t(0));
    return 0.0f;
  }
  const float inv = 127.0f / amax;
  for (int64_t i = 0; i < n; ++i) codes[i] = static_cast<int8_t>(std::nearbyint(x[i] * inv));
  return amax / 127.0f;
}

// AttnI8Tile, row by row: the query row's codes, per key block of kv_block the scores from the
// integer dot products with the staged key codes, the online-softmax step and the value sums in f32.
void attention_i8_tile_scalar(const AttnI8Tile& t) {
  const int64_t D = t.head_dim, d4 = (D + 3) / 4, rows = t.n_tok * t.n_g;
  std::vector<int8_t> codes(static_cast<size_t>(4 * d4), 0);
  std::vector<float> o(static_cast<size_t>(D)), s(static_cast<size_t>(t.kv_block));
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t tok = r / t.n_g, g = r % t.n_g, n_vis = t.visible(tok);
    const float sq = quantize_row_i8(t.q + tok * t.tok_stride + g * D, D, codes.data());
    std::fill(o.begin(), o.end(), 0.0f);
    float m = -INFINITY, l = 0.0f;
    for (int64_t j0 = 0; j0 < n_vis; j0 += t.kv_block) {
      const int64_t n = std::min(t.kv_block, n_vis - j0);
      float mx = m;
      for (int64_t j = 0; j < n; ++j) {
        int32_t dot = 0;
        for (int64_t i = 0; i < d4; ++i) {
          const auto w = static_cast<uint32_t>(t.kq[i * t.np + j0 + j]);
          for (int c = 0; c < 4; ++c) dot += (codes[size_t(4 * i + c)] + 128) * int8_t(uint8_t(w >> (8 * c)));
        }
        s[size_t(j)] = float(dot - t.kc[j0 + j]) * t.ks[j0 + j] * sq;
        mx = std::fmax(mx, s[size_t(j)]);
      }
      const float corr = std::exp(m - mx);  // 0 on the first block (m = -inf)
      float sum = 0.0f;
      for (int64_t d = 0; d < D; ++d) o[size_t(d)] *= corr;
      for (int64_t j = 0; j < n; ++j) {
        const float p = std::exp(s[size_t(j)] - mx);
        sum += p;
        const float* vj = t.v + (j0 + j) * t.v_stride;
        for (int64_t d = 0; d < D; ++d) o[size_t(d)] += p * vj[d];
      }
      l = l * corr + sum;
      m = mx;
    }
    float* out = t.out + tok * t.tok_stride + g * D;
    for (int64_t d = 0; d < D; ++d) out[d] = o[size_t(d)] / l;
  }
}

const OpsTable kScalarOps = {
    Isa::kScalar, rms_norm,   layer_norm, rope_rows,      softmax,  silu_mul, gelu_tanh,
    add,          scale_add, f32_to_f16, f16_to_f32, attention_tile, attention_ggml_row, attention_split, exp_rows,
};

}  // namespace smolvlm::kernels::detail
