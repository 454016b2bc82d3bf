// Every op of the Vulkan backend against the CPU: on the test GPU (lavapipe in CI), at SmolVLM's
// widths (576, 960, 2048; head_dim 64) with odd row counts, for every weight type. The CTest
// entries vulkan.* rerun these with the fallback paths forced (no subgroups, no fp16, a 1 MiB
// storage range so weights are bound in row ranges), other lavapipe subgroup sizes, and under the
// validation layer with synchronization validation.
//
// Matrix products are compared with the exact product of the dequantized weights (float64; the
// weights decoded by quant/, ggml's reference) by NMSE = sum (y - ref)^2 / sum ref^2:
//   f32 tiles / matvec: 1e-10 (f32 sums of up to 2048 products: measured ~1e-14)
//   fp16 tiles (prefill of F16 and quantized weights with shaderFloat16): 1e-5 (weights and
//     activations rounded to fp16: 2^-11 relative each, measured ~2e-7)
// and with the CPU kernels (which round activations to Q8 blocks for quantized weights, like
// ggml): 1e-3. Element-wise ops, norms, RoPE and attention: max |gpu - cpu| / max |cpu| <= 1e-5
// (f32 everywhere; the GPU's exp and inversesqrt differ from libm in the last bits); attention
// also against float64 over the cache contents (1e-5), since with an F16 cache the CPU kernel
// rounds q and the probabilities to fp16 like ggml (2e-3 from the GPU's f32).
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/vulkan/vulkan_backend.h"
#include "base/error.h"
#include "base/fp16.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "quant/quant.h"
#include "support/gpu.h"
#include "support/testing.h"
#include "test_ops_util.h"

namespace smolvlm {
namespace {

using backend::Buffer;
using backend::Device;
using backend::Tensor;
using testing::random_normal;

// Device tensors of one test, kept alive together.
class Arena {
 public:
  explicit Arena(Device& d) : d_(d) {}
  Tensor make(int64_t rows, int64_t cols, GgmlType type = GgmlType::F32) {
    bufs_.push_back(d_.alloc(ggml_row_size(type, cols) * size_t(rows), "test tensor"));
    return {bufs_.back().get(), 0, type, rows, cols};
  }

