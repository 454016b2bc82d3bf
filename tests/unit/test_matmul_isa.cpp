// matmul: every weight type x every ISA this CPU has (forced one by one) against the scalar
// reference, on random matrices of awkward shapes, token counts and thread counts, and
// (MatmulBlocking) bit-identical results however the work is split into blocks, tasks and tiles.
// SumOrder::kGgml, integer block types and F32/F16: bit-identical (every ISA sums in ggml's order,
// as the scalar reference does). SumOrder::kFastest (one integer sum per block; AVX2's 8-lane float
// kernels) and BF16, relative to sum_k |w[r,k] * x[t,k]|: integer types 2e-6 (the block sums are
// exact; only the f32 order of the per-block scaling differs), float types 1e-5 (f32 sums of up to
// 4352 products in a different order than the reference's; the products themselves are exact:
// fp16/bf16 x fp16/bf16 fits f32, and AVX512_BF16's vdpbf16ps adds the same bf16 x bf16 products
// as the reference). Types with a min (Q4_1, Q5_1, Q4_K, Q5_K) sum two terms that can cancel, so
// their magnitude also counts |min| * |x| (ggml's own Q4_1 result is only that accurate).
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/matmul_blocks.h"
#include "kernels/matmul_impl.h"
#include "quant/quant.h"
#include "support/testing.h"

