// The 256-weight super-block types Q4_K, Q5_K, Q6_K, Q8_K: ggml's reference quantizers without an
// importance matrix (quantize_row_*_ref with make_qkx2_quants / make_qx_quants) and dequantizers,
// in ggml's float operation order (every product and sum in float, left to right).
//
// Q4_K (144 B): d fp16, dmin fp16, scales[12] (8 six-bit scales + 8 six-bit mins), qs[128].
// Q5_K (176 B): d, dmin, scales[12], qh[32], qs[128].
// Q6_K (210 B): ql[128], qh[64], scales[16] int8, d fp16.
// Q8_K (292 B): d fp32, qs[256] int8, bsums[16] int16.
#include <algorithm>
#include <cmath>

#include "quant/block_codec.h"

namespace smolvlm::quant_impl {
namespace {

constexpr int QK_K = 256;
constexpr float kGroupMaxEps = 1e-15f;  // ggml's GROUP_MAX_EPS: "all zero" threshold

// ---------------------------------------------------------------- Q4_K / Q5_K

// Fits x[i] ~ scale * L[i] - the_min with L in 0..nmax (ggml's make_qkx2_quants, squared error):
// a first guess from the range, then nstep + 1 trial inverse scales (rmin + rdelta * is + nmax) /
// range, each followed by a weighted least-squares solve for scale and min; the candidate with the
// lowest weighted error wins. Returns the scale; *the_min receives -min (>= 0).
float fit_scale_min(int n, int nmax, const float* x, const float* w, uint8_t* L, float* the_min, float rmin,
                    float rdelta, int nstep) {
  float min = x[0], max = x[0];
  float sum_w = w[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    std::fill(L, L + n, uint8_t(0));
    *the_min = -min;
    return 0.f;
  }
  float iscale = float(nmax) / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    L[i] = uint8_t(std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax));
    const float diff = scale * float(L[i]) + min - x[i];
    best_error += w[i] * (diff * diff);
  }
  uint8_t Laux[32];
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * float(is) + float(nmax)) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
      Laux[i] = uint8_t(l);
      const float wl = w[i] * float(l);
      sum_l += wl;
      sum_l2 += wl * float(l);
      sum_xl += wl * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (!(D > 0)) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
    if (this_min > 0) {
      this_min = 0;
      this_scale = sum_xl / sum_l2;
    }
    float cur_error = 0;
    for (int i = 0; i < n; ++i) {
      const float diff = this_scale * float(Laux[i]) + this_min - x[i];
      cur_error += w[i] * (diff * diff);
    }
    if (cur_error < best_error) {
      std::copy(Laux, Laux + n, L);
      best_error = cur_error;
      scale = this_scale;
      min = this_min;
    }
  }
  *the_min = -min;
  return scale;
}

// The 12-byte packing of eight 6-bit scales and mins (ggml's get_scale_min_k4 layout).
void pack_scale_min_k4(const uint8_t* ls, const uint8_t* lm, uint8_t* q) {
  for (int j = 0; j < 4; ++j) {
    q[j] = uint8_t(ls[j] | ((ls[j + 4] >> 4) << 6));
    q[j + 4] = uint8_t(lm[j] | ((lm[j + 4] >> 4) << 6));
    q[j + 8] = uint8_t((ls[j + 4] & 0xF) | ((lm[j + 4] & 0xF) << 4));
  }
}

void get_scale_min_k4(int j, const uint8_t* q, int* sc, int* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Shared part of Q4_K (nmax 15) and Q5_K (nmax 31) for one super-block: per 32-weight sub-block
// a scale/min fit with weights rms(sub-block) + |x|, then 6-bit codes relative to the largest
// scale and min (d = max_scale / 63, dmin = max_min / 63), then every weight re-quantized with
// the decoded scale and min. Writes d, dmin, scales[12] at y and the codes to L[256].
void quantize_scale_min_superblock(const float* x, int nmax, float rmin, int nstep, uint8_t* y, uint8_t* L) {
  float scales[8], mins[8], weights[32];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    const float* xb = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xb[l] * xb[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xb[l]);
    scales[j] = fit_scale_min(32, nmax, xb, weights, L + 32 * j, &mins[j], rmin, 0.1f, nstep);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  uint8_t ls[8], lm[8];
  for (int j = 0; j < 8; ++j) {  // ggml stores nearest_int into a uint8_t, then caps at 63
    ls[j] = std::min<uint8_t>(63, uint8_t(nearest_int(inv_scale * scales[j])));
    lm[j] = std::min<uint8_t>(63, uint8_t(nearest_int(inv_min * mins[j])));
  }
  store_f16(y, max_scale / 63.f);
  store_f16(y + 2, max_min / 63.f);
  pack_scale_min_k4(ls, lm, y + 4);

  const float d_all = load_f16(y), dmin_all = load_f16(y + 2);
  for (int j = 0; j < 8; ++j) {
    int sc, m;
    get_scale_min_k4(j, y + 4, &sc, &m);
    const float d = d_all * float(sc);
    if (d == 0) continue;  // keeps the codes of the fit
    const float dm = dmin_all * float(m);
    for (int ii = 0; ii < 32; ++ii) {
      L[32 * j + ii] = uint8_t(std::clamp(nearest_int((x[32 * j + ii] + dm) / d), 0, nmax));
    }
  }
}

// Low nibbles of 64-weight chunk c: weight 64c + l in the low nibble of qs[32c + l], weight
// 64c + 32 + l in the high nibble.
void pack_low_nibbles(const uint8_t* L, uint8_t* qs) {
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) qs[32 * c + l] = uint8_t((L[64 * c + l] & 0xF) | ((L[64 * c + l + 32] & 0xF) << 4));
  }
}

