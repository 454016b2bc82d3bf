// Quant layer without golden data: argument checks, hand-computed blocks (layouts and ggml's
// rounding rules), zeros, round-trip accuracy, and quantize_rows threading.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "base/error.h"
#include "base/fp16.h"
#include "quant/quant.h"
#include "support/testing.h"

namespace smolvlm {
namespace {

const GgmlType kAll[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q4_0, GgmlType::Q4_1,
                         GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q8_1, GgmlType::Q4_K,
                         GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::Q8_K};

int64_t block_of(GgmlType t) { return ggml_type_info(t).block_size; }

std::vector<float> normal(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

std::vector<uint8_t> quantize(GgmlType t, const std::vector<float>& x) {
  std::vector<uint8_t> q(ggml_row_size(t, int64_t(x.size())));
  quantize_row(t, x.data(), q.data(), int64_t(x.size()));
  return q;
}

std::vector<float> dequantize(GgmlType t, const std::vector<uint8_t>& q, size_t n) {
  std::vector<float> y(n);
  dequantize_row(t, q.data(), y.data(), int64_t(n));
  return y;
}

TEST(Quant, SupportedTypes) {
  for (GgmlType t : kAll) {
    EXPECT_TRUE(can_quantize(t)) << ggml_type_name(t);
    EXPECT_TRUE(can_dequantize(t)) << ggml_type_name(t);
  }
  for (GgmlType t : {GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::IQ4_NL, GgmlType::I8, GgmlType::MXFP4}) {
    EXPECT_FALSE(can_quantize(t)) << ggml_type_name(t);
    EXPECT_FALSE(can_dequantize(t)) << ggml_type_name(t);
    float x[256] = {};
    uint8_t q[1024];
    EXPECT_THROW(quantize_row(t, x, q, 256), Error);
    EXPECT_THROW(dequantize_row(t, q, x, 256), Error);
  }
  float x[32] = {};
  uint8_t q[64];
  EXPECT_THROW(quantize_row(static_cast<GgmlType>(4), x, q, 32), Error);  // an id no ggml defines
}

TEST(Quant, LengthNotAMultipleOfTheBlockSizeThrows) {
  std::vector<float> x(1024, 1.0f);
  std::vector<uint8_t> q(4096);
  for (GgmlType t : kAll) {
    const int64_t b = block_of(t);
    if (b == 1) continue;
    for (int64_t n : {b - 1, b + 1, 3 * b + b / 2, int64_t(-b)}) {
      EXPECT_THROW(quantize_row(t, x.data(), q.data(), n), Error) << ggml_type_name(t) << " n=" << n;
      EXPECT_THROW(dequantize_row(t, q.data(), x.data(), n), Error) << ggml_type_name(t) << " n=" << n;
      EXPECT_THROW(quantize_rows(t, x.data(), q.data(), 1, n, 1), Error) << ggml_type_name(t) << " n=" << n;
    }
  }
  EXPECT_THROW(quantize_rows(GgmlType::Q8_0, x.data(), q.data(), -1, 32, 1), Error);
  // The message names the type and the block size.
  try {
    quantize_row(GgmlType::Q4_K, x.data(), q.data(), 300);
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Q4_K"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("256"), std::string::npos) << e.what();
  }
}

TEST(Quant, EmptyRowIsANoOp) {
  for (GgmlType t : kAll) {
    EXPECT_NO_THROW(quantize_row(t, nullptr, nullptr, 0)) << ggml_type_name(t);
    EXPECT_NO_THROW(dequantize_row(t, nullptr, nullptr, 0)) << ggml_type_name(t);
    EXPECT_NO_THROW(quantize_rows(t, nullptr, nullptr, 0, block_of(t), 2)) << ggml_type_name(t);
  }
}

TEST(Quant, NonFiniteInputIsRejectedByBlockTypes) {
  for (float bad : {NAN, INFINITY, -INFINITY}) {
    std::vector<float> x(512, 0.5f);
    x[300] = bad;
    std::vector<uint8_t> q(4096);
    for (GgmlType t : kAll) {
      if (block_of(t) == 1) {  // float types pass inf / NaN through
        EXPECT_NO_THROW(quantize_row(t, x.data(), q.data(), 512));
        continue;
      }
      EXPECT_THROW(quantize_row(t, x.data(), q.data(), 512), Error) << ggml_type_name(t);
      try {
        quantize_rows(t, x.data(), q.data(), 2, 256, 2);
        ADD_FAILURE() << "no exception for " << ggml_type_name(t);
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("row 1, element 44"), std::string::npos) << e.what();
      }
    }
  }
}

TEST(Quant, ZerosRoundTripToZeros) {
  const std::vector<float> x(512, 0.0f);
  for (GgmlType t : kAll) {
    const auto y = dequantize(t, quantize(t, x), x.size());
    for (size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], 0.0f) << ggml_type_name(t) << " at " << i;
  }
}

// Relative RMS error of the round trip on normal data (and no NaN / inf), per type.
TEST(Quant, RoundTripAccuracy) {
  const struct {
    GgmlType t;
    double max_rel_rmse;
  } cases[] = {{GgmlType::F32, 0.0},     {GgmlType::F16, 5e-4},   {GgmlType::BF16, 3e-3},  {GgmlType::Q8_0, 0.01},
               {GgmlType::Q8_1, 0.01},   {GgmlType::Q8_K, 0.01},  {GgmlType::Q6_K, 0.025}, {GgmlType::Q5_0, 0.05},
               {GgmlType::Q5_1, 0.045},  {GgmlType::Q5_K, 0.045}, {GgmlType::Q4_0, 0.10},  {GgmlType::Q4_1, 0.09},
               {GgmlType::Q4_K, 0.085}};  // measured: 2e-4 1.6e-3 5.2e-3 5.2e-3 6.7e-3 .018 .042 .037 .036 .084 .077 .071
  const auto x = normal(4096, 7, 0.02f);
  double norm = 0;
  for (float v : x) norm += double(v) * v;
  for (const auto& c : cases) {
    const auto y = dequantize(c.t, quantize(c.t, x), x.size());
    double err = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_TRUE(std::isfinite(y[i])) << ggml_type_name(c.t) << " at " << i;
      err += (double(y[i]) - x[i]) * (double(y[i]) - x[i]);
    }
    const double rel = std::sqrt(err / norm);
    EXPECT_LE(rel, c.max_rel_rmse) << ggml_type_name(c.t);
    if (c.t != GgmlType::F32) {
      EXPECT_GT(rel, 0.0) << ggml_type_name(c.t);  // it did quantize
    }
  }
}