namespace smolvlm::kernels {
namespace {

struct IsaGuard {
  Isa saved = active_isa();
  ~IsaGuard() {
    force_isa(saved);
    mm::avx2_use_vnni(-1);
    mm::avx512_use_bf16(-1);
  }
};

// The SIMD kernel sets this CPU can run: AVX2 twice where it has VNNI (with and without; AVX-VNNI or
// its EVEX twin) and once more (twice with VNNI) with SumOrder::kFastest (8-lane float kernels),
// AVX-512 twice where it has AVX512_BF16 (BF16 weights on vdpbf16ps, and widened to f32 FMAs).
struct Path {
  Isa isa;
  int vnni;  // for mm::avx2_use_vnni
  int bf16;  // for mm::avx512_use_bf16
  const char* name;
  SumOrder order = SumOrder::kGgml;
  void use() const {
    force_isa(isa);
    mm::avx2_use_vnni(vnni);
    mm::avx512_use_bf16(bf16);
  }
};
std::vector<Path> simd_paths() {
  std::vector<Path> p;
  if (isa_supported(Isa::kAvx2)) {
    p.push_back({Isa::kAvx2, 0, -1, "avx2"});
    if (mm::avx2_vnni_available()) p.push_back({Isa::kAvx2, 1, -1, "avx2+vnni"});
    p.push_back({Isa::kAvx2, 0, -1, "avx2 fastest", SumOrder::kFastest});
    if (mm::avx2_vnni_available()) p.push_back({Isa::kAvx2, 1, -1, "avx2+vnni fastest", SumOrder::kFastest});
  }
  if (isa_supported(Isa::kAvx512)) {
    p.push_back({Isa::kAvx512, -1, 0, "avx512"});
    p.push_back({Isa::kAvx512, -1, 0, "avx512 fastest", SumOrder::kFastest});
    if (cpu_features().avx512_bf16) p.push_back({Isa::kAvx512, -1, 1, "avx512+bf16"});
  }
  return p;
}

struct Shape {
  int64_t rows, cols, n_tokens;
  int threads;
};

bool is_float(GgmlType t) { return t == GgmlType::F32 || t == GgmlType::F16 || t == GgmlType::BF16; }

std::vector<Shape> shapes_for(GgmlType t) {
  const int64_t blk = ggml_type_info(t).block_size;
  // The last shape of each list spans several prefill token blocks (and, for float weights,
  // several K-blocks of the micro-tiles).
  if (blk == 256)
    return {{1, 256, 1, 1}, {3, 512, 2, 2}, {17, 256, 5, 3}, {576, 1536, 1, 2},
            {600, 256, 64, 2}, {17, 4352, 3, 2}, {40, 768, 19, 3}, {5, 768, 1, 2}, {23, 4352, 230, 2}};
  if (blk == 32)
    return {{1, 32, 1, 1}, {3, 96, 2, 2}, {17, 576, 5, 3}, {576, 576, 1, 2},
            {600, 64, 64, 2}, {17, 4352, 3, 2}, {40, 960, 19, 3}, {5, 160, 1, 2}, {23, 4352, 230, 2}};
  return {{1, 1, 1, 1}, {3, 7, 2, 2}, {17, 33, 5, 3}, {576, 576, 1, 2},
          {600, 64, 64, 2}, {17, 4352, 3, 2}, {40, 100, 19, 3}, {5, 100, 1, 2}, {3, 4100, 1, 1},
          {23, 4111, 70, 2}};
}

void random_fill(std::vector<float>& v, std::mt19937& rng, float scale) {
  std::normal_distribution<float> nd(0.0f, scale);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (auto& x : v) {
    x = nd(rng);
    if (u(rng) < 0.01f) x *= 20.0f;  // outliers
  }
}

// Per element, |min part| of the dequantized weight (0 for types without a min).
std::vector<float> min_parts(GgmlType t, const uint8_t* row, int64_t cols) {
  std::vector<float> out(size_t(cols), 0.0f);
  const auto* L = mm::quant_layout(t);
  if (L == nullptr || !L->has_min) return out;
  const size_t bb = ggml_type_info(t).type_size;
  mm::DecodedBlock D;
  for (int64_t b = 0; b < cols / L->block; ++b) {
    mm::decode_block(t, row + size_t(b) * bb, D);
    for (int k = 0; k < L->block; ++k) {
      const float m = L->scales == mm::ScaleKind::kBlock ? D.m : D.m * float(D.mn[k / 32]);
      out[size_t(b * L->block + k)] = std::fabs(m);
    }
  }
  return out;
}

class MatmulIsa : public ::testing::TestWithParam<GgmlType> {};

TEST_P(MatmulIsa, MatchesScalarReference) {
  const GgmlType t = GetParam();
  IsaGuard guard;
  std::mt19937 rng(1234 + uint32_t(t));
  int compared = 0;
  for (const Shape& s : shapes_for(t)) {
    SCOPED_TRACE(ggml_type_name(t) + " rows " + std::to_string(s.rows) + " cols " + std::to_string(s.cols) +
                 " tokens " + std::to_string(s.n_tokens) + " threads " + std::to_string(s.threads));
    std::vector<float> wf(size_t(s.rows * s.cols)), x(size_t(s.n_tokens * s.cols));
    random_fill(wf, rng, 0.05f);
    random_fill(x, rng, 1.0f);
    std::vector<uint8_t> wq(size_t(s.rows) * ggml_row_size(t, s.cols));
    quantize_rows(t, wf.data(), wq.data(), s.rows, s.cols, 1);
    std::vector<float> wdeq(wf.size()), wmin;
    for (int64_t r = 0; r < s.rows; ++r) {
      const uint8_t* row = wq.data() + size_t(r) * ggml_row_size(t, s.cols);
      dequantize_row(t, row, wdeq.data() + r * s.cols, s.cols);
      const auto mp = min_parts(t, row, s.cols);
      wmin.insert(wmin.end(), mp.begin(), mp.end());
    }
    ThreadPool pool(s.threads);

    force_isa(Isa::kScalar);
    auto wref = pack_weight({t, s.rows, s.cols, wq.data()});
    std::vector<float> yref(size_t(s.n_tokens * s.rows));
    matmul(*wref, x.data(), s.n_tokens, yref.data(), pool);

    for (const Path& path : simd_paths()) {
      path.use();
      auto w = pack_weight({t, s.rows, s.cols, wq.data()}, path.order);
      std::vector<float> y(yref.size(), NAN);
      matmul(*w, x.data(), s.n_tokens, y.data(), pool);
      const bool exact = path.order == SumOrder::kGgml && t != GgmlType::BF16;
      if (exact) {
        for (size_t i = 0; i < y.size(); ++i)
          ASSERT_EQ(y[i], yref[i]) << path.name << " (kernel " << isa_name(w->isa()) << ") token " << i / size_t(s.rows)
                                   << " row " << i % size_t(s.rows);
        ++compared;
        continue;
      }
      const double rel = is_float(t) ? 1e-5 : 2e-6;
      for (int64_t tok = 0; tok < s.n_tokens; ++tok) {
        for (int64_t r = 0; r < s.rows; ++r) {
          double mag = 0;
          for (int64_t c = 0; c < s.cols; ++c)
            mag += (std::fabs(double(wdeq[size_t(r * s.cols + c)])) + wmin[size_t(r * s.cols + c)]) *
                   std::fabs(x[size_t(tok * s.cols + c)]);
          const size_t i = size_t(tok * s.rows + r);
          ASSERT_NEAR(y[i], yref[i], rel * mag + 1e-30)
              << path.name << " (kernel " << isa_name(w->isa()) << ") token " << tok << " row " << r;
        }
      }
      ++compared;
    }
    // The reference itself is finite and deterministic across thread counts.
    ThreadPool one(1);
    std::vector<float> y1(yref.size());
    force_isa(Isa::kScalar);
    matmul(*wref, x.data(), s.n_tokens, y1.data(), one);
    ASSERT_EQ(y1, yref);
  }
  if (!isa_supported(Isa::kAvx2)) GTEST_SKIP() << "no SIMD ISA on this CPU; scalar only";
  EXPECT_GT(compared, 0);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, MatmulIsa,
                         ::testing::Values(GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q4_0, GgmlType::Q4_1,
                                           GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q4_K,
                                           GgmlType::Q5_K, GgmlType::Q6_K),
                         [](const ::testing::TestParamInfo<GgmlType>& i) { return ggml_type_name(i.param); });

}  // namespace
}  // namespace smolvlm::kernels

