// matmul: ggml's golden vec_dot results (golden/quant) on every ISA this CPU has, the activation
// quantizers against ggml's bytes, the block decoder against the quant layer's dequantizer, and
// the errors for unsupported types and shapes.
#include <bit>
#include <cmath>
#include <string>
#include <vector>

#include "base/error.h"
#include "kernels/matmul.h"
#include "kernels/matmul_act.h"
#include "kernels/matmul_blocks.h"
#include "kernels/matmul_impl.h"
#include "quant/quant.h"
#include "support/testing.h"

namespace smolvlm::kernels {
namespace {

using smolvlm::testing::load_npy;
using smolvlm::testing::shared_path;

struct IsaGuard {
  Isa saved = active_isa();
  ~IsaGuard() {
    force_isa(saved);
    mm::avx2_use_vnni(-1);
  }
};

// Every kernel set this CPU can run: scalar, AVX2 without and (where present) with VNNI (AVX-VNNI,
// or the EVEX twin on AVX-512 CPUs), AVX-512.
struct Path {
  Isa isa;
  int vnni;
  const char* name;
};
std::vector<Path> all_paths() {
  std::vector<Path> p{{Isa::kScalar, -1, "scalar"}};
  if (isa_supported(Isa::kAvx2)) {
    p.push_back({Isa::kAvx2, 0, "avx2"});
    if (mm::avx2_vnni_available()) p.push_back({Isa::kAvx2, 1, "avx2+vnni"});
  }
  if (isa_supported(Isa::kAvx512)) p.push_back({Isa::kAvx512, -1, "avx512"});
  return p;
}

struct GoldenCase {
  GgmlType type;
  const char* name;  // ggml spelling in file names
  GgmlType act;      // vec_dot_type
};

const GoldenCase kGolden[] = {
    {GgmlType::Q4_0, "q4_0", GgmlType::Q8_0}, {GgmlType::Q4_1, "q4_1", GgmlType::Q8_1},
    {GgmlType::Q5_0, "q5_0", GgmlType::Q8_0}, {GgmlType::Q5_1, "q5_1", GgmlType::Q8_1},
    {GgmlType::Q8_0, "q8_0", GgmlType::Q8_0}, {GgmlType::Q4_K, "q4_K", GgmlType::Q8_K},
    {GgmlType::Q5_K, "q5_K", GgmlType::Q8_K}, {GgmlType::Q6_K, "q6_K", GgmlType::Q8_K},
};
const char* kShapes[] = {"2x4352", "3x960", "4x256", "5x512", "6x576"};

std::string act_name(GgmlType t) {
  return t == GgmlType::Q8_0 ? "q8_0" : t == GgmlType::Q8_1 ? "q8_1" : "q8_K";
}
mm::ActType act_enum(GgmlType t) {
  return t == GgmlType::Q8_0 ? mm::ActType::Q8_0 : t == GgmlType::Q8_1 ? mm::ActType::Q8_1 : mm::ActType::Q8_K;
}

// The vec_dot goldens: our scalar and SIMD paths reproduce ggml's results bit for bit (they sum in
// its AVX2 order, see matmul_scalar.cpp), and our activation quantizer writes exactly ggml's bytes.
TEST(MatmulGolden, VecDotMatchesGgmlOnEveryIsa) {
  SMOLVLM_REQUIRE_SHARED("golden/quant/index.json");
  IsaGuard guard;
  ThreadPool pool(2);
  int checked = 0;
  for (const auto& gc : kGolden) {
    for (const char* shape : kShapes) {
      const auto dir = shared_path("golden/quant");
      const std::string s = shape;
      if (!std::filesystem::exists(dir / ("dot_" + std::string(gc.name) + "_" + s + ".npy"))) continue;
      const auto q = load_npy(dir / ("q_" + std::string(gc.name) + "_" + s + ".npy"));
      const auto deq = load_npy(dir / ("deq_" + std::string(gc.name) + "_" + s + ".npy")).f32();
      const auto dot = load_npy(dir / ("dot_" + std::string(gc.name) + "_" + s + ".npy")).f32();
      const auto act = load_npy(dir / ("act_" + s + ".npy")).f32();
      const auto qact = load_npy(dir / ("act_" + act_name(gc.act) + "_" + s + ".npy"));
      const int64_t rows = q.shape[0], cols = int64_t(act.size());
      SCOPED_TRACE(std::string(gc.name) + " " + s);

      // Activation bytes as ggml's from_float writes them.
      std::vector<uint8_t> mine(ggml_row_size(gc.act, cols));
      mm::quantize_act_row(act_enum(gc.act), act.data(), mine.data(), cols);
      ASSERT_EQ(mine, qact.data);

      std::vector<float> adeq(size_t(cols), 0.0f);
      dequantize_row(gc.act, qact.data.data(), adeq.data(), cols);
      // Two identical tokens: the second exercises the token loop of every kernel.
      std::vector<float> x(act);
      x.insert(x.end(), act.begin(), act.end());
      for (const Path& path : all_paths()) {
        force_isa(path.isa);
        mm::avx2_use_vnni(path.vnni);
        auto w = pack_weight({gc.type, rows, cols, q.data.data()});
        std::vector<float> y(size_t(2 * rows), NAN);
        matmul(*w, x.data(), 2, y.data(), pool);
        for (int64_t r = 0; r < rows; ++r) {
          EXPECT_EQ(y[size_t(r)], dot[size_t(r)]) << path.name << " row " << r;
          EXPECT_EQ(y[size_t(r)], y[size_t(rows + r)]) << path.name << " row " << r;
        }
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, 34);
}

// The decoded integer form reproduces the quant layer's (bit-exact ggml) dequantization.
TEST(MatmulBlocks, DecodeMatchesDequantize) {
  for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q4_K,
                     GgmlType::Q5_K, GgmlType::Q6_K}) {
    const auto& L = *mm::quant_layout(t);
    const int64_t n = 512;
    std::vector<float> x(n);
    uint32_t seed = 7;
    for (auto& v : x) {
      seed = seed * 1664525u + 1013904223u;
      v = float(int32_t(seed) >> 8) / float(1 << 23) * 3.0f;
    }
    std::vector<uint8_t> blocks(ggml_row_size(t, n));
    quantize_row(t, x.data(), blocks.data(), n);
    std::vector<float> ref(n);
    dequantize_row(t, blocks.data(), ref.data(), n);
    const size_t bb = ggml_type_info(t).type_size;
    for (int64_t b = 0; b < n / L.block; ++b) {
      mm::DecodedBlock D;
      mm::decode_block(t, blocks.data() + b * bb, D);
      for (int k = 0; k < L.block; ++k) {
        float v = 0;
        const int c = int(D.code[k]) - L.offset;
        switch (L.scales) {
          case mm::ScaleKind::kBlock: v = D.d * float(c) + (L.has_min ? D.m : 0.0f); break;
          case mm::ScaleKind::kK32Min: v = D.d * float(D.sc[k / 32]) * float(c) - D.m * float(D.mn[k / 32]); break;
          case mm::ScaleKind::kK16: v = D.d * float(D.sc[k / 16]) * float(c); break;
        }
        ASSERT_NEAR(v, ref[size_t(b * L.block + k)], 1e-6f * std::fabs(ref[size_t(b * L.block + k)]) + 1e-30f)
            << ggml_type_name(t) << " element " << b * L.block + k;
      }
    }
  }
}

// Activation preparation on every ISA: bit-identical to the scalar converters (which the golden
// test above ties to ggml), including rounding ties, zero blocks and repeated +-max, and the
// 4-token tiles hold the same codes as the rows.
TEST(MatmulActs, EveryIsaPreparesTheScalarBytes) {
  const int64_t cols = 512, n = 7;
  std::vector<float> x(size_t(n * cols));
  uint32_t seed = 99;
  for (auto& v : x) {
    seed = seed * 1664525u + 1013904223u;
    v = float(int32_t(seed) >> 8) / float(1 << 20);
  }
  // Token 1: amax 127 makes the Q8_0 multiplier exactly 1 and Q8_K's -1: halves are ties.
  for (int64_t i = 0; i < cols; ++i) x[size_t(cols + i)] = float(int(i % 64) - 32) + 0.5f;
  for (int64_t b = 0; b < cols / 32; ++b) x[size_t(cols + b * 32)] = (b % 2) ? 127.0f : -127.0f;
  for (int64_t i = 0; i < 256; ++i) x[size_t(2 * cols + i)] = 0.0f;  // a zero block and super-block
  x[size_t(3 * cols + 5)] = -9.0f;                                     // +-max: the first one wins
  x[size_t(3 * cols + 6)] = 9.0f;
  ThreadPool pool(2);
  for (GgmlType wt : {GgmlType::Q8_0, GgmlType::Q4_1, GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::F16, GgmlType::BF16}) {
    const mm::ActType at = mm::act_type_for(wt);
    mm::ActScratch ref_scratch;
    const mm::Acts ref = mm::prepare_acts(at, *mm::scalar_kernel(wt), x.data(), n, cols, ref_scratch, pool);
    for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
      if (!isa_supported(isa)) continue;
      const mm::Kernel* k = isa == Isa::kAvx2 ? mm::avx2_kernel(wt) : mm::avx512_kernel(wt);
      ASSERT_NE(k, nullptr);
      mm::ActScratch scratch;
      const mm::Acts a = mm::prepare_acts(at, *k, x.data(), n, cols, scratch, pool);
      SCOPED_TRACE(ggml_type_name(wt) + std::string(" ") + isa_name(isa));
      for (int64_t t = 0; t < n; ++t) {
        if (a.f) {
          for (int64_t i = 0; i < cols; ++i)
            ASSERT_EQ(a.f[t * a.f_stride + i], ref.f[t * ref.f_stride + i]) << "token " << t << " elem " << i;
          continue;
        }
        if (a.h) {  // bf16 codes (AVX512_BF16 kernel): the scalar rounding's bits
          for (int64_t i = 0; i < cols; ++i)
            ASSERT_EQ(uint32_t(a.h[t * a.h_stride + i]) << 16, std::bit_cast<uint32_t>(ref.f[t * ref.f_stride + i]))
                << "token " << t << " elem " << i;
          continue;
        }
        for (int64_t i = 0; i < cols; ++i) ASSERT_EQ(a.q[t * a.q_stride + i], ref.q[t * ref.q_stride + i]) << t << " " << i;
        const int64_t nblk = cols / mm::act_block(at);
        for (int64_t b = 0; b < nblk; ++b) {
          ASSERT_EQ(a.d[t * a.d_stride + b], ref.d[t * ref.d_stride + b]) << "token " << t << " block " << b;
          if (a.s) {
            ASSERT_EQ(a.s[t * a.d_stride + b], ref.s[t * ref.d_stride + b]);
          }
        }
        for (int64_t j = 0; j < (a.bsums ? cols / 16 : nblk); ++j) {
          if (a.bsums) {
            ASSERT_EQ(a.bsums[t * a.sums_stride + j], ref.bsums[t * ref.sums_stride + j]);
          }
          if (a.sums) {
            ASSERT_EQ(a.sums[t * a.sums_stride + j], ref.sums[t * ref.sums_stride + j]);
          }
        }
        ASSERT_NE(a.tq, nullptr);
        for (int64_t i = 0; i < cols; ++i)
          ASSERT_EQ(a.tq[(t / 4) * a.tq_stride + (i / 4) * 16 + 4 * (t % 4) + i % 4], ref.q[t * ref.q_stride + i]);
      }
      if (a.tq) {  // the padding token of the last tile is zero
        for (int64_t i = 0; i < cols; ++i) ASSERT_EQ(a.tq[1 * a.tq_stride + (i / 4) * 16 + 4 * 3 + i % 4], 0);
      }
    }
  }
}

TEST(MatmulErrors, UnsupportedTypesAndShapes) {
  std::vector<uint8_t> buf(1 << 16);
  for (GgmlType t : {GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::IQ4_NL, GgmlType::Q8_K, GgmlType::Q8_1, GgmlType::I8,
                     GgmlType::F64, GgmlType::TQ1_0}) {
    EXPECT_FALSE(matmul_supports(t)) << ggml_type_name(t);
    try {
      pack_weight({t, 4, 256, buf.data()});
      ADD_FAILURE() << "accepted " << ggml_type_name(t);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(ggml_type_name(t)), std::string::npos) << e.what();
    }
  }
  for (GgmlType t : {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0,
                     GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K})
    EXPECT_TRUE(matmul_supports(t)) << ggml_type_name(t);
  EXPECT_THROW(pack_weight({GgmlType::Q8_0, 4, 48, buf.data()}), Error);   // not a multiple of 32
  EXPECT_THROW(pack_weight({GgmlType::Q4_K, 4, 576, buf.data()}), Error);  // not a multiple of 256
  EXPECT_THROW(pack_weight({GgmlType::F32, 0, 16, buf.data()}), Error);
  EXPECT_THROW(pack_weight({GgmlType::F32, 4, 16, nullptr}), Error);
  try {
    pack_weight({GgmlType::Q6_K, 2, 576, buf.data()});
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("576"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace smolvlm::kernels
