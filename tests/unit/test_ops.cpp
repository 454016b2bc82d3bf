// ops.h: the scalar reference against double-precision formulas (and ggml's operation order where
// it matters), then every ISA this CPU has (forced one by one) against the scalar reference on
// awkward sizes. Measured worst errors are printed as "[measured] ..."; on the AVX-512 build
// machine (AVX2 and AVX-512 alike), relative to the scalar reference: rms_norm 0, layer_norm 0,
// softmax 1.9e-7, gelu_tanh 3.0e-7; the vector exp is within 1 ulp of the correctly
// rounded e^x. rope_norm and silu_mul follow ggml's float operations (its fused RoPE expressions,
// its vector exp) on every ISA, so they are bit-identical to the reference.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

#include "base/error.h"
#include "base/fp16.h"
#include "kernels/ops.h"
#include "kernels/ops_internal.h"
#include "quant/quant.h"
#include "support/testing.h"
#include "test_ops_util.h"

namespace smolvlm {
namespace {

using kernels::Isa;
using testing::ForceIsa;
using testing::random_normal;
using testing::random_uniform;
using testing::supported_isas;

const int64_t kSizes[] = {1, 7, 64, 576, 1000};
const kernels::detail::OpsTable& ref() { return kernels::detail::ops_table(Isa::kScalar); }

// Worst |a - b| / (|b| + floor) over two arrays.
double max_rel(const std::vector<float>& a, const std::vector<float>& b, double floor = 0.0) {
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::fabs(double(a[i]) - double(b[i])) / (std::fabs(double(b[i])) + floor));
  return worst;
}

void report(const char* what, Isa isa, double err) {
  std::printf("[measured] %-12s %-6s max rel err vs scalar %.3g\n", what, kernels::isa_name(isa), err);
}

// ---- the scalar reference against float64 ------------------------------------------------

TEST(OpsReference, RmsNormMatchesDouble) {
  const int64_t dim = 576;
  const auto x = random_normal(2 * dim, 1, 0.0f, 3.0f), w = random_normal(dim, 2);
  std::vector<float> y(x.size());
  ref().rms_norm(x.data(), w.data(), 1e-5f, 2, dim, y.data());
  for (int64_t r = 0; r < 2; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < dim; ++i) ss += double(x[r * dim + i]) * x[r * dim + i];
    const double scale = 1.0 / std::sqrt(ss / dim + 1e-5);
    for (int64_t i = 0; i < dim; ++i) {
      const double want = x[r * dim + i] * scale * w[i];
      EXPECT_NEAR(y[r * dim + i], want, 1e-6 * std::fabs(want) + 1e-30);
    }
  }
}

TEST(OpsReference, LayerNormMatchesDouble) {
  const int64_t dim = 1000;
  const auto x = random_normal(dim, 3, 2.0f, 3.0f), w = random_normal(dim, 4), b = random_normal(dim, 5);
  std::vector<float> y(dim);
  ref().layer_norm(x.data(), w.data(), b.data(), 1e-6f, 1, dim, y.data());
  double mean = 0, var = 0;
  for (float v : x) mean += v;
  mean /= dim;
  for (float v : x) var += (v - mean) * (v - mean);
  var /= dim;
  for (int64_t i = 0; i < dim; ++i) {
    const double want = (x[i] - mean) / std::sqrt(var + 1e-6) * w[i] + b[i];
    EXPECT_NEAR(y[i], want, 1e-5 * (std::fabs(w[i]) + std::fabs(b[i])));
  }
}