namespace smolvlm::kernels {
namespace {

// A weight big enough (> 8 MB) that binding repacks its row groups in parallel.
TEST(MatmulIsaBig, ParallelPackingMatchesScalar) {
  IsaGuard guard;
  const GgmlType t = GgmlType::Q8_0;
  const int64_t rows = 4100, cols = 2048;
  std::mt19937 rng(5);
  std::vector<float> wf(size_t(rows * cols)), x(size_t(2 * cols));
  random_fill(wf, rng, 0.05f);
  random_fill(x, rng, 1.0f);
  std::vector<uint8_t> wq(size_t(rows) * ggml_row_size(t, cols));
  quantize_rows(t, wf.data(), wq.data(), rows, cols, 0);
  ThreadPool pool(2);
  force_isa(Isa::kScalar);
  auto wref = pack_weight({t, rows, cols, wq.data()});
  std::vector<float> yref(size_t(2 * rows));
  matmul(*wref, x.data(), 2, yref.data(), pool);
  for (const Path& path : simd_paths()) {
    path.use();
    auto w = pack_weight({t, rows, cols, wq.data()}, path.order);
    std::vector<float> y(yref.size());
    matmul(*w, x.data(), 2, y.data(), pool);
    for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], yref[i], 1e-4 * (std::fabs(yref[i]) + 1)) << path.name << " " << i;
  }
}

}  // namespace
}  // namespace smolvlm::kernels