 private:
  Device& d_;
  std::vector<std::unique_ptr<Buffer>> bufs_;
};

double nmse(const std::vector<float>& y, const std::vector<double>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    num += (y[i] - ref[i]) * (y[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return num / den;
}

double max_rel(const std::vector<float>& y, const std::vector<float>& ref) {
  double d = 0, m = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    d = std::max(d, double(std::abs(y[i] - ref[i])));
    m = std::max(m, double(std::abs(ref[i])));
  }
  return d / m;
}

struct Shape {
  int64_t rows, cols;
};

bool k_quant(GgmlType t) { return t == GgmlType::Q4_K || t == GgmlType::Q5_K || t == GgmlType::Q6_K; }

std::vector<Shape> shapes(GgmlType t) {
  // the last shape of each is over 1 MiB in F32/F16/BF16: bound in row ranges by the vulkan.small_range run;
  // float weights also at 588 columns (the 2.2B's patch embedding: rows end mid-group and start unaligned)
  if (k_quant(t)) return {{5, 256}, {33, 1536}, {67, 2048}};
  if (t == GgmlType::F32 || t == GgmlType::F16 || t == GgmlType::BF16) return {{67, 576}, {33, 588}, {257, 2048}};
  return {{67, 576}, {33, 960}, {257, 2048}};
}

// A random weight of type t: its GGUF bytes and, decoded by quant/ (ggml's reference), its values.
struct TestWeight {
  std::vector<uint8_t> bytes;
  std::vector<float> values;
  kernels::WeightView view(GgmlType t, const Shape& s) const { return {t, s.rows, s.cols, bytes.data()}; }
};
TestWeight test_weight(GgmlType t, const Shape& s, uint32_t seed) {
  const auto wf = random_normal(size_t(s.rows * s.cols), seed);
  TestWeight w{std::vector<uint8_t>(ggml_row_size(t, s.cols) * size_t(s.rows)), std::vector<float>(wf.size())};
  quantize_rows(t, wf.data(), w.bytes.data(), s.rows, s.cols);
  for (int64_t r = 0; r < s.rows; ++r)
    dequantize_row(t, w.bytes.data() + ggml_row_size(t, s.cols) * size_t(r), w.values.data() + r * s.cols, s.cols);
  return w;
}

class VulkanMatmul : public ::testing::TestWithParam<std::string> {};

TEST_P(VulkanMatmul, MatchesTheExactProductAndTheCpuKernels) {
  SMOLVLM_REQUIRE_GPU(gpu);
  const GgmlType t = *ggml_type_from_name(GetParam());
  kernels::ThreadPool pool(2);
  for (const Shape& s : shapes(t)) {
    const TestWeight tw = test_weight(t, s, 11);
    const std::vector<float>& wd = tw.values;
    const kernels::WeightView view = tw.view(t, s);
    const auto w_gpu = gpu->upload(view, kernels::SumOrder::kFastest);
    const auto w_cpu = kernels::pack_weight(view);
    for (const int64_t n : {1, 2, 8, 9, 77, 150}) {  // 150: two token tiles of 128, three of 64
      // (activations are bound whole: under a forced small range (vulkan.small_range) skip what exceeds it)
      if (uint64_t(n * s.cols) * sizeof(float) > vk::context_of(*gpu)->caps().max_storage_range) continue;
      const auto x = random_normal(size_t(n * s.cols), 12 + uint32_t(n));
      std::vector<double> ref(size_t(n * s.rows));
      for (int64_t i = 0; i < n; ++i)
        for (int64_t r = 0; r < s.rows; ++r) {
          double acc = 0;
          for (int64_t k = 0; k < s.cols; ++k) acc += double(wd[size_t(r * s.cols + k)]) * x[size_t(i * s.cols + k)];
          ref[size_t(i * s.rows + r)] = acc;
        }
      Arena a(*gpu);
      const Tensor tx = a.make(n, s.cols), ty = a.make(n, s.rows), tres = a.make(n, s.rows);
      std::vector<float> y(ref.size()), y_cpu(ref.size()), res = random_normal(ref.size(), 77), sum(ref.size());
      auto ops = gpu->begin(pool);
      ops->write(tx, x.data());
      ops->matmul(*w_gpu, tx, ty);
      ops->write(tres, res.data());
      ops->matmul_add(*w_gpu, tx, tres, ty);  // tres += the product (ty: scratch the GPU does not touch)
      ops->read(ty, y.data());
      ops->read(tres, sum.data());
      ops->finish();
      for (size_t i = 0; i < sum.size(); ++i) ASSERT_EQ(sum[i], res[i] + y[i]) << "matmul_add, element " << i;
      kernels::matmul(*w_cpu, x.data(), n, y_cpu.data(), pool);
      std::vector<double> cpu_as_ref(y_cpu.begin(), y_cpu.end());
      const double e = nmse(y, ref), e_cpu = nmse(y, cpu_as_ref);
      const bool fp16_tiles = n > 8 && vk::context_of(*gpu)->caps().fp16 && t != GgmlType::F32 && t != GgmlType::BF16;
      const double tol = fp16_tiles ? 1e-5 : 1e-10;
      EXPECT_LE(e, tol) << GetParam() << " [" << s.rows << ", " << s.cols << "] x " << n << " tokens";
      EXPECT_LE(e_cpu, 1e-3) << GetParam() << " [" << s.rows << ", " << s.cols << "] x " << n << " vs the CPU";
      if (n == 1 || n >= 77)
        std::printf("  %s [%lld, %lld] x %lld: NMSE %.1e vs exact, %.1e vs CPU kernels\n", GetParam().c_str(),
                    (long long)s.rows, (long long)s.cols, (long long)n, e, e_cpu);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, VulkanMatmul,
                         ::testing::Values("F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K",
                                           "Q5_K", "Q6_K"),
                         [](const auto& p) { return p.param; });

// The check a device runs before its tensor-core matmul tiles serve (VulkanDevice::coopmat): the
// shader-core tiles pass it on every device and every forced path; the tensor-core tiles where
// the device has them (a real NVIDIA GPU, in scripts/gpu_check.sh; lavapipe has none), and there
// the device then uses them. The comparison names a one-ulp difference.
TEST(VulkanOps, MatmulCheckPassesForTheTilesTheDeviceUses) {
  SMOLVLM_REQUIRE_GPU(gpu);
  EXPECT_EQ(vk::check_matmul_tiles(*gpu, false), "");
  if (!vk::context_of(*gpu)->caps().coopmat_nv) {
    EXPECT_FALSE(vk::uses_tensor_cores(*gpu));
    return;
  }
  EXPECT_EQ(vk::check_matmul_tiles(*gpu, true), "");
  EXPECT_TRUE(vk::uses_tensor_cores(*gpu));
}

TEST(VulkanOps, MatmulCheckNamesTheFirstDifferingElement) {
  std::vector<float> want(600);
  for (size_t i = 0; i < want.size(); ++i) want[i] = float(i) / 32;
  std::vector<float> got = want;
  EXPECT_EQ(vk::matmul_mismatch(got, want, 200, "the product"), "");
  got[403] = std::nextafter(got[403], 1e9f);
  EXPECT_EQ(vk::matmul_mismatch(got, want, 200, "the product").rfind("the product element 403 (token 2, row 3): got ", 0), 0u)
      << vk::matmul_mismatch(got, want, 200, "the product");
  EXPECT_NE(vk::matmul_mismatch(std::vector<float>(599), want, 200, "the sum"), "");
}

class VulkanEmbedRows : public ::testing::TestWithParam<std::string> {};

TEST_P(VulkanEmbedRows, EqualsTheCpuLookup) {
  SMOLVLM_REQUIRE_GPU(gpu);
  const GgmlType t = *ggml_type_from_name(GetParam());
  kernels::ThreadPool pool(1);
  const int64_t rows = 601, cols = k_quant(t) ? 512 : 576;  // F32/F16: over 1 MiB
  const auto wf = random_normal(size_t(rows * cols), 5);
  std::vector<uint8_t> wq(ggml_row_size(t, cols) * size_t(rows));
  quantize_rows(t, wf.data(), wq.data(), rows, cols);
  const kernels::WeightView view{t, rows, cols, wq.data()};
  const auto table = gpu->upload(view, kernels::SumOrder::kGgml);
  const std::vector<int32_t> ids = {0, 600, 7, 7, 450, 599, 1, 300};
  std::vector<float> ref(ids.size() * size_t(cols)), got(ref.size());
  kernels::embed_rows(view, ids.data(), int64_t(ids.size()), ref.data());
  Arena a(*gpu);
  const Tensor out = a.make(int64_t(ids.size()), cols);
  auto ops = gpu->begin(pool);
  ops->embed_rows(*table, ids.data(), out);
  ops->read(out, got.data());
  ops->finish();
  EXPECT_LE(max_rel(got, ref), 1e-6) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Types, VulkanEmbedRows,
                         ::testing::Values("F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K",
                                           "Q5_K", "Q6_K"),
                         [](const auto& p) { return p.param; });

TEST(VulkanOps, RmsNormSiluMulAddAndRopeMatchTheCpu) {
  SMOLVLM_REQUIRE_GPU(gpu);
  kernels::ThreadPool pool(1);
  for (const int64_t dim : {576, 960, 2048}) {
    for (const int64_t n : {1, 7, 64}) {
      const auto x = random_normal(size_t(n * dim), 1, 0.5f, 2.0f), w = random_normal(size_t(dim), 2);
      const auto u = random_normal(size_t(n * dim), 3, 0.0f, 4.0f);
      std::vector<int32_t> pos(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) pos[size_t(i)] = int32_t(1000 + 37 * i);
      const int64_t heads = dim / 64;
      // CPU
      std::vector<float> norm_ref(x.size()), silu_ref(x.size()), add_ref = x, rope_ref = x;
      kernels::rms_norm(x.data(), w.data(), 1e-5f, n, dim, norm_ref.data());
      kernels::silu_mul(x.data(), u.data(), silu_ref.data(), n * dim);
      kernels::add(add_ref.data(), u.data(), n * dim);
      kernels::rope_norm(rope_ref.data(), n, heads, 64, 64, pos.data(), 100000.0f);
      // GPU
      Arena a(*gpu);
      const Tensor tx = a.make(n, dim), tw = a.make(1, dim), tu = a.make(n, dim), tn = a.make(n, dim),
                   ts = a.make(n, dim), tadd = a.make(n, dim), trope = a.make(n, dim);
      std::vector<float> norm(x.size()), silu(x.size()), sum(x.size()), rope(x.size());
      auto ops = gpu->begin(pool);
      for (const Tensor& t : {tx, ts, tadd, trope}) ops->write(t, x.data());
      ops->write(tw, w.data());
      ops->write(tu, u.data());
      ops->rms_norm(tx, tw, 1e-5f, tn);
      ops->silu_mul(ts, tu);
      ops->add(tadd, tu);
      ops->rope_norm(trope, heads, 64, 64, pos.data(), 100000.0f);
      ops->read(tn, norm.data());
      ops->read(ts, silu.data());
      ops->read(tadd, sum.data());
      ops->read(trope, rope.data());
      ops->finish();
      EXPECT_LE(max_rel(norm, norm_ref), 1e-5) << "rms_norm " << n << " x " << dim;
      EXPECT_LE(max_rel(silu, silu_ref), 1e-5) << "silu_mul " << n << " x " << dim;
      EXPECT_LE(max_rel(sum, add_ref), 1e-6) << "add " << n << " x " << dim;
      EXPECT_LE(max_rel(rope, rope_ref), 1e-5) << "rope " << n << " x " << dim;
    }
  }
}

TEST(VulkanOps, StoreRowsConvertsLikeTheCpu) {
  SMOLVLM_REQUIRE_GPU(gpu);
  kernels::ThreadPool pool(1);
  const int64_t n = 5, cols = 192, cache_rows = 40, at = 17;
  auto x = random_normal(size_t(n * cols), 9, 0.0f, 3.0f);
  x[3] = 70000.0f;  // overflows fp16
  x[4] = 1e-6f;     // an fp16 subnormal
  for (const GgmlType t : {GgmlType::F16, GgmlType::F32}) {
    Arena a(*gpu);
    const Tensor src = a.make(n, cols), cache = a.make(cache_rows, cols, t);
    std::vector<uint8_t> ref(ggml_row_size(t, cols) * size_t(n)), got(ref.size());
    kernels::store_row(t, x.data(), ref.data(), n * cols);
    auto ops = gpu->begin(pool);
    ops->write(src, x.data());
    ops->store_rows(src, cache.slice(at, n));
    ops->read(cache.slice(at, n), got.data());
    ops->finish();
    EXPECT_EQ(got, ref) << ggml_type_name(t);
  }
}

// The fused decode ops (Ops::rms_norm_matmul, silu_mul_matmul_add, rope_norm_store): a matvec that
// normalizes or gates x as it reads it, RoPE writing keys into the cache. Against float64 (the
// products: NMSE 1e-10, as the plain matvec; 1e-5 with fp16 tiles past 8 tokens, where the ops run
// apart) and the CPU's RoPE (f32 1e-5; f16 within one fp16 rounding). vulkan.no_fuse reruns it with
// the ops apart.
TEST(VulkanOps, FusedDecodeOpsMatchTheOpsApart) {
  SMOLVLM_REQUIRE_GPU(gpu);
  kernels::ThreadPool pool(1);
  const auto silu = [](double g) { return g / (1.0 + std::exp(-g)); };
  for (const char* name : {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K"}) {
    const GgmlType t = *ggml_type_from_name(name);
    // (rows, cols): two norm products over one x of E columns, a down projection over F = 1536
    const int64_t E = k_quant(t) ? 512 : 576, F = 1536, R0 = 67, R1 = 33;
    std::vector<std::vector<float>> wd;  // dequantized weights
    std::vector<std::unique_ptr<backend::Matrix>> wm;
    for (const Shape s : {Shape{R0, E}, Shape{R1, E}, Shape{E, F}}) {
      TestWeight tw = test_weight(t, s, 21 + uint32_t(wm.size()));
      wm.push_back(gpu->upload(tw.view(t, s), kernels::SumOrder::kFastest));
      wd.push_back(std::move(tw.values));
    }
    for (const int64_t n : {1, 3, 8, 12}) {
      const auto x = random_normal(size_t(n * E), 31, 0.3f, 2.0f), nw = random_normal(size_t(E), 32, 1.0f, 0.5f);
      const auto gate = random_normal(size_t(n * F), 33, 0.0f, 2.0f), up = random_normal(size_t(n * F), 34);
      const auto res = random_normal(size_t(n * E), 35);
      // float64: h = rms_norm(x) * nw; y0 = h W0^T, y1 = h W1^T; down = res + (silu(gate) * up) W2^T
      std::vector<double> y0(size_t(n * R0)), y1(size_t(n * R1)), down(size_t(n * E));
      for (int64_t i = 0; i < n; ++i) {
        double ss = 0;
        for (int64_t k = 0; k < E; ++k) ss += double(x[size_t(i * E + k)]) * x[size_t(i * E + k)];
        const double sc = 1.0 / std::sqrt(ss / double(E) + 1e-5);
        std::vector<double> h(static_cast<size_t>(E)), g(static_cast<size_t>(F));
        for (int64_t k = 0; k < E; ++k) h[size_t(k)] = x[size_t(i * E + k)] * sc * nw[size_t(k)];
        for (int64_t k = 0; k < F; ++k) g[size_t(k)] = silu(gate[size_t(i * F + k)]) * up[size_t(i * F + k)];
        const auto dot = [](const float* w, const std::vector<double>& v) {
          double acc = 0;
          for (size_t k = 0; k < v.size(); ++k) acc += double(w[k]) * v[k];
          return acc;
        };
        for (int64_t r = 0; r < R0; ++r) y0[size_t(i * R0 + r)] = dot(wd[0].data() + r * E, h);
        for (int64_t r = 0; r < R1; ++r) y1[size_t(i * R1 + r)] = dot(wd[1].data() + r * E, h);
        for (int64_t r = 0; r < E; ++r) down[size_t(i * E + r)] = res[size_t(i * E + r)] + dot(wd[2].data() + r * F, g);
      }
      Arena a(*gpu);
      const Tensor tx = a.make(n, E), tnw = a.make(1, E), th = a.make(n, E), ty0 = a.make(n, R0), ty1 = a.make(n, R1);
      const Tensor tg = a.make(n, F), tu = a.make(n, F), tres = a.make(n, E);
      std::vector<float> g0(y0.size()), g1(y1.size()), gd(down.size());
      auto ops = gpu->begin(pool);
      ops->write(tx, x.data());
      ops->write(tnw, nw.data());
      ops->write(tg, gate.data());
      ops->write(tu, up.data());
      ops->write(tres, res.data());
      const backend::MatmulOut outs[] = {{wm[0].get(), ty0}, {wm[1].get(), ty1}};
      ops->rms_norm_matmul(tx, tnw, 1e-5f, th, outs);
      ops->silu_mul_matmul_add(*wm[2], tg, tu, tres, th);
      ops->read(ty0, g0.data());
      ops->read(ty1, g1.data());
      ops->read(tres, gd.data());
      ops->finish();
      const bool fp16_tiles = n > 8 && vk::context_of(*gpu)->caps().fp16 && t != GgmlType::F32 && t != GgmlType::BF16;
      const double tol = fp16_tiles ? 1e-5 : 1e-10;
      const double e0 = nmse(g0, y0), e1 = nmse(g1, y1), ed = nmse(gd, down);
      EXPECT_LE(e0, tol) << name << " rms_norm_matmul, output 0, " << n << " tokens";
      EXPECT_LE(e1, tol) << name << " rms_norm_matmul, output 1, " << n << " tokens";
      EXPECT_LE(ed, tol) << name << " silu_mul_matmul_add, " << n << " tokens";
      if (n == 1) std::printf("  %s x 1 token: NMSE norm+matvec %.1e / %.1e, glu+matvec %.1e\n", name, e0, e1, ed);
    }
  }
  // keys rotated on their way into the cache, for every n_rot (the tail past n_rot copied as is)
  const int64_t heads = 3, D = 64, cache_rows = 40, at = 17;
  for (const int64_t n_rot : {64, 32})
    for (const int64_t n : {1, 5})
      for (const GgmlType t : {GgmlType::F16, GgmlType::F32}) {
        const auto k = random_normal(size_t(n * heads * D), 41, 0.0f, 3.0f);
        std::vector<int32_t> pos(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) pos[size_t(i)] = int32_t(at + 3 * i);
        std::vector<float> want = k;
        kernels::rope_norm(want.data(), n, heads, D, n_rot, pos.data(), 10000.0f);
        Arena a(*gpu);
        const Tensor tk = a.make(n, heads * D), cache = a.make(cache_rows, heads * D, t);
        std::vector<uint8_t> raw(ggml_row_size(t, heads * D) * size_t(n));
        auto ops = gpu->begin(pool);
        ops->write(tk, k.data());
        ops->rope_norm_store(tk, heads, D, n_rot, pos.data(), 10000.0f, cache.slice(at, n));
        ops->read(cache.slice(at, n), raw.data());
        ops->finish();
        std::vector<float> got(want.size());
        for (size_t i = 0; i < got.size(); ++i)
          got[i] = t == GgmlType::F16 ? fp16_to_fp32(reinterpret_cast<const uint16_t*>(raw.data())[i])
                                      : reinterpret_cast<const float*>(raw.data())[i];
        EXPECT_LE(max_rel(got, want), t == GgmlType::F16 ? 1e-3 : 1e-5)
            << "rope_norm_store n_rot " << n_rot << ", " << n << " rows, " << ggml_type_name(t);
      }
}

// A decode step's q, k and v in one level (Ops::attention_inputs: norm, three matvecs that rotate q
// and k and store k and v into the cache) against the ops apart on the same device: the same f32
// sums and rotations, so within rounding; for 1 to 8 rows (the batched matvec), both cache types,
// n_rot = head_dim and below it (the tail pairs stored unrotated), GQA (9 q heads, 3 kv heads of 64).
TEST(VulkanOps, AttentionInputsMatchTheOpsApart) {
  SMOLVLM_REQUIRE_GPU(gpu);
  kernels::ThreadPool pool(1);
  const int64_t E = 576, H = 9, Hkv = 3, D = 64, cache_rows = 30, at = 11;
  for (const GgmlType wt : {GgmlType::Q8_0, GgmlType::F16, GgmlType::Q4_K})
    for (const GgmlType kv : {GgmlType::F16, GgmlType::F32})
      for (const int64_t n_rot : {64, 32})
        for (const int64_t n : {1, 3, 8}) {
          const int64_t e = wt == GgmlType::Q4_K ? 512 : E;
          std::vector<std::unique_ptr<backend::Matrix>> w;
          for (const Shape s : {Shape{H * D, e}, Shape{Hkv * D, e}, Shape{Hkv * D, e}})
            w.push_back(gpu->upload(test_weight(wt, s, 51 + uint32_t(w.size())).view(wt, s), kernels::SumOrder::kFastest));
          // (test_weight's bytes live until upload returns: the device copied them)
          const auto x = random_normal(size_t(n * e), 61, 0.2f, 1.5f), nw = random_normal(size_t(e), 62, 1.0f, 0.3f);
          std::vector<int32_t> pos(static_cast<size_t>(n));
          for (int64_t i = 0; i < n; ++i) pos[size_t(i)] = int32_t(at + 2 * i);
          std::vector<float> q[2];
          std::vector<uint8_t> kc[2], vc[2];
          for (int fused = 0; fused < 2; ++fused) {
            Arena a(*gpu);
            const Tensor tx = a.make(n, e), tnw = a.make(1, e), th = a.make(n, e), tq = a.make(n, H * D),
                         tk = a.make(n, Hkv * D), tv = a.make(n, Hkv * D), kcache = a.make(cache_rows, Hkv * D, kv),
                         vcache = a.make(cache_rows, Hkv * D, kv);
            const backend::AttentionInputs in{.x = tx, .norm_w = tnw, .eps = 1e-5f, .h = th, .wq = w[0].get(),
                                              .wk = w[1].get(), .wv = w[2].get(), .q = tq, .k = tk, .v = tv,
                                              .k_cache = kcache.slice(at, n), .v_cache = vcache.slice(at, n),
                                              .n_heads = H, .n_kv_heads = Hkv, .head_dim = D, .n_rot = n_rot,
                                              .pos = pos.data(), .freq_base = 100000.0f};
            q[fused].resize(size_t(n * H * D));
            kc[fused].resize(ggml_row_size(kv, Hkv * D) * size_t(n));
            vc[fused].resize(kc[fused].size());
            auto ops = gpu->begin(pool);
            ops->write(tx, x.data());
            ops->write(tnw, nw.data());
            if (fused) ops->attention_inputs(in);
            else ops->Ops::attention_inputs(in);  // the ops apart (the base class's composition)
            ops->read(tq, q[fused].data());
            ops->read(kcache.slice(at, n), kc[fused].data());
            ops->read(vcache.slice(at, n), vc[fused].data());
            ops->finish();
          }
          const auto floats = [&](const std::vector<uint8_t>& raw) {
            std::vector<float> f(raw.size() / ggml_type_info(kv).type_size);
            for (size_t i = 0; i < f.size(); ++i)
              f[i] = kv == GgmlType::F16 ? fp16_to_fp32(reinterpret_cast<const uint16_t*>(raw.data())[i])
                                         : reinterpret_cast<const float*>(raw.data())[i];
            return f;
          };
          const double tol = kv == GgmlType::F16 ? 1e-3 : 1e-5;  // (an fp16 cache: one rounding may differ)
          const std::string what = cat(ggml_type_name(wt), " weights, ", ggml_type_name(kv), " cache, n_rot ", n_rot,
                                       ", ", n, " rows");
          EXPECT_LE(max_rel(q[1], q[0]), 1e-5) << "q, " << what;
          EXPECT_LE(max_rel(floats(kc[1]), floats(kc[0])), tol) << "k, " << what;
          EXPECT_LE(max_rel(floats(vc[1]), floats(vc[0])), tol) << "v, " << what;
        }
}

// softmax(q k^T * scale) v in float64 over the cache's values (as stored: fp16 or f32), GQA.
std::vector<float> attention_f64(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v,
                                 int64_t n_q, int64_t n_kv, int64_t q_pos0, int64_t heads, int64_t kv_heads, int64_t D,
                                 bool causal, double scale) {
  std::vector<float> out(q.size());
  const int64_t kv_dim = kv_heads * D;
  for (int64_t i = 0; i < n_q; ++i)
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t g = h / (heads / kv_heads), n = causal ? std::min(n_kv, q_pos0 + i + 1) : n_kv;
      std::vector<double> s(static_cast<size_t>(n));
      double mx = -1e300, sum = 0;
      for (int64_t j = 0; j < n; ++j) {
        double d = 0;
        for (int64_t e = 0; e < D; ++e) d += double(q[size_t((i * heads + h) * D + e)]) * k[size_t(j * kv_dim + g * D + e)];
        s[size_t(j)] = d * scale;
        mx = std::max(mx, s[size_t(j)]);
      }
      for (auto& x : s) sum += (x = std::exp(x - mx));
      for (int64_t e = 0; e < D; ++e) {
        double acc = 0;
        for (int64_t j = 0; j < n; ++j) acc += s[size_t(j)] * v[size_t(j * kv_dim + g * D + e)];
        out[size_t((i * heads + h) * D + e)] = float(acc / sum);
      }
    }
  return out;
}

// The vision path's ops: layer norm, row-broadcast adds (bias, position table), GELU, the conv
// patches and the pixel shuffle at both SmolVLM tile shapes.
TEST(VulkanOps, VisionOpsMatchTheCpu) {
  SMOLVLM_REQUIRE_GPU(gpu);
  kernels::ThreadPool pool(2);
  backend::Device& cpu = backend::cpu();
  struct Geometry {
    int64_t S, P, C, s;
  };
  for (const Geometry g : {Geometry{64, 16, 48, 4}, Geometry{42, 14, 40, 3}}) {  // 4x4 and 3x3 patches per tile
    const int64_t B = 2, n = g.S / g.P, T = B * n * n, K = 3 * g.P * g.P;
    const auto tiles = random_normal(size_t(B * 3 * g.S * g.S), 31);
    const auto x = random_normal(size_t(T * g.C), 32, 0.3f, 2.0f), w = random_normal(size_t(g.C), 33),
               b = random_normal(size_t(g.C), 34), pos = random_normal(size_t(n * n * g.C), 35);
    // each op on both devices from the same inputs; outputs read back
    const auto run = [&](Device& d) {
      Arena a(d);
      const Tensor tt = a.make(B, 3 * g.S * g.S), tp = a.make(T, K), tx = a.make(T, g.C), tw = a.make(1, g.C),
                   tb = a.make(1, g.C), tpos = a.make(n * n, g.C), tn = a.make(T, g.C), tg = a.make(T, g.C),
                   tr = a.make(T, g.C), ts = a.make(T / (g.s * g.s), g.C * g.s * g.s);
      std::vector<std::vector<float>> out(5);
      auto ops = d.begin(pool);
      ops->write(tt, tiles.data());
      for (const Tensor& t : {tx, tg, tr}) ops->write(t, x.data());
      ops->write(tw, w.data());
      ops->write(tb, b.data());
      ops->write(tpos, pos.data());
      ops->conv_patches(tt, g.S, g.P, tp);
      ops->layer_norm(tx, tw, tb, 1e-6f, tn);
      ops->gelu_tanh(tg);
      ops->add_rows(tr, tb);
      ops->add_rows(tr, tpos);
      ops->pixel_shuffle(tx, n, g.s, ts);
      const Tensor results[] = {tp, tn, tg, tr, ts};
      for (int i = 0; i < 5; ++i) {
        out[size_t(i)].resize(size_t(results[i].rows * results[i].cols));
        ops->read(results[i], out[size_t(i)].data());
      }
      ops->finish();
      return out;
    };
    const auto want = run(cpu), got = run(*gpu);
    const char* names[] = {"conv_patches", "layer_norm", "gelu_tanh", "add_rows", "pixel_shuffle"};
    for (int i = 0; i < 5; ++i) {
      const double tol = i == 0 || i == 3 || i == 4 ? 0.0 : 1e-5;  // copies and adds are exact
      EXPECT_LE(max_rel(got[size_t(i)], want[size_t(i)]), tol) << names[i] << " at " << g.S << "/" << g.P;
    }
  }
}

struct AttnCase {
  int64_t n_q, n_kv, q_pos0, heads, kv_heads;
  bool causal;
};

TEST(VulkanOps, AttentionMatchesTheCpuForBothCacheTypes) {
  SMOLVLM_REQUIRE_GPU(gpu);
  kernels::ThreadPool pool(2);
  // from 512 keys a few rows split the keys over workgroups and merge the parts (row 0 of {3, 700,
  // 639} sees 640 keys: the last split of 128 has none for it); SMOLVLM_VK_NO_SPLIT=1 takes them
  // whole. (The caches stay under vulkan.small_range's 1 MiB binding.) Heads of 64, and of 72 (the
  // 2.2B's vision heads) for the tiled attention of many rows.
  const AttnCase cases[] = {{1, 1, 0, 9, 3, true},       {1, 300, 299, 9, 3, true},  {9, 40, 31, 15, 5, true},
                            {77, 77, 0, 9, 3, true},     {5, 100, 95, 32, 32, true}, {64, 64, 0, 4, 4, false},
                            {1, 1300, 1299, 9, 3, true}, {3, 700, 639, 15, 5, true}, {2, 3000, 0, 4, 1, false},
                            {1, 513, 512, 9, 3, true}};
  for (const int64_t D : {64, 72})
  for (const GgmlType t : {GgmlType::F16, GgmlType::F32}) {
    for (const AttnCase& c : cases) {
      if (D != 64 && c.n_q < 8) continue;
      const int64_t kv_dim = c.kv_heads * D, ctx = c.n_kv + 3;
      const auto q = random_normal(size_t(c.n_q * c.heads * D), 21, 0.0f, 2.0f);
      const auto kf = random_normal(size_t(c.n_kv * kv_dim), 22), vf = random_normal(size_t(c.n_kv * kv_dim), 23);
      std::vector<uint8_t> k(ggml_row_size(t, kv_dim) * size_t(ctx)), v(k.size());
      kernels::store_row(t, kf.data(), k.data(), c.n_kv * kv_dim);
      kernels::store_row(t, vf.data(), v.data(), c.n_kv * kv_dim);
      std::vector<float> kd(kf.size()), vd(vf.size());  // the cache as stored
      dequantize_row(t, k.data(), kd.data(), c.n_kv * kv_dim);
      dequantize_row(t, v.data(), vd.data(), c.n_kv * kv_dim);
      const auto ref = attention_f64(q, kd, vd, c.n_q, c.n_kv, c.q_pos0, c.heads, c.kv_heads, D, c.causal, 0.125);
      std::vector<float> cpu(q.size()), got(q.size());
      kernels::attention({.q = q.data(), .k = k.data(), .v = v.data(), .out = cpu.data(), .kv_type = t, .n_q = c.n_q,
                          .n_kv = c.n_kv, .n_heads = c.heads, .n_kv_heads = c.kv_heads, .head_dim = D,
                          .kv_row_stride = ggml_row_size(t, kv_dim), .q_pos0 = c.q_pos0, .causal = c.causal,
                          .scale = 0.125f},
                         pool);
      Arena a(*gpu);
      const Tensor tq = a.make(c.n_q, c.heads * D), tk = a.make(ctx, kv_dim, t), tv = a.make(ctx, kv_dim, t),
                   to = a.make(c.n_q, c.heads * D);
      auto ops = gpu->begin(pool);
      ops->write(tq, q.data());
      ops->write(tk, k.data());
      ops->write(tv, v.data());
      ops->attention({.q = tq, .k = tk, .v = tv, .out = to, .n_kv = c.n_kv, .n_heads = c.heads,
                      .n_kv_heads = c.kv_heads, .head_dim = D, .q_pos0 = c.q_pos0, .causal = c.causal, .scale = 0.125f});
      ops->read(to, got.data());
      ops->finish();
      EXPECT_LE(max_rel(got, ref), 1e-5) << ggml_type_name(t) << " n_q " << c.n_q << " n_kv " << c.n_kv << " D " << D;
      // the CPU rounds q and the probabilities to fp16 with an F16 cache (as ggml does)
      EXPECT_LE(max_rel(got, cpu), t == GgmlType::F16 ? 2e-3 : 1e-5) << "vs the CPU kernel";
    }
  }
}

// Many split attentions in one pass (a 2.2B decode step deep into a context, 24 layers): their parts
// outgrow the pass's 8 MiB for them and reuse the first regions; each result still equals float64.
TEST(VulkanOps, SplitAttentionsReuseTheirScratchSafely) {
  SMOLVLM_REQUIRE_GPU(gpu);
  kernels::ThreadPool pool(2);
  const int64_t D = 64, heads = 16, n_kv = 8000, calls = 36;  // 63 splits: 266 KB of parts per call
  // an F16 cache (under vulkan.small_range's 1 MiB binding), compared as stored
  auto kf = random_normal(size_t(n_kv * D), 51), vf = random_normal(size_t(n_kv * D), 52);
  std::vector<uint8_t> k(size_t(n_kv * D) * 2), v(k.size());
  kernels::store_row(GgmlType::F16, kf.data(), k.data(), n_kv * D);
  kernels::store_row(GgmlType::F16, vf.data(), v.data(), n_kv * D);
  dequantize_row(GgmlType::F16, k.data(), kf.data(), n_kv * D);
  dequantize_row(GgmlType::F16, v.data(), vf.data(), n_kv * D);
  Arena a(*gpu);
  const Tensor tk = a.make(n_kv, D, GgmlType::F16), tv = a.make(n_kv, D, GgmlType::F16);
  std::vector<Tensor> tq, to;
  std::vector<std::vector<float>> q, got(size_t(calls), std::vector<float>(size_t(heads * D)));
  auto ops = gpu->begin(pool);
  ops->write(tk, k.data());
  ops->write(tv, v.data());
  for (int64_t c = 0; c < calls; ++c) {
    q.push_back(random_normal(size_t(heads * D), 60 + uint32_t(c), 0.0f, 2.0f));
    tq.push_back(a.make(1, heads * D));
    to.push_back(a.make(1, heads * D));
    ops->write(tq.back(), q.back().data());
    ops->attention({.q = tq.back(), .k = tk, .v = tv, .out = to.back(), .n_kv = n_kv, .n_heads = heads,
                    .n_kv_heads = 1, .head_dim = D, .q_pos0 = n_kv - 1, .causal = true, .scale = 0.125f});
    ops->read(to.back(), got[size_t(c)].data());
  }
  ops->finish();
  for (int64_t c = 0; c < calls; ++c) {
    const auto ref = attention_f64(q[size_t(c)], kf, vf, 1, n_kv, n_kv - 1, heads, 1, D, true, 0.125);
    EXPECT_LE(max_rel(got[size_t(c)], ref), 1e-5) << "attention " << c << " of the pass";
  }
}

}  // namespace
}  // namespace smolvlm