// RoPE NORM: angles as ggml_rope_cache_init builds them (float recurrence); at small positions
// they agree with the exact angle pos * base^(-2i/n_rot) to float precision.
TEST(OpsReference, RopeNormAnglesAndPairs) {
  const int64_t heads = 3, hd = 64, n_rot = 64;
  const int32_t pos[] = {0, 1, 17, 300};
  const auto x0 = random_normal(4 * heads * hd, 6);
  auto x = x0;
  ForceIsa force(Isa::kScalar);
  kernels::rope_norm(x.data(), 4, heads, hd, n_rot, pos, 100000.0f);
  const float theta_scale = std::pow(100000.0f, -2.0f / n_rot);
  for (int t = 0; t < 4; ++t) {
    float theta = float(pos[t]);
    for (int64_t i = 0; i < n_rot; i += 2, theta *= theta_scale) {
      const double exact = pos[t] * std::pow(100000.0, -double(i) / n_rot);
      if (pos[t] <= 17) {
        EXPECT_NEAR(theta, exact, 4e-6 * std::max(1.0, exact));
      }
      for (int64_t h = 0; h < heads; ++h) {
        const size_t o = (t * heads + h) * hd + i;
        const double c = std::cos(double(theta)), s = std::sin(double(theta));
        EXPECT_NEAR(x[o], x0[o] * c - x0[o + 1] * s, 1e-6);
        EXPECT_NEAR(x[o + 1], x0[o] * s + x0[o + 1] * c, 1e-6);
      }
    }
  }
  // Position 0 is the identity; dims past n_rot are untouched.
  for (int64_t i = 0; i < heads * hd; ++i) EXPECT_EQ(x[i], x0[i]);
  auto y = x0;
  kernels::rope_norm(y.data(), 4, heads, hd, 32, pos, 10000.0f);
  for (int t = 0; t < 4; ++t)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 32; i < hd; ++i) EXPECT_EQ(y[(t * heads + h) * hd + i], x0[(t * heads + h) * hd + i]);
  EXPECT_THROW(kernels::rope_norm(y.data(), 1, heads, hd, 63, pos, 1e4f), Error);
  EXPECT_THROW(kernels::rope_norm(y.data(), 1, heads, hd, 66, pos, 1e4f), Error);
}

TEST(OpsReference, ElementwiseMatchDouble) {
  const auto x = random_uniform(1000, 7, -12.0f, 12.0f), u = random_normal(1000, 8);
  auto sm = x;
  ref().softmax(sm.data(), 1000);
  double mx = -1e30, sum = 0;
  for (float v : x) mx = std::max(mx, double(v));
  for (float v : x) sum += std::exp(v - mx);
  std::vector<float> silu(1000), gelu = x;
  ref().silu_mul(x.data(), u.data(), silu.data(), 1000);
  ref().gelu_tanh(gelu.data(), 1000);
  for (int i = 0; i < 1000; ++i) {
    const double p = std::exp(x[i] - mx) / sum;
    EXPECT_NEAR(sm[i], p, 2e-6 * p);
    const double s = x[i] / (1 + std::exp(-double(x[i]))) * u[i];
    EXPECT_NEAR(silu[i], s, 2e-6 * std::fabs(s) + 1e-30);
    const double v = x[i];
    const double g = 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
    // The literal formula cancels in 1 + tanh for x << 0: error ~ 6e-8 |x| absolute.
    EXPECT_NEAR(gelu[i], g, 2e-6 * std::fabs(g) + 1e-7 * std::fabs(v));
  }
}

TEST(OpsReference, EmbedRowsDequantizesAndChecksIds) {
  const int64_t rows = 5, cols = 64;
  const auto w = random_normal(rows * cols, 9);
  for (GgmlType t : {GgmlType::F32, GgmlType::F16, GgmlType::Q8_0, GgmlType::Q4_0}) {
    std::vector<uint8_t> q(ggml_row_size(t, cols) * rows);
    quantize_rows(t, w.data(), q.data(), rows, cols, 1);
    const kernels::WeightView table{t, rows, cols, q.data()};
    const int32_t ids[] = {4, 0, 4, 2};
    std::vector<float> out(4 * cols), want(cols);
    kernels::embed_rows(table, ids, 4, out.data());
    for (int i = 0; i < 4; ++i) {
      dequantize_row(t, q.data() + ids[i] * ggml_row_size(t, cols), want.data(), cols);
      for (int64_t c = 0; c < cols; ++c) ASSERT_EQ(out[i * cols + c], want[c]) << ggml_type_name(t);
    }
    const int32_t bad[] = {1, 5};
    EXPECT_THROW(kernels::embed_rows(table, bad, 2, out.data()), Error);
    const int32_t neg[] = {-1};
    EXPECT_THROW(kernels::embed_rows(table, neg, 1, out.data()), Error);
  }
  const kernels::WeightView odd{GgmlType::Q8_0, 2, 40, w.data()};
  const int32_t id0[] = {0};
  std::vector<float> out(40);
  EXPECT_THROW(kernels::embed_rows(odd, id0, 1, out.data()), Error);
}