// Decodes a Q4_K (qh == nullptr) or Q5_K super-block; chunk c uses the scale/min pairs 2c, 2c + 1.
void dequantize_scale_min(const uint8_t* b, const uint8_t* qh, const uint8_t* qs, float* y) {
  const float d = load_f16(b), dmin = load_f16(b + 2);
  for (int c = 0; c < 4; ++c, qs += 32, y += 64) {
    int sc, m;
    get_scale_min_k4(2 * c, b + 4, &sc, &m);
    const float d1 = d * float(sc), m1 = dmin * float(m);
    get_scale_min_k4(2 * c + 1, b + 4, &sc, &m);
    const float d2 = d * float(sc), m2 = dmin * float(m);
    for (int l = 0; l < 32; ++l) {
      const int hi = qh ? ((qh[l] >> (2 * c)) & 1) << 4 : 0;
      y[l] = d1 * float((qs[l] & 0xF) + hi) - m1;
    }
    for (int l = 0; l < 32; ++l) {
      const int hi = qh ? ((qh[l] >> (2 * c + 1)) & 1) << 4 : 0;
      y[l + 32] = d2 * float((qs[l] >> 4) + hi) - m2;
    }
  }
}

// ---------------------------------------------------------------- Q6_K

// Symmetric fit of 16 weights to L in -nmax..nmax-1 (ggml's make_qx_quants with rmse_type 1, i.e.
// weights x^2): start from iscale = -nmax / max (max = signed value of largest magnitude), then
// try 18 nearby iscales -(nmax + 0.1 k) / max and keep the one maximising (sum w x l)^2 / sum w l^2.
// L receives l + nmax; returns the least-squares scale (0 for an all-zero group).
float fit_symmetric(int n, int nmax, const float* x, int8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    std::fill(L, L + n, int8_t(0));
    return 0.f;
  }
  auto code = [nmax](float v) { return std::clamp(nearest_int(v), -nmax, nmax - 1); };
  float iscale = float(-nmax) / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = code(iscale * x[i]);
    L[i] = int8_t(l + nmax);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * float(l);
    suml2 += w * float(l) * float(l);
  }
  float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(float(nmax) + 0.1f * float(is)) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = code(iscale * x[i]);
      const float w = x[i] * x[i];
      sumlx += w * x[i] * float(l);
      suml2 += w * float(l) * float(l);
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) L[i] = int8_t(nmax + code(iscale * x[i]));
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