// Q4_0 by hand: max = -8 gives d = 1, so code = x + 8; weight j in the low nibble of qs[j], weight
// j + 16 in the high nibble.
TEST(Quant, Q4_0BlockLayout) {
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = float(j % 16 - 8);
  const auto q = quantize(GgmlType::Q4_0, x);
  ASSERT_EQ(q.size(), 18u);
  EXPECT_EQ(q[0] | q[1] << 8, 0x3C00);  // fp16 1.0
  for (int j = 0; j < 16; ++j) EXPECT_EQ(q[2 + j], j | j << 4) << j;
  EXPECT_EQ(dequantize(GgmlType::Q4_0, q, 32), x);
}

// Q5_1 by hand: min 0, max 31 -> d = 1, m = 0, code = x; fifth bits in the u32 qh.
TEST(Quant, Q5_1BlockLayout) {
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = float(31 - j);
  const auto q = quantize(GgmlType::Q5_1, x);
  ASSERT_EQ(q.size(), 24u);
  EXPECT_EQ(q[0] | q[1] << 8, 0x3C00);
  EXPECT_EQ(q[2] | q[3] << 8, 0);
  uint32_t qh;
  std::memcpy(&qh, q.data() + 4, 4);
  EXPECT_EQ(qh, 0x0000FFFFu);  // weights 0..15 are 31..16
  for (int j = 0; j < 16; ++j) EXPECT_EQ(q[8 + j], ((31 - j) & 15) | (((15 - j) & 15) << 4)) << j;
  EXPECT_EQ(dequantize(GgmlType::Q5_1, q, 32), x);
}

// Q8_0 rounds with roundf (ties away from zero); Q8_K with nearest_int (ties to even) and a
// negative iscale = -127 / max.
TEST(Quant, Q8RoundingRules) {
  std::vector<float> x(256, 0.0f);
  x[0] = 127.0f;  // d = 1 for Q8_0; iscale = -1 for Q8_K
  x[1] = 2.5f;
  x[2] = -2.5f;
  x[3] = 3.5f;
  x[4] = 0.5f;
  const auto q8 = quantize(GgmlType::Q8_0, x);
  EXPECT_EQ(q8[0] | q8[1] << 8, 0x3C00);
  EXPECT_EQ(int8_t(q8[2]), 127);
  EXPECT_EQ(int8_t(q8[3]), 3);
  EXPECT_EQ(int8_t(q8[4]), -3);
  EXPECT_EQ(int8_t(q8[5]), 4);
  EXPECT_EQ(int8_t(q8[6]), 1);

  const auto qk = quantize(GgmlType::Q8_K, x);
  ASSERT_EQ(qk.size(), 292u);
  float d;
  std::memcpy(&d, qk.data(), 4);
  EXPECT_EQ(d, -1.0f);
  EXPECT_EQ(int8_t(qk[4]), -127);
  EXPECT_EQ(int8_t(qk[5]), -2);
  EXPECT_EQ(int8_t(qk[6]), 2);
  EXPECT_EQ(int8_t(qk[7]), -4);
  EXPECT_EQ(int8_t(qk[8]), 0);
  int16_t bsum0;
  std::memcpy(&bsum0, qk.data() + 260, 2);
  EXPECT_EQ(bsum0, -127 - 2 + 2 - 4);
}