TEST(OpsReference, StoreRowRejectsOtherTypes) {
  float x[4] = {1, 2, 3, 4};
  uint8_t dst[64];
  EXPECT_THROW(kernels::store_row(GgmlType::Q8_0, x, dst, 4), Error);
  kernels::store_row(GgmlType::F32, x, dst, 4);
  EXPECT_EQ(std::memcmp(dst, x, sizeof x), 0);
}

// ---- every ISA against the scalar reference ------------------------------------------------

TEST(OpsIsa, NormsAndRope) {
  for (Isa isa : supported_isas()) {
    ForceIsa force(isa);
    double e_rms = 0, e_ln = 0, e_rope = 0;
    for (int64_t dim : kSizes) {
      const int64_t rows = 3;
      const auto x = random_normal(rows * dim, 10 + dim, 0.5f, 2.0f), w = random_normal(dim, 11);
      const auto b = random_normal(dim, 12);
      std::vector<float> y(x.size()), want(x.size());
      kernels::rms_norm(x.data(), w.data(), 1e-5f, rows, dim, y.data());
      ref().rms_norm(x.data(), w.data(), 1e-5f, rows, dim, want.data());
      e_rms = std::max(e_rms, max_rel(y, want, 1e-30));
      auto inplace = x;  // aliasing x == y
      kernels::rms_norm(inplace.data(), w.data(), 1e-5f, rows, dim, inplace.data());
      EXPECT_EQ(inplace, y);
      kernels::layer_norm(x.data(), w.data(), b.data(), 1e-6f, rows, dim, y.data());
      ref().layer_norm(x.data(), w.data(), b.data(), 1e-6f, rows, dim, want.data());
      // LayerNorm ends in "+ b", which can cancel: relative to |w| + |b| per element.
      for (size_t i = 0; i < y.size(); ++i) {
        const double err = std::fabs(double(y[i]) - want[i]) / (std::fabs(w[i % dim]) + std::fabs(b[i % dim]) + 1e-30);
        e_ln = std::max(e_ln, err);
      }
      // RoPE over heads of `dim` floats (even dims only), every position pattern.
      if (dim % 2 == 0) {
        const int32_t pos[] = {0, 5, 1000, 8191};
        const auto q0 = random_normal(4 * 2 * dim, 13 + dim);
        auto got = q0, exp = q0;
        kernels::rope_norm(got.data(), 4, 2, dim, dim, pos, 10000.0f);
        {
          ForceIsa s(Isa::kScalar);
          kernels::rope_norm(exp.data(), 4, 2, dim, dim, pos, 10000.0f);
        }
        e_rope = std::max(e_rope, max_rel(got, exp, 1.0));
      }
    }
    report("rms_norm", isa, e_rms);
    report("layer_norm", isa, e_ln);
    report("rope_norm", isa, e_rope);
    EXPECT_LE(e_rms, 1e-6) << kernels::isa_name(isa);
    EXPECT_LE(e_ln, 1e-6) << kernels::isa_name(isa);
    EXPECT_EQ(e_rope, 0.0) << kernels::isa_name(isa);
  }
}