void quantize_q6_K_block(const float* x, uint8_t* y) {
  uint8_t* ql = y;
  uint8_t* qh = y + 128;
  int8_t* sc = reinterpret_cast<int8_t*>(y + 192);
  uint8_t* dp = y + 208;

  int8_t L[QK_K];
  float scales[16];
  float max_scale = 0, max_abs_scale = 0;
  for (int ib = 0; ib < 16; ++ib) {
    scales[ib] = fit_symmetric(16, 32, x + 16 * ib, L + 16 * ib);
    if (std::fabs(scales[ib]) > max_abs_scale) {
      max_abs_scale = std::fabs(scales[ib]);
      max_scale = scales[ib];
    }
  }
  if (max_abs_scale < kGroupMaxEps) {
    std::fill(y, y + 210, uint8_t(0));
    return;
  }
  const float iscale = -128.f / max_scale;
  store_f16(dp, 1 / iscale);
  for (int ib = 0; ib < 16; ++ib) sc[ib] = int8_t(std::min(127, nearest_int(iscale * scales[ib])));

  const float d_all = load_f16(dp);
  for (int j = 0; j < 16; ++j) {
    const float d = d_all * float(sc[j]);
    if (d == 0) continue;  // keeps the codes of the fit
    for (int ii = 0; ii < 16; ++ii) {
      L[16 * j + ii] = int8_t(std::clamp(nearest_int(x[16 * j + ii] / d), -32, 31) + 32);
    }
  }
  // Half h (128 weights): low nibbles of weights l, l+32 in ql[64h + l], l+64, l+96 in the high
  // nibbles; the top two bits of the four weights l, l+32, l+64, l+96 share qh[32h + l].
  for (int h = 0; h < 2; ++h) {
    const int8_t* Lh = L + 128 * h;
    for (int l = 0; l < 32; ++l) {
      const int q1 = Lh[l], q2 = Lh[l + 32], q3 = Lh[l + 64], q4 = Lh[l + 96];
      ql[64 * h + l] = uint8_t((q1 & 0xF) | ((q3 & 0xF) << 4));
      ql[64 * h + l + 32] = uint8_t((q2 & 0xF) | ((q4 & 0xF) << 4));
      qh[32 * h + l] = uint8_t((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
    }
  }
}

}  // namespace

void quantize_q4_K(const float* x, uint8_t* y, int64_t nb) {
  uint8_t L[QK_K];
  for (int64_t i = 0; i < nb; ++i, x += QK_K, y += 144) {
    quantize_scale_min_superblock(x, 15, -1.f, 20, y, L);
    pack_low_nibbles(L, y + 16);
  }
}

void quantize_q5_K(const float* x, uint8_t* y, int64_t nb) {
  uint8_t L[QK_K];
  for (int64_t i = 0; i < nb; ++i, x += QK_K, y += 176) {
    quantize_scale_min_superblock(x, 31, -0.5f, 15, y, L);
    uint8_t* qh = y + 16;
    std::fill(qh, qh + 32, uint8_t(0));
    for (int c = 0; c < 4; ++c) {  // fifth bit of weight 64c + l -> bit 2c, of 64c + 32 + l -> bit 2c + 1
      for (int l = 0; l < 32; ++l) {
        qh[l] |= uint8_t(((L[64 * c + l] >> 4) << (2 * c)) | ((L[64 * c + l + 32] >> 4) << (2 * c + 1)));
      }
    }
    pack_low_nibbles(L, y + 48);
  }
}

void quantize_q6_K(const float* x, uint8_t* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) quantize_q6_K_block(x + QK_K * i, y + 210 * i);
}

// Q8_K: iscale = -127 / max (max = signed value of largest magnitude), q = min(127, nearest_int(
// iscale * x)), d = 1 / iscale in fp32, bsums = sums of 16 consecutive q.
void quantize_q8_K(const float* x, uint8_t* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += QK_K, y += 292) {
    float max = 0, amax = 0;
    for (int j = 0; j < QK_K; ++j) {
      if (std::fabs(x[j]) > amax) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    int8_t q[QK_K] = {};
    float d = 0;
    if (amax != 0) {
      const float iscale = -127.f / max;
      for (int j = 0; j < QK_K; ++j) q[j] = int8_t(std::min(127, nearest_int(iscale * x[j])));
      d = 1 / iscale;
    }
    store<float>(y, d);
    std::memcpy(y + 4, q, QK_K);
    for (int j = 0; j < 16; ++j) {  // ggml leaves bsums untouched for an all-zero block; we write 0
      int sum = 0;
      for (int ii = 0; ii < 16; ++ii) sum += q[16 * j + ii];
      store<int16_t>(y + 260 + 2 * j, int16_t(sum));
    }
  }
}

void dequantize_q4_K(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 144, y += QK_K) dequantize_scale_min(x, nullptr, x + 16, y);
}

void dequantize_q5_K(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 176, y += QK_K) dequantize_scale_min(x, x + 16, x + 48, y);
}

void dequantize_q6_K(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 210) {
    const float d = load_f16(x + 208);
    for (int h = 0; h < 2; ++h, y += 128) {
      const uint8_t* ql = x + 64 * h;
      const uint8_t* qh = x + 128 + 32 * h;
      const int8_t* sc = reinterpret_cast<const int8_t*>(x + 192 + 8 * h);
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * float(sc[is + 0]) * float(q1);
        y[l + 32] = d * float(sc[is + 2]) * float(q2);
        y[l + 64] = d * float(sc[is + 4]) * float(q3);
        y[l + 96] = d * float(sc[is + 6]) * float(q4);
      }
    }
  }
}

void dequantize_q8_K(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 292, y += QK_K) {
    const float d = load<float>(x);
    for (int j = 0; j < QK_K; ++j) y[j] = d * float(int8_t(x[4 + j]));
  }
}

}  // namespace smolvlm::quant_impl
