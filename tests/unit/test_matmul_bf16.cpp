// F16 weights bound with PackOptions::f16_as_bf16 (the vision tower's fast mode): where the CPU has
// AVX512_BF16 they run on vdpbf16ps as bf16, elsewhere they stay F16. Checked here on every ISA
// this CPU has, with the conversion forced (mm::f16_as_bf16(1)) where vdpbf16ps is missing, so the
// rounding and binding are tested on any machine and the native kernel wherever CI has it:
//  * the result equals the scalar BF16 reference on the F16 weights rounded to bf16 (F16 -> F32 is
//    exact, F32 -> BF16 rounds to nearest even), within 1e-5 of sum_k |w x| (only the f32 order of
//    exact bf16 x bf16 products differs, as for BF16 files in test_matmul_isa.cpp);
//  * the default (-1) converts only where the active ISA's BF16 kernel is vdpbf16ps, SumOrder::kGgml
//    never converts, and neither does an F16 bind without the option.
#include <cmath>
#include <random>
#include <vector>

#include "base/fp16.h"
#include "kernels/matmul.h"
#include "kernels/matmul_impl.h"
#include "support/testing.h"

namespace smolvlm::kernels {
namespace {

struct Restore {
  Isa saved = active_isa();
  ~Restore() {
    force_isa(saved);
    mm::f16_as_bf16(-1);
  }
};

std::vector<Isa> isas() {
  std::vector<Isa> out{Isa::kScalar};
  for (Isa i : {Isa::kAvx2, Isa::kAvx512})
    if (isa_supported(i)) out.push_back(i);
  return out;
}

TEST(MatmulF16AsBf16, EqualsTheBf16ReferenceOnEveryIsa) {
  Restore restore;
  std::mt19937 rng(77);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  struct Shape {
    int64_t rows, cols, n_tokens;
  };
  // (The last shape, 8 MiB of bf16, is converted in parallel.)
  for (const Shape& s : {Shape{1, 64, 1}, Shape{17, 96, 5}, Shape{5, 7, 3}, Shape{70, 129, 13}, Shape{64, 768, 1},
                         Shape{40, 768, 70}, Shape{23, 3072, 130},
                         Shape{2048, 2048, 2}}) {
    SCOPED_TRACE("rows " + std::to_string(s.rows) + " cols " + std::to_string(s.cols) + " tokens " +
                 std::to_string(s.n_tokens));
    std::vector<uint16_t> w16(size_t(s.rows * s.cols)), wb(w16.size());
    for (size_t i = 0; i < w16.size(); ++i) {
      w16[i] = fp32_to_fp16(0.05f * nd(rng));
      wb[i] = fp32_to_bf16(fp16_to_fp32(w16[i]));
    }
    std::vector<float> x(size_t(s.n_tokens * s.cols));
    for (auto& v : x) v = nd(rng);
    ThreadPool pool(2);

    force_isa(Isa::kScalar);
    auto ref = pack_weight({GgmlType::BF16, s.rows, s.cols, wb.data()});
    std::vector<float> yref(size_t(s.n_tokens * s.rows));
    matmul(*ref, x.data(), s.n_tokens, yref.data(), pool);

    mm::f16_as_bf16(1);
    for (Isa isa : isas()) {
      force_isa(isa);
      auto w = pack_weight({GgmlType::F16, s.rows, s.cols, w16.data()}, {SumOrder::kFastest, true});
      EXPECT_EQ(w->type(), GgmlType::BF16) << isa_name(isa);
      std::vector<float> y(yref.size(), NAN);
      matmul(*w, x.data(), s.n_tokens, y.data(), pool);
      for (int64_t t = 0; t < s.n_tokens; ++t) {
        for (int64_t r = 0; r < s.rows; ++r) {
          double mag = 0;
          for (int64_t c = 0; c < s.cols; ++c)
            mag += std::fabs(double(bf16_to_fp32(wb[size_t(r * s.cols + c)]))) * std::fabs(x[size_t(t * s.cols + c)]);
          const size_t i = size_t(t * s.rows + r);
          ASSERT_NEAR(y[i], yref[i], 1e-5 * mag + 1e-30) << isa_name(isa) << " token " << t << " row " << r;
        }
      }
    }
  }
}

TEST(MatmulF16AsBf16, ConvertsOnlyWhereAskedAndNative) {
  Restore restore;
  std::vector<uint16_t> w16(size_t(8 * 64), fp32_to_fp16(0.25f));
  const WeightView view{GgmlType::F16, 8, 64, w16.data()};
  for (Isa isa : isas()) {
    force_isa(isa);
    const bool native = isa == Isa::kAvx512 && cpu_features().avx512_bf16;
    mm::f16_as_bf16(-1);
    EXPECT_EQ(pack_weight(view, {SumOrder::kFastest, true})->type(), native ? GgmlType::BF16 : GgmlType::F16)
        << isa_name(isa);
    EXPECT_EQ(pack_weight(view, {SumOrder::kGgml, true})->type(), GgmlType::F16) << isa_name(isa);
    EXPECT_EQ(pack_weight(view, SumOrder::kFastest)->type(), GgmlType::F16) << isa_name(isa);
    mm::f16_as_bf16(1);
    EXPECT_EQ(pack_weight(view, {SumOrder::kFastest, true})->type(), GgmlType::BF16) << isa_name(isa);
    mm::f16_as_bf16(0);
    EXPECT_EQ(pack_weight(view, {SumOrder::kFastest, true})->type(), GgmlType::F16) << isa_name(isa);
  }
}

}  // namespace
}  // namespace smolvlm::kernels
