// attention(): every ISA and both orders (flash tiles, llama.cpp's non-flash order) against a naive
// float64 reference on the same cache contents (causal and bidirectional, GQA ratios 1/3/4, one
// and many queries, queries not starting at position 0, F16 and F32 caches with padded rows),
// tiled against untiled, the ggml order bit-identical on every ISA and thread count, and argument
// errors.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/fp16.h"
#include "kernels/ops.h"
#include "kernels/ops_internal.h"
#include "support/testing.h"
#include "test_ops_util.h"

namespace smolvlm {
namespace {

using kernels::AttentionArgs;
using kernels::Isa;
using kernels::ThreadPool;
using testing::ForceIsa;
using testing::random_normal;
using testing::supported_isas;

struct Case {
  int64_t n_q, n_kv, q_pos0, n_heads, n_kv_heads, head_dim;
  bool causal;
};

// Inputs of one case: q, and K/V caches written with store_row, rows padded by 32 bytes.
struct Inputs {
  std::vector<float> q;
  std::vector<uint8_t> k, v;
  AttentionArgs args;
  std::vector<float> out;
};

Inputs make_inputs(const Case& c, GgmlType kv_type, uint32_t seed) {
  Inputs in;
  const int64_t D = c.head_dim;
  const size_t elt = kv_type == GgmlType::F16 ? 2 : 4;
  const size_t stride = size_t(c.n_kv_heads * D) * elt + 32;
  in.q = random_normal(size_t(c.n_q * c.n_heads * D), seed, 0.0f, 2.0f);
  in.k.assign(stride * c.n_kv, 0);
  in.v.assign(stride * c.n_kv, 0);
  const auto kf = random_normal(size_t(c.n_kv * c.n_kv_heads * D), seed + 1);
  const auto vf = random_normal(size_t(c.n_kv * c.n_kv_heads * D), seed + 2);
  {
    ForceIsa s(Isa::kScalar);
    for (int64_t j = 0; j < c.n_kv; ++j) {
      kernels::store_row(kv_type, kf.data() + j * c.n_kv_heads * D, in.k.data() + j * stride, c.n_kv_heads * D);
      kernels::store_row(kv_type, vf.data() + j * c.n_kv_heads * D, in.v.data() + j * stride, c.n_kv_heads * D);
    }
  }
  in.out.assign(in.q.size(), -1.0f);
  auto& a = in.args;
  a.q = in.q.data();
  a.k = in.k.data();
  a.v = in.v.data();
  a.out = in.out.data();
  a.kv_type = kv_type;
  a.n_q = c.n_q, a.n_kv = c.n_kv, a.n_heads = c.n_heads, a.n_kv_heads = c.n_kv_heads, a.head_dim = D;
  a.kv_row_stride = stride;
  a.q_pos0 = c.q_pos0;
  a.causal = c.causal;
  a.scale = 1.0f / std::sqrt(float(D));
  return in;
}

float cache_at(const Inputs& in, const std::vector<uint8_t>& cache, int64_t j, int64_t idx) {
  const uint8_t* row = cache.data() + j * in.args.kv_row_stride;
  if (in.args.kv_type == GgmlType::F16) {
    uint16_t h;
    std::memcpy(&h, row + 2 * idx, 2);
    return fp16_to_fp32(h);
  }
  float f;
  std::memcpy(&f, row + 4 * idx, 4);
  return f;
}

// Exact attention on the cache contents, in float64. For an F16 cache q is rounded to fp16 first
// (the documented ggml semantics the kernels follow), and with Order::kGgml the probabilities too
// (ggml converts kq to V's type before the value sums).
std::vector<double> naive(const Inputs& in) {
  const auto& a = in.args;
  const int64_t D = a.head_dim, rep = a.n_heads / a.n_kv_heads;
  std::vector<double> out(in.q.size());
  for (int64_t i = 0; i < a.n_q; ++i) {
    const int64_t vis = a.causal ? std::min(a.n_kv, a.q_pos0 + i + 1) : a.n_kv;
    for (int64_t h = 0; h < a.n_heads; ++h) {
      const int64_t kvh = h / rep;
      std::vector<double> q(D), s(vis);
      for (int64_t d = 0; d < D; ++d) {
        const float qv = in.q[(i * a.n_heads + h) * D + d];
        q[d] = a.kv_type == GgmlType::F16 ? fp16_to_fp32(fp32_to_fp16(qv)) : qv;
      }
      double mx = -1e300;
      for (int64_t j = 0; j < vis; ++j) {
        double dot = 0;
        for (int64_t d = 0; d < D; ++d) dot += q[d] * cache_at(in, in.k, j, kvh * D + d);
        s[j] = dot * double(a.scale);
        mx = std::max(mx, s[j]);
      }
      double sum = 0;
      for (auto& x : s) sum += (x = std::exp(x - mx));
      const bool round_p = a.kv_type == GgmlType::F16 && a.order == AttentionArgs::Order::kGgml;
      for (auto& x : s) x = round_p ? fp16_to_fp32(fp32_to_fp16(float(x / sum))) : x / sum;
      for (int64_t d = 0; d < D; ++d) {
        double acc = 0;
        for (int64_t j = 0; j < vis; ++j) acc += s[j] * cache_at(in, in.v, j, kvh * D + d);
        out[(i * a.n_heads + h) * D + d] = acc;
      }
    }
  }
  return out;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<double>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}
double max_abs(const std::vector<double>& a) {
  double m = 0;
  for (double x : a) m = std::max(m, std::fabs(x));
  return m;
}

const Case kCases[] = {
    // n_q, n_kv, q_pos0, heads, kv heads, head_dim, causal
    {37, 37, 0, 9, 3, 64, true},      // prefill from position 0, GQA 3
    {37, 600, 563, 8, 2, 64, true},   // chunk of a long prefill, GQA 4
    {1, 600, 599, 9, 3, 64, true},    // decode at position 599
    {1, 301, 300, 4, 4, 72, true},    // decode, no GQA, head_dim 72
    {37, 100, 20, 6, 2, 20, true},    // keys beyond the last query's position stay hidden
    {37, 150, 0, 4, 1, 64, false},    // bidirectional (vision), GQA 4
    {37, 37, 0, 12, 12, 72, false},   // bidirectional, no GQA
    {1, 1, 0, 3, 1, 64, true},        // a single key
    {1, 1500, 1499, 9, 3, 64, true},  // decode deep in the context: a KV group's heads share one tile
    {1, 1100, 1099, 4, 4, 72, true},  // the same without GQA, head_dim 72 (a partial value vector)
};

TEST(Attention, MatchesFloat64ReferenceOnEveryIsa) {
  ThreadPool pool(2);
  for (Isa isa : supported_isas()) {
    ForceIsa force(isa);
    for (const bool ggml : {false, true}) {
      double worst = 0;
      for (GgmlType kv : {GgmlType::F32, GgmlType::F16}) {
        uint32_t seed = 100;
        for (const Case& c : kCases) {
          auto in = make_inputs(c, kv, seed += 10);
          if (ggml) in.args.order = AttentionArgs::Order::kGgml, in.args.one_token = c.n_q == 1;
          kernels::attention(in.args, pool);
          const auto want = naive(in);
          const double err = max_abs_diff(in.out, want) / max_abs(want);
          worst = std::max(worst, err);
          // kGgml with an fp16 cache rounds the probabilities to fp16 (as the reference does), from
          // float ones that differ from the float64 ones in the last bits: one may round to the
          // neighbouring fp16 value, 2^-11 of it (measured 7.5e-5 of max|out|).
          const double tol = ggml && kv == GgmlType::F16 ? 3e-4 : 1e-5;
          EXPECT_LE(err, tol) << kernels::isa_name(isa) << (ggml ? " ggml " : " tiled ") << ggml_type_name(kv)
                               << " n_q " << c.n_q << " n_kv " << c.n_kv << " heads " << c.n_heads << "/"
                               << c.n_kv_heads << " causal " << c.causal;
        }
      }
      std::printf("[measured] attention %s %-6s max |out - f64| / max|f64| %.3g\n", ggml ? "ggml " : "tiled",
                  kernels::isa_name(isa), worst);
    }
  }
}

// Order::kGgml sums in one fixed order (llama.cpp's): the same bits on every ISA, any thread
// count, and for both value-sum orders (one token, a batch) each.
TEST(Attention, GgmlOrderIsIdenticalOnEveryIsaAndThreadCount) {
  for (GgmlType kv : {GgmlType::F32, GgmlType::F16}) {
    uint32_t seed = 300;
    for (const Case& c : kCases) {
      for (const bool one : {false, true}) {
        auto in = make_inputs(c, kv, seed += 10);
        in.args.order = AttentionArgs::Order::kGgml, in.args.one_token = one;
        std::vector<float> want;
        {
          ForceIsa force(Isa::kScalar);
          ThreadPool pool(1);
          kernels::attention(in.args, pool);
          want = in.out;
        }
        for (Isa isa : supported_isas()) {
          ForceIsa force(isa);
          for (int threads : {1, 3}) {
            ThreadPool pool(threads);
            std::fill(in.out.begin(), in.out.end(), -1.0f);
            kernels::attention(in.args, pool);
            EXPECT_EQ(in.out, want) << kernels::isa_name(isa) << " threads " << threads << " " << ggml_type_name(kv)
                                    << " one_token " << one << " n_q " << c.n_q << " n_kv " << c.n_kv << " head_dim "
                                    << c.head_dim;
          }
        }
      }
    }
  }
}

// The online softmax over key blocks and any split into query tiles give the untiled result.
TEST(Attention, TiledMatchesUntiled) {
  for (int threads : {1, 3}) {
    ThreadPool pool(threads);
    for (Isa isa : supported_isas()) {
      ForceIsa force(isa);
      for (GgmlType kv : {GgmlType::F32, GgmlType::F16}) {
        for (const Case& c : {kCases[1], kCases[5]}) {
          auto in = make_inputs(c, kv, 7);
          kernels::detail::attention_tiled(in.args, pool, c.n_q, c.n_kv);  // one softmax per row
          const std::vector<float> untiled = in.out;
          for (auto [qt, kb] : {std::pair<int64_t, int64_t>{5, 7}, {16, 128}, {1, 64}, {37, 1}}) {
            std::fill(in.out.begin(), in.out.end(), -1.0f);
            kernels::detail::attention_tiled(in.args, pool, qt, kb);
            double m = 0, mu = 0;
            for (size_t i = 0; i < untiled.size(); ++i) {
              m = std::max(m, double(std::fabs(in.out[i] - untiled[i])));
              mu = std::max(mu, double(std::fabs(untiled[i])));
            }
            EXPECT_LE(m, 2e-6 * mu) << kernels::isa_name(isa) << " threads " << threads << " tiles " << qt << "x" << kb;
          }
        }
      }
    }
  }
}

// Decode (one query token) splits the visible keys into chunks by their number only and merges
// them in chunk order: the same bits for any thread count, on every ISA; and within 1e-5 of the
// float64 reference at chunk boundaries (one chunk, one more key, many chunks), GQA 1/3/4, both
// caches.
TEST(Attention, DecodeSplitIsThreadCountIndependentAndExact) {
  const Case cases[] = {
      {1, 32, 31, 9, 3, 64, true},     // exactly one chunk
      {1, 33, 32, 9, 3, 64, true},     // a second chunk of one key
      {1, 1024, 1023, 9, 3, 64, true},  // 32 chunks
      {1, 5000, 4999, 4, 1, 64, true},  // longer chunks, GQA 4 (the merge in parallel)
      {1, 777, 700, 32, 32, 64, true},  // no GQA (2.2B), keys beyond the query position hidden
      {1, 300, 299, 6, 2, 80, true},    // head_dim 80: the general (not unrolled) width
      {1, 200, 0, 5, 5, 48, false},     // bidirectional, head_dim 48
  };
  for (Isa isa : supported_isas()) {
    ForceIsa force(isa);
    double worst = 0;
    for (GgmlType kv : {GgmlType::F32, GgmlType::F16}) {
      uint32_t seed = 500;
      for (const Case& c : cases) {
        auto in = make_inputs(c, kv, seed += 10);
        std::vector<float> first;
        for (int threads : {1, 2, 3}) {
          ThreadPool pool(threads);
          std::fill(in.out.begin(), in.out.end(), -1.0f);
          kernels::attention(in.args, pool);
          if (first.empty()) first = in.out;
          EXPECT_EQ(in.out, first) << kernels::isa_name(isa) << " threads " << threads << " n_kv " << c.n_kv;
        }
        const auto want = naive(in);
        const double err = max_abs_diff(first, want) / max_abs(want);
        worst = std::max(worst, err);
        EXPECT_LE(err, 1e-5) << kernels::isa_name(isa) << " " << ggml_type_name(kv) << " n_kv " << c.n_kv << " heads "
                             << c.n_heads << "/" << c.n_kv_heads << " head_dim " << c.head_dim;
      }
    }
    std::printf("[measured] attention split %-6s max |out - f64| / max|f64| %.3g\n", kernels::isa_name(isa), worst);
  }
}

// Every ISA's chunk kernel against the scalar one: the parts (m, l, unnormalized value sums) of one
// chunk agree to float rounding, for every chunk length around the key blocks (8 and 16 keys) and
// the value blocks (32).
TEST(Attention, SplitChunkKernelMatchesScalarOnEveryIsa) {
  const int64_t H = 9, Hkv = 3;
  for (const int64_t D : {64, 40}) {
    for (GgmlType kv : {GgmlType::F32, GgmlType::F16}) {
      auto in = make_inputs({1, 100, 99, H, Hkv, D, true}, kv, 77);
      const int64_t dp = kernels::detail::attn_pad_dim(D);
      for (const int64_t n : {1, 7, 8, 9, 16, 17, 31, 32, 33, 65, 100}) {
        struct Part {
          std::vector<float> o, m, l;
        };
        const auto run = [&](Isa isa) {
          std::vector<float> scratch(kernels::detail::attn_split_scratch_floats(H, n, D) + 16);
          float* sc = scratch.data();
          while (reinterpret_cast<uintptr_t>(sc) % 64 != 0) ++sc;
          Part p{std::vector<float>(size_t(H * dp)), std::vector<float>(size_t(H)), std::vector<float>(size_t(H))};
          kernels::detail::AttnSplit s;
          s.q = in.q.data(), s.n_heads = H, s.n_kv_heads = Hkv, s.head_dim = D;
          s.k = in.k.data(), s.v = in.v.data(), s.kv_stride = in.args.kv_row_stride, s.f16 = kv == GgmlType::F16;
          s.n = n, s.scale = in.args.scale, s.o = p.o.data(), s.m = p.m.data(), s.l = p.l.data(), s.scratch = sc;
          kernels::detail::ops_table(isa).attention_split(s);
          return p;
        };
        const Part want = run(Isa::kScalar);
        for (Isa isa : supported_isas()) {
          const Part got = run(isa);
          for (int64_t h = 0; h < H; ++h) {
            const auto at = [&](const char* what) {
              return ::testing::Message() << kernels::isa_name(isa) << " " << ggml_type_name(kv) << " head_dim " << D
                                          << " n " << n << " head " << h << " " << what;
            };
            EXPECT_NEAR(got.m[h], want.m[h], 1e-5 * std::fabs(want.m[h]) + 1e-6) << at("max");
            EXPECT_NEAR(got.l[h], want.l[h], 1e-5 * want.l[h]) << at("sum");
            // |o| <= l * max|v|, and max|v| is about 4 (normal values)
            for (int64_t d = 0; d < D; ++d) EXPECT_NEAR(got.o[h * dp + d], want.o[h * dp + d], 4e-5 * want.l[h]) << at("value sum");
          }
        }
      }
    }
  }
}

TEST(Attention, RejectsBadArguments) {
  ThreadPool pool(1);
  auto in = make_inputs(kCases[0], GgmlType::F16, 1);
  auto a = in.args;
  a.n_kv_heads = 2;  // 9 heads
  EXPECT_THROW(kernels::attention(a, pool), Error);
  a = in.args;
  a.kv_type = GgmlType::Q8_0;
  EXPECT_THROW(kernels::attention(a, pool), Error);
  a = in.args;
  a.kv_row_stride = 3 * 64 * 2 - 2;
  EXPECT_THROW(kernels::attention(a, pool), Error);
  a = in.args;
  a.n_kv = 0;
  EXPECT_THROW(kernels::attention(a, pool), Error);
  a.n_q = 0;  // nothing to do is fine
  kernels::attention(a, pool);
}

// AttentionArgs::bf16: causal and bidirectional, GQA, head_dim 64 / 72 / 20 / 7 (odd: a last
// pair with a zero), keys not a multiple of the 64-key block, rows that see no key of a block.
const Case kBf16Cases[] = {
    // n_q, n_kv, q_pos0, heads, kv heads, head_dim, causal
    {100, 200, 0, 4, 4, 64, false},  // vision-like
    {37, 37, 0, 12, 12, 72, false},  // the 2.2B tower's head_dim
    {37, 600, 563, 8, 2, 64, true},  // a causal chunk, GQA 4
    {50, 130, 0, 3, 1, 7, false},    // odd head_dim
    {6, 1, 0, 2, 2, 20, false},      // one key
    {61, 61, 0, 9, 3, 64, true},     // causal from position 0
};

// The float64 reference of what the bf16 path computes: q, k, v and the probabilities rounded to
// bf16 (the probabilities normalized first, as transformers' bf16 attention rounds them).
std::vector<double> naive_bf16(const Inputs& in) {
  Inputs r = in;
  const auto bf = [](float x) { return bf16_to_fp32(fp32_to_bf16(x)); };
  for (float& x : r.q) x = bf(x);
  for (auto* cache : {&r.k, &r.v})
    for (size_t i = 0; i + 4 <= cache->size(); i += 4) {
      float f;
      std::memcpy(&f, cache->data() + i, 4);
      f = bf(f);
      std::memcpy(cache->data() + i, &f, 4);
    }
  return naive(r);
}

// One of the staged-key paths (attention_bf16, attention_i8) on the given kernel.
template <class Kernel>
std::vector<float> run_path(Inputs& in, ThreadPool& pool, void (*path)(const AttentionArgs&, ThreadPool&, Kernel),
                            Kernel k) {
  std::fill(in.out.begin(), in.out.end(), -1.0f);
  path(in.args, pool, k);
  return in.out;
}
std::vector<float> run_bf16(Inputs& in, ThreadPool& pool, kernels::detail::AttnBf16Kernel k) {
  return run_path(in, pool, kernels::detail::attention_bf16, k);
}

// max |got - ref| / max |ref|
double rel_diff(const std::vector<float>& got, const std::vector<float>& ref) {
  double m = 0, mu = 0;
  for (size_t i = 0; i < got.size(); ++i)
    m = std::max(m, double(std::fabs(got[i] - ref[i]))), mu = std::max(mu, double(std::fabs(ref[i])));
  return m / mu;
}

// The AVX512_BF16 kernel and the scalar reference compute the same thing on the same staged
// pairs; only the order of the f32 sums differs (and with it, rarely, a probability's bf16
// rounding). Both stay within bf16 precision of the float64 reference.
TEST(AttentionBf16, KernelMatchesTheScalarReferenceAndFloat64) {
  kernels::detail::AttnBf16Kernel kernel = nullptr;
  if (kernels::isa_supported(Isa::kAvx512)) {
    ForceIsa force(Isa::kAvx512);
    kernel = kernels::detail::attention_bf16_kernel();
  }
  double worst_kernel = 0, worst_f64 = 0, worst_rounded = 0;
  uint32_t seed = 900;
  for (int threads : {1, 3}) {
    ThreadPool pool(threads);
    for (const Case& c : kBf16Cases) {
      auto in = make_inputs(c, GgmlType::F32, seed += 10);
      in.args.bf16 = true;
      const std::vector<float> ref = run_bf16(in, pool, kernels::detail::attention_bf16_tile_scalar);
      const auto exact = naive(in), rounded = naive_bf16(in);
      const double e64 = max_abs_diff(ref, exact) / max_abs(exact), er = max_abs_diff(ref, rounded) / max_abs(rounded);
      worst_f64 = std::max(worst_f64, e64), worst_rounded = std::max(worst_rounded, er);
      const std::string what = "n_q " + std::to_string(c.n_q) + " n_kv " + std::to_string(c.n_kv) + " head_dim " +
                               std::to_string(c.head_dim) + " threads " + std::to_string(threads);
      EXPECT_LE(e64, 2e-2) << what;
      EXPECT_LE(er, 4e-3) << what;
      if (kernel == nullptr) continue;
      const double r = rel_diff(run_bf16(in, pool, kernel), ref);
      worst_kernel = std::max(worst_kernel, r);
      EXPECT_LE(r, 2e-4) << what;  // measured 2.1e-5
    }
  }
  std::printf("[measured] bf16 attention: scalar vs f64 %.3g, vs f64 of bf16 inputs %.3g; avx512_bf16 vs scalar %.3g%s\n",
              worst_f64, worst_rounded, worst_kernel, kernel == nullptr ? " (no AVX512_BF16 here)" : "");
}

// attention() takes the bf16 path only where the CPU has the kernel, with an F32 cache and several
// query tokens; everywhere else the flag changes no bit.
TEST(AttentionBf16, AttentionTakesItOnlyWhereTheCpuMultipliesBf16) {
  ThreadPool pool(2);
  for (Isa isa : supported_isas()) {
    ForceIsa force(isa);
    const bool native = kernels::detail::attention_bf16_kernel() != nullptr;
    for (GgmlType kv : {GgmlType::F32, GgmlType::F16}) {
      for (const Case& c : {kBf16Cases[0], kBf16Cases[2], kCases[2]}) {
        auto in = make_inputs(c, kv, 77);
        kernels::attention(in.args, pool);
        const std::vector<float> f32 = in.out;
        in.args.bf16 = true;
        std::fill(in.out.begin(), in.out.end(), -1.0f);
        kernels::attention(in.args, pool);
        const bool bf16_path = native && kv == GgmlType::F32 && c.n_q > 1;
        if (bf16_path) {
          const auto want = naive(in);
          EXPECT_LE(max_abs_diff(in.out, want) / max_abs(want), 2e-2) << kernels::isa_name(isa);
          EXPECT_NE(in.out, f32) << "the bf16 path did not run";
        } else {
          EXPECT_EQ(in.out, f32) << kernels::isa_name(isa) << " " << ggml_type_name(kv) << " n_q " << c.n_q;
        }
      }
    }
  }
  auto in = make_inputs(kBf16Cases[0], GgmlType::F16, 1);
  EXPECT_THROW(kernels::detail::attention_bf16(in.args, pool, kernels::detail::attention_bf16_tile_scalar), Error);
}

// ---- AttentionArgs::int8 ---------------------------------------------------------------------

// The float64 reference of what the int8 path computes: every query row and every key row (per
// head) replaced by its 8-bit codes times its scale (quantize_row_i8), the rest exact.
std::vector<double> naive_i8(const Inputs& in) {
  Inputs r = in;
  const auto& a = in.args;
  const int64_t D = a.head_dim;
  std::vector<int8_t> codes(static_cast<size_t>(D));
  const auto dequantize = [&](float* x) {
    const float scale = kernels::detail::quantize_row_i8(x, D, codes.data());
    for (int64_t d = 0; d < D; ++d) x[d] = float(double(codes[size_t(d)]) * scale);
  };
  for (size_t i = 0; i < r.q.size(); i += size_t(D)) dequantize(r.q.data() + i);
  for (int64_t j = 0; j < a.n_kv; ++j)
    for (int64_t h = 0; h < a.n_kv_heads; ++h)
      dequantize(reinterpret_cast<float*>(r.k.data() + size_t(j) * a.kv_row_stride) + h * D);
  return naive(r);
}

std::vector<float> run_i8(Inputs& in, ThreadPool& pool, kernels::detail::AttnI8Kernel k) {
  return run_path(in, pool, kernels::detail::attention_i8, k);
}

// The quantizer of the AVX2 kernel gives the scalar reference's codes and scale bit for bit (the
// key codes are staged with it, so any difference would change the scores), zero rows included.
TEST(AttentionInt8, QuantizerMatchesTheScalarOneBitForBit) {
  if (!kernels::isa_supported(Isa::kAvx2)) GTEST_SKIP() << "no AVX2 on this CPU";
  ForceIsa force(Isa::kAvx2);
  const kernels::detail::AttnI8Kernel k = kernels::detail::attention_i8_kernel();
  if (k.tile == nullptr) GTEST_SKIP() << "no VNNI for the AVX2 path on this CPU";
  uint32_t seed = 40;
  for (int64_t n : {1, 7, 8, 20, 64, 72, 100, 256}) {
    auto x = random_normal(size_t(n), seed++, 0.0f, 3.0f);
    float amax = 0.0f;
    for (float v : x) amax = std::max(amax, std::fabs(v));
    x[size_t(n / 2)] = -(amax + 1.0f);  // the largest magnitude negative: its code is -127
    for (bool zero : {false, true}) {
      if (zero) std::fill(x.begin(), x.end(), 0.0f);
      std::vector<int8_t> want(size_t(n) + 8, 5), got(size_t(n) + 8, 5);
      const float sw = kernels::detail::quantize_row_i8(x.data(), n, want.data());
      const float sg = k.quantize(x.data(), n, got.data());
      EXPECT_EQ(sw, sg) << n;
      EXPECT_EQ(want, got) << n << (zero ? " zeros" : "");
      if (!zero) {
        const auto by_size = [](int8_t a, int8_t b) { return std::abs(a) < std::abs(b); };
        EXPECT_EQ(*std::max_element(want.begin(), want.begin() + n, by_size), -127);
      }
    }
  }
}

// The kernel and the scalar reference compute the same integer scores from the same staged codes;
// only the vector exp and the order of the value sums differ. Both compute the attention of the
// dequantized rows (naive_i8) to float precision, and stay within the stated bound of the exact
// float64 attention.
TEST(AttentionInt8, KernelMatchesTheScalarReferenceAndFloat64) {
  kernels::detail::AttnI8Kernel kernel;
  if (kernels::isa_supported(Isa::kAvx2)) {
    ForceIsa force(Isa::kAvx2);
    kernel = kernels::detail::attention_i8_kernel();
  }
  const kernels::detail::AttnI8Kernel scalar{kernels::detail::attention_i8_tile_scalar, kernels::detail::quantize_row_i8};
  double worst_kernel = 0, worst_f64 = 0, worst_dequantized = 0;
  uint32_t seed = 1900;
  for (int threads : {1, 3}) {
    ThreadPool pool(threads);
    for (const Case& c : kBf16Cases) {
      auto in = make_inputs(c, GgmlType::F32, seed += 10);
      in.args.int8 = true;
      const std::vector<float> ref = run_i8(in, pool, scalar);
      const auto exact = naive(in), dequantized = naive_i8(in);
      const double e64 = max_abs_diff(ref, exact) / max_abs(exact), ed = max_abs_diff(ref, dequantized) / max_abs(dequantized);
      worst_f64 = std::max(worst_f64, e64), worst_dequantized = std::max(worst_dequantized, ed);
      const std::string what = "n_q " + std::to_string(c.n_q) + " n_kv " + std::to_string(c.n_kv) + " head_dim " +
                               std::to_string(c.head_dim) + " threads " + std::to_string(threads);
      EXPECT_LE(e64, 4e-2) << what;  // measured 2.4e-2 (bf16's: 1.1e-2)
      EXPECT_LE(ed, 2e-5) << what;   // measured 9e-7
      if (kernel.tile == nullptr) continue;
      const double r = rel_diff(run_i8(in, pool, kernel), ref);
      worst_kernel = std::max(worst_kernel, r);
      EXPECT_LE(r, 2e-5) << what;  // measured 5.6e-7
    }
  }
  std::printf("[measured] int8 attention: scalar vs f64 %.3g, vs f64 of the dequantized rows %.3g; avx2 vnni vs scalar %.3g%s\n",
              worst_f64, worst_dequantized, worst_kernel, kernel.tile == nullptr ? " (no VNNI for AVX2 here)" : "");
}

// attention() takes the int8 path only where the AVX2 path runs on a CPU with VNNI, with an F32
// cache and several query tokens; everywhere else the flag changes no bit.
TEST(AttentionInt8, AttentionTakesItOnlyWhereAvx2HasVnni) {
  ThreadPool pool(2);
  for (Isa isa : supported_isas()) {
    ForceIsa force(isa);
    const bool native = kernels::detail::attention_i8_kernel().tile != nullptr;
    EXPECT_TRUE(!native || isa == Isa::kAvx2);
    for (GgmlType kv : {GgmlType::F32, GgmlType::F16}) {
      for (const Case& c : {kBf16Cases[0], kBf16Cases[2], kCases[2]}) {
        auto in = make_inputs(c, kv, 78);
        kernels::attention(in.args, pool);
        const std::vector<float> f32 = in.out;
        in.args.int8 = true;
        std::fill(in.out.begin(), in.out.end(), -1.0f);
        kernels::attention(in.args, pool);
        if (native && kv == GgmlType::F32 && c.n_q > 1) {
          const auto want = naive_i8(in);
          EXPECT_LE(max_abs_diff(in.out, want) / max_abs(want), 2e-5) << kernels::isa_name(isa);
          EXPECT_NE(in.out, f32) << "the int8 path did not run";
        } else {
          EXPECT_EQ(in.out, f32) << kernels::isa_name(isa) << " " << ggml_type_name(kv) << " n_q " << c.n_q;
        }
      }
    }
  }
  ThreadPool one(1);
  auto in = make_inputs(kBf16Cases[0], GgmlType::F16, 1);
  const kernels::detail::AttnI8Kernel scalar{kernels::detail::attention_i8_tile_scalar, kernels::detail::quantize_row_i8};
  EXPECT_THROW(kernels::detail::attention_i8(in.args, one, scalar), Error);
}

}  // namespace
}  // namespace smolvlm