TEST(OpsIsa, ExpBasedOps) {
  for (Isa isa : supported_isas()) {
    ForceIsa force(isa);
    double e_sm = 0, e_silu = 0, e_gelu = 0;
    for (int64_t n : kSizes) {
      // softmax: a wide spread of logits, so many probabilities are tiny.
      const auto x = random_normal(n, 20 + n, 0.0f, 8.0f);
      auto got = x, want = x;
      kernels::softmax(got.data(), n);
      ref().softmax(want.data(), n);
      e_sm = std::max(e_sm, max_rel(got, want, 1e-30));
      // silu_mul: gates over the whole useful range and beyond.
      auto g = random_uniform(n, 30 + n, -30.0f, 30.0f);
      if (n >= 7) g[0] = -100.0f, g[1] = 100.0f, g[2] = 0.0f, g[3] = -1e-8f, g[4] = -87.5f, g[5] = 88.5f, g[6] = -150.0f;
      const auto u = random_normal(n, 40 + n);
      std::vector<float> y(n), yw(n);
      kernels::silu_mul(g.data(), u.data(), y.data(), n);
      ref().silu_mul(g.data(), u.data(), yw.data(), n);
      e_silu = std::max(e_silu, max_rel(y, yw, 1e-30));
      // gelu: the scalar reference cancels in 1 + tanh for x << 0 (~6e-8 |x| absolute error).
      const auto h0 = random_uniform(n, 50 + n, -10.0f, 10.0f);
      auto h = h0, hw = h0;
      kernels::gelu_tanh(h.data(), n);
      ref().gelu_tanh(hw.data(), n);
      for (int64_t i = 0; i < n; ++i)
        e_gelu = std::max(e_gelu, std::fabs(double(h[i]) - hw[i]) / (std::fabs(hw[i]) + 0.05 * std::fabs(h0[i]) + 1e-30));
    }
    // silu_mul over a dense sweep of gates through ggml's whole exp range (and past it, where e^x
    // over- and underflows): the SIMD ggml exp gives the scalar one's bits everywhere.
    {
      std::vector<float> g(24001), u(g.size(), 1.0f), y(g.size()), yw(g.size());
      for (size_t i = 0; i < g.size(); ++i) g[i] = -120.0f + 0.01f * float(i);
      kernels::silu_mul(g.data(), u.data(), y.data(), int64_t(g.size()));
      ref().silu_mul(g.data(), u.data(), yw.data(), int64_t(g.size()));
      for (size_t i = 0; i < g.size(); ++i)
        ASSERT_EQ(std::bit_cast<uint32_t>(y[i]), std::bit_cast<uint32_t>(yw[i])) << kernels::isa_name(isa) << " g " << g[i];
    }
    report("softmax", isa, e_sm);
    report("silu_mul", isa, e_silu);
    report("gelu_tanh", isa, e_gelu);
    EXPECT_LE(e_sm, 2e-6) << kernels::isa_name(isa);
    EXPECT_EQ(e_silu, 0.0) << kernels::isa_name(isa);
    EXPECT_LE(e_gelu, 2e-6) << kernels::isa_name(isa);
  }
}

// The vector exp behind softmax, silu_mul, gelu_tanh and attention, in ulps of the correctly
// rounded result, over the whole range where e^x is a normal float; and its special values.
TEST(OpsIsa, ExpAccuracyInUlps) {
  std::vector<float> x;
  for (double v = -87.3; v < 88.7; v += 1.3e-3) x.push_back(float(v));
  for (int i = 0; i < 2000; ++i) x.push_back(std::ldexp(float(i), -20));  // near 0
  std::vector<float> y(x.size());
  for (Isa isa : supported_isas()) {
    kernels::detail::ops_table(isa).exp(x.data(), y.data(), int64_t(x.size()));
    int64_t worst = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const float want = float(std::exp(double(x[i])));
      const int64_t ulps = std::abs(int64_t(std::bit_cast<int32_t>(y[i])) - std::bit_cast<int32_t>(want));
      worst = std::max(worst, ulps);
    }
    std::printf("[measured] exp          %-6s max error %lld ulp\n", kernels::isa_name(isa), (long long)worst);
    EXPECT_LE(worst, 2) << kernels::isa_name(isa);
    const float inf = std::numeric_limits<float>::infinity();
    const float special[] = {-inf, inf, -100.0f, 100.0f, 0.0f, std::numeric_limits<float>::quiet_NaN(), 88.8f};
    float out[7];
    kernels::detail::ops_table(isa).exp(special, out, 7);
    EXPECT_EQ(out[0], 0.0f);
    EXPECT_EQ(out[1], inf);
    EXPECT_LT(out[2], std::numeric_limits<float>::min());  // subnormal, or flushed to 0 (SIMD)
    EXPECT_GE(out[2], 0.0f);
    EXPECT_EQ(out[3], inf);
    EXPECT_EQ(out[4], 1.0f);
    EXPECT_TRUE(std::isnan(out[5]));
    EXPECT_EQ(out[6], inf);
  }
}