namespace smolvlm::kernels {
namespace {

// matmul_many (q/k/v style: mixed types sharing activations, some sharing one preparation)
// gives exactly what separate matmul calls give, on every ISA.
TEST(MatmulMany, MatchesSeparateCalls) {
  IsaGuard guard;
  const int64_t cols = 512;
  const GgmlType types[] = {GgmlType::Q5_0, GgmlType::Q5_0, GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::F32};
  const int64_t rows[] = {40, 17, 24, 33, 9};
  std::mt19937 rng(11);
  std::vector<std::vector<uint8_t>> wq;
  for (int i = 0; i < 5; ++i) {
    std::vector<float> wf(size_t(rows[i] * cols));
    random_fill(wf, rng, 0.05f);
    wq.emplace_back(size_t(rows[i]) * ggml_row_size(types[i], cols));
    quantize_rows(types[i], wf.data(), wq.back().data(), rows[i], cols, 1);
  }
  ThreadPool pool(3);
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (!isa_supported(isa)) continue;
    force_isa(isa);
    std::vector<std::unique_ptr<PackedWeight>> ws;
    for (int i = 0; i < 5; ++i) ws.push_back(pack_weight({types[i], rows[i], cols, wq[size_t(i)].data()}));
    for (int64_t n : {int64_t(1), int64_t(6)}) {
      std::vector<float> x(size_t(n * cols));
      random_fill(x, rng, 1.0f);
      std::vector<std::vector<float>> sep, many;
      std::vector<MatmulOut> outs;
      for (int i = 0; i < 5; ++i) {
        sep.emplace_back(size_t(n * rows[i]));
        many.emplace_back(size_t(n * rows[i]), NAN);
        matmul(*ws[size_t(i)], x.data(), n, sep.back().data(), pool);
      }
      for (int i = 0; i < 5; ++i) outs.push_back({ws[size_t(i)].get(), many[size_t(i)].data()});
      matmul_many(outs.data(), 5, x.data(), n, pool);
      for (int i = 0; i < 5; ++i) EXPECT_EQ(many[size_t(i)], sep[size_t(i)]) << isa_name(isa) << " weight " << i << " n " << n;
    }
  }
}

}  // namespace
}  // namespace smolvlm::kernels

namespace smolvlm::kernels {
namespace {

// Prefill splits the work into token blocks, row-chunk tasks, K-blocks and micro-tiles whose
// shapes depend on the token count, the thread count and the cache sizes; every output must
// still be the same dot product, bit for bit. (Decode, one token, takes its own row-dot kernels.)
TEST(MatmulBlocking, SplitDoesNotChangeResults) {
  IsaGuard guard;
  const int64_t rows = 37, cols = 4352, n = 75, sub0 = 5, sub_n = 9;
  std::mt19937 rng(77);
  std::vector<float> wf(size_t(rows * cols)), x(size_t(n * cols));
  random_fill(wf, rng, 0.05f);
  random_fill(x, rng, 1.0f);
  ThreadPool one(1), two(2), three(3);
  std::vector<Path> paths = simd_paths();
  paths.insert(paths.begin(), Path{Isa::kScalar, -1, -1, "scalar"});
  int compared = 0;
  for (GgmlType t : {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q6_K}) {
    std::vector<uint8_t> wq(size_t(rows) * ggml_row_size(t, cols));
    quantize_rows(t, wf.data(), wq.data(), rows, cols, 1);
    for (const Path& path : paths) {
      SCOPED_TRACE(ggml_type_name(t) + " " + path.name);
      path.use();
      auto w = pack_weight({t, rows, cols, wq.data()});
      std::vector<float> y3(size_t(n * rows)), y2(y3.size()), y1(y3.size()), ys(size_t(sub_n * rows));
      matmul(*w, x.data(), n, y3.data(), three);
      matmul(*w, x.data(), n, y2.data(), two);
      matmul(*w, x.data(), n, y1.data(), one);
      matmul(*w, x.data() + sub0 * cols, sub_n, ys.data(), two);
      ASSERT_EQ(y3, y2);
      ASSERT_EQ(y3, y1);
      for (int64_t i = 0; i < sub_n * rows; ++i) ASSERT_EQ(ys[size_t(i)], y3[size_t(sub0 * rows + i)]) << i;
      ++compared;
    }
  }
  EXPECT_GT(compared, 6);
}

}  // namespace
}  // namespace smolvlm::kernels