// Q8_1 stores s = fp16(sum(q) * d) after d, with the fp32 d = amax / 127 (not the stored fp16 d).
TEST(Quant, Q8_1Sum) {
  const auto x = normal(64, 3);
  const auto q = quantize(GgmlType::Q8_1, x);
  ASSERT_EQ(q.size(), 72u);
  for (int b = 0; b < 2; ++b) {
    const uint8_t* blk = q.data() + 36 * b;
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[32 * b + j]));
    const float d = amax / 127.0f;
    EXPECT_EQ(uint16_t(blk[0] | blk[1] << 8), fp32_to_fp16(d));
    int sum = 0;
    for (int j = 0; j < 32; ++j) sum += int8_t(blk[4 + j]);
    EXPECT_EQ(uint16_t(blk[2] | blk[3] << 8), fp32_to_fp16(float(sum) * d));
  }
}

TEST(Quant, FloatConversionsMatchFp16Helpers) {
  auto x = normal(64, 5, 1000.0f);
  x[0] = 1e-7f;  // fp16 subnormal
  x[1] = 70000.0f;
  x[2] = -INFINITY;
  const auto h = quantize(GgmlType::F16, x);
  const auto b = quantize(GgmlType::BF16, x);
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(uint16_t(h[2 * i] | h[2 * i + 1] << 8), fp32_to_fp16(x[i])) << i;
    EXPECT_EQ(uint16_t(b[2 * i] | b[2 * i + 1] << 8), fp32_to_bf16(x[i])) << i;
  }
  const auto f = quantize(GgmlType::F32, x);
  EXPECT_EQ(dequantize(GgmlType::F32, f, x.size()), x);
  EXPECT_EQ(dequantize(GgmlType::F16, h, x.size())[3], fp16_to_fp32(fp32_to_fp16(x[3])));
}

// Degenerate but finite input (FLT_MAX, subnormals, huge dynamic range) and arbitrary block bytes
// must not crash or hit undefined behaviour (run under the sanitizer build).
TEST(Quant, ExtremeValuesAndArbitraryBytesAreSafe) {
  const float big = std::numeric_limits<float>::max(), tiny = std::numeric_limits<float>::denorm_min();
  const std::vector<std::vector<float>> rows = {
      std::vector<float>(256, big), std::vector<float>(256, -big), std::vector<float>(256, tiny),
      std::vector<float>(256, 1e-39f), [&] {
        std::vector<float> v(256, tiny);
        for (size_t i = 0; i < v.size(); i += 3) v[i] = (i % 2 ? big : -big);
        return v;
      }()};
  for (GgmlType t : kAll) {
    for (const auto& x : rows) EXPECT_NO_THROW(dequantize(t, quantize(t, x), x.size())) << ggml_type_name(t);
  }
  std::mt19937 rng(1);
  std::vector<uint8_t> bytes(4096);
  for (auto& b : bytes) b = uint8_t(rng());
  std::vector<float> y(512);
  for (GgmlType t : kAll) EXPECT_NO_THROW(dequantize_row(t, bytes.data(), y.data(), 512)) << ggml_type_name(t);
}

// quantize_rows on 1, 2 and 5 threads == row-by-row quantize_row, for every type.
TEST(Quant, QuantizeRowsIsThreadCountIndependent) {
  const int64_t rows = 37, cols = 512;
  auto x = normal(size_t(rows * cols), 11);
  for (int64_t r = 0; r < rows; r += 5) std::fill(x.begin() + r * cols, x.begin() + r * cols + 100, 0.0f);
  for (GgmlType t : kAll) {
    const size_t row_bytes = ggml_row_size(t, cols);
    std::vector<uint8_t> want(row_bytes * rows);
    for (int64_t r = 0; r < rows; ++r) quantize_row(t, x.data() + r * cols, want.data() + r * row_bytes, cols);
    for (int threads : {1, 2, 5}) {
      std::vector<uint8_t> got(want.size(), 0xAA);
      quantize_rows(t, x.data(), got.data(), rows, cols, threads);
      EXPECT_EQ(got, want) << ggml_type_name(t) << " threads=" << threads;
    }
  }
}

}  // namespace
}  // namespace smolvlm