TEST(OpsIsa, AddAndScaleAdd) {
  for (Isa isa : supported_isas()) {
    ForceIsa force(isa);
    for (int64_t n : kSizes) {
      const auto x = random_normal(n, 60 + n), y0 = random_normal(n, 70 + n);
      auto y = y0, yw = y0;
      kernels::add(y.data(), x.data(), n);
      ref().add(yw.data(), x.data(), n);
      EXPECT_EQ(y, yw);
      y = y0, yw = y0;
      kernels::scale_add(y.data(), x.data(), 0.37f, n);
      ref().scale_add(yw.data(), x.data(), 0.37f, n);
      for (int64_t i = 0; i < n; ++i)  // SIMD may fuse the multiply-add: one rounding less
        EXPECT_NEAR(y[i], yw[i], 2.4e-7 * (std::fabs(y0[i]) + 0.37 * std::fabs(x[i]))) << kernels::isa_name(isa);
    }
  }
}

// fp16 conversions are exact operations: bit-identical on every ISA, specials included.
TEST(OpsIsa, Fp16ConversionsBitExact) {
  std::vector<uint16_t> all(65536);
  for (uint32_t i = 0; i < 65536; ++i) all[i] = uint16_t(i);
  std::vector<float> f = random_normal(100000, 80, 0.0f, 1000.0f);
  const float special[] = {0.0f, -0.0f, 65504.0f, 65519.99f, 65520.0f, 1e-8f, -3e-5f, 6.1e-5f,
                           std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                           std::numeric_limits<float>::quiet_NaN(), std::bit_cast<float>(0x33000001u),
                           std::bit_cast<float>(0x38801000u), std::bit_cast<float>(0x3f801000u)};
  for (size_t i = 0; i < std::size(special); ++i) f[i] = special[i];
  for (size_t i = 20; i < 2000; ++i) f[i] = std::ldexp(f[i], -int(i % 30));  // subnormal range
  for (Isa isa : supported_isas()) {
    const auto& k = kernels::detail::ops_table(isa);
    std::vector<float> wide(65536);
    k.f16_to_f32(all.data(), wide.data(), 65536);
    for (uint32_t i = 0; i < 65536; ++i) {
      const float want = fp16_to_fp32(uint16_t(i));
      if (std::isnan(want)) {  // F16C quiets signalling NaNs; any NaN is fine
        ASSERT_TRUE(std::isnan(wide[i])) << kernels::isa_name(isa) << " half 0x" << std::hex << i;
        continue;
      }
      ASSERT_EQ(std::bit_cast<uint32_t>(wide[i]), std::bit_cast<uint32_t>(want))
          << kernels::isa_name(isa) << " half 0x" << std::hex << i;
    }
    for (int64_t n : kSizes) {
      std::vector<uint16_t> h(n);
      ForceIsa force(isa);
      kernels::store_row(GgmlType::F16, f.data() + 3, h.data(), n);
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(h[i], fp32_to_fp16(f[3 + i])) << kernels::isa_name(isa) << " n " << n;
    }
    std::vector<uint16_t> h(f.size());
    k.f32_to_f16(f.data(), h.data(), int64_t(f.size()));
    for (size_t i = 0; i < f.size(); ++i)
      ASSERT_EQ(h[i], fp32_to_fp16(f[i])) << kernels::isa_name(isa) << " float " << f[i];
  }
}

}  // namespace
}  // namespace smolvlm
