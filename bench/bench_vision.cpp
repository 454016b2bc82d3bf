// Vision encoder + connector speed at the real SmolVLM2-256M/500M shapes (SigLIP-B/16 @ 512:
// 768 wide, 12 layers, 12 heads of 64, MLP 3072, 1024 patches per tile, pixel shuffle 4 ->
// 64 tokens x 576): one tile through the whole tower, per weight type (the mmproj's matrices; the
// patch and position embeddings stay F32 as the converter writes them) and ISA. Weights are random
// (values do not change the speed), built in memory as a GGUF file.
// Counters: s_per_tile, GFLOPs (the tower's flop count per second: matmuls, attention, conv,
// connector; VisionModel::flops_per_tile). Breakdown: one layer's attention and fc1 alone; the
// machine's FMA peak (BM_PeakFma) for the tile's FLOP count / peak bound.
// Threads: SMOLVLM_BENCH_THREADS (default 2).
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "io/gguf.h"
#include "kernels/isa.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/thread_pool.h"
#include "model/vision/vision_model.h"
#include "quant/quant.h"

namespace {

using namespace smolvlm;
namespace k = smolvlm::kernels;

constexpr int64_t kS = 512, kP = 16, kC = 768, kF = 3072, kL = 12, kH = 12, kScale = 4, kE = 576;
constexpr int64_t kNp = (kS / kP) * (kS / kP);

int bench_threads() {
  const char* e = std::getenv("SMOLVLM_BENCH_THREADS");
  return e && *e ? std::atoi(e) : 2;
}

k::ThreadPool& pool() {
  static k::ThreadPool p(bench_threads());
  return p;
}

// Deterministic pseudo-normal values (sum of uniforms), mean m, spread sd.
void fill(std::vector<float>& v, uint64_t seed, float m, float sd) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (auto& x : v) x = m + sd * 1.2247f * (u(rng) + u(rng) + u(rng)) / 1.7320508f;
}

// An in-memory idefics3 mmproj with the real 256M vision shapes; matrices in `type`.
std::vector<uint8_t> make_mmproj(GgmlType type) {
  GgufWriter w;
  w.set("general.architecture", GgufValue::str("clip"));
  w.set("general.type", GgufValue::str("mmproj"));
  w.set("clip.has_vision_encoder", GgufValue::boolean(true));
  w.set("clip.projector_type", GgufValue::str("idefics3"));
  w.set("clip.vision.projection_dim", GgufValue::u32(kE));
  w.set("clip.vision.image_size", GgufValue::u32(kS));
  w.set("clip.vision.patch_size", GgufValue::u32(kP));
  w.set("clip.vision.embedding_length", GgufValue::u32(kC));
  w.set("clip.vision.feed_forward_length", GgufValue::u32(kF));
  w.set("clip.vision.block_count", GgufValue::u32(kL));
  w.set("clip.vision.attention.head_count", GgufValue::u32(kH));
  w.set("clip.vision.attention.layer_norm_epsilon", GgufValue::f32(1e-6f));
  w.set("clip.vision.projector.scale_factor", GgufValue::u32(kScale));
  w.set("clip.use_gelu", GgufValue::boolean(true));
  struct Spec {
    float mean, sd;
  };
  std::vector<Spec> specs;
  auto add = [&](const std::string& name, GgmlType t, std::vector<int64_t> ne, float mean, float sd) {
    w.add_tensor(name, t, std::move(ne));
    specs.push_back({mean, sd});
  };
  add("v.patch_embd.weight", GgmlType::F32, {kP, kP, 3, kC}, 0, 0.02f);
  add("v.patch_embd.bias", GgmlType::F32, {kC}, 0, 0.01f);
  add("v.position_embd.weight", GgmlType::F32, {kC, kNp}, 0, 0.05f);
  for (int64_t i = 0; i < kL; ++i) {
    const std::string p = "v.blk." + std::to_string(i) + ".";
    for (const char* m : {"attn_q", "attn_k", "attn_v", "attn_out"}) {
      add(p + m + ".weight", type, {kC, kC}, 0, 0.03f);
      add(p + m + ".bias", GgmlType::F32, {kC}, 0, 0.02f);
    }
    for (const char* n : {"ln1", "ln2"}) {
      add(p + n + ".weight", GgmlType::F32, {kC}, 1, 0.05f);
      add(p + n + ".bias", GgmlType::F32, {kC}, 0, 0.02f);
    }
    add(p + "ffn_up.weight", type, {kC, kF}, 0, 0.03f);
    add(p + "ffn_up.bias", GgmlType::F32, {kF}, 0, 0.02f);
    add(p + "ffn_down.weight", type, {kF, kC}, 0, 0.02f);
    add(p + "ffn_down.bias", GgmlType::F32, {kC}, 0, 0.02f);
  }
  add("v.post_ln.weight", GgmlType::F32, {kC}, 1, 0.05f);
  add("v.post_ln.bias", GgmlType::F32, {kC}, 0, 0.02f);
  add("mm.model.fc.weight", type, {kC * kScale * kScale, kE}, 0, 0.02f);
  return w.write_memory([&](size_t i, const GgufTensorInfo& info, std::vector<uint8_t>& out) {
    std::vector<float> v(static_cast<size_t>(info.n_elements()));
    fill(v, 1000 + i, specs[i].mean, specs[i].sd);
    out.resize(info.nbytes);
    quantize_rows(info.type, v.data(), out.data(), info.n_rows(), info.ne[0], 0);
  });
}

// One model at a time (each is ~100-370 MB of file bytes plus its packed copy).
const VisionModel& model(GgmlType type, k::Isa isa) {
  static std::vector<uint8_t> bytes;
  static std::optional<GgmlType> bytes_type;
  static std::unique_ptr<VisionModel> m;
  static k::Isa m_isa = k::Isa::kScalar;
  k::force_isa(isa);  // the weights are packed for the ISA active at load
  if (!m || bytes_type != type || m_isa != isa) {
    m.reset();
    if (bytes_type != type) bytes = make_mmproj(type), bytes_type = type;
    m = std::make_unique<VisionModel>(GgufFile::parse(bytes, "bench-mmproj.gguf"));
    m_isa = isa;
  }
  return *m;
}

std::vector<float> tiles(int64_t n) {
  std::vector<float> t(static_cast<size_t>(n * 3 * kS * kS));
  fill(t, 7, 0.0f, 0.5f);
  return t;
}

void BM_VisionTiles(benchmark::State& state, GgmlType type, k::Isa isa, int64_t n, int64_t per_pass) {
  if (!k::isa_supported(isa)) return state.SkipWithError("ISA not supported by this CPU");
  const VisionModel& m = model(type, isa);
  const std::vector<float> in = tiles(n);
  std::vector<float> out(static_cast<size_t>(n * m.config().tokens_per_tile() * m.config().projection_dim));
  VisionEncodeOptions o;
  o.max_tiles_per_pass = per_pass;
  for (auto _ : state) {
    m.encode(in.data(), n, out.data(), pool(), o);
    benchmark::DoNotOptimize(out.data());
  }
  const double tiles_done = double(state.iterations()) * double(n);
  state.counters["s_per_tile"] = benchmark::Counter(tiles_done, benchmark::Counter::kIsRate |
                                                                           benchmark::Counter::kInvert);
  state.counters["GFLOPs"] = benchmark::Counter(m.flops_per_tile() * tiles_done * 1e-9, benchmark::Counter::kIsRate);
  state.counters["GFLOP_per_tile"] = m.flops_per_tile() * 1e-9;
  state.SetLabel(std::string(ggml_type_name(type)) + " weights, " + k::isa_name(isa) + ", " +
                 std::to_string(pool().size()) + " threads, " + std::to_string(per_pass) + " tiles per pass");
}

// One layer's attention of one tile: 1024 x 1024 patches, 12 heads of 64, F32 keys/values.
void BM_VisionAttention(benchmark::State& state, k::Isa isa) {
  if (!k::isa_supported(isa)) return state.SkipWithError("ISA not supported by this CPU");
  k::force_isa(isa);
  std::vector<float> q(kNp * kC), kk(kNp * kC), v(kNp * kC), out(kNp * kC);
  fill(q, 1, 0, 1), fill(kk, 2, 0, 1), fill(v, 3, 0, 1);
  for (auto _ : state) {
    k::attention({.q = q.data(), .k = kk.data(), .v = v.data(), .out = out.data(), .kv_type = GgmlType::F32,
                  .n_q = kNp, .n_kv = kNp, .n_heads = kH, .n_kv_heads = kH, .head_dim = kC / kH,
                  .kv_row_stride = kC * sizeof(float), .causal = false, .scale = 0.125f},
                 pool());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["GFLOPs"] = benchmark::Counter(4.0 * kNp * kNp * kC * double(state.iterations()) * 1e-9,
                                                benchmark::Counter::kIsRate);
}

// One layer's fc1 of one tile: [1024, 768] x [3072, 768]^T.
void BM_VisionFc1(benchmark::State& state, GgmlType type, k::Isa isa) {
  if (!k::isa_supported(isa)) return state.SkipWithError("ISA not supported by this CPU");
  const VisionModel& m = model(type, isa);
  std::vector<float> x(kNp * kC), y(kNp * kF);
  fill(x, 4, 0, 1);
  backend::HostView xv(x.data(), x.size() * sizeof(float)), yv(y.data(), y.size() * sizeof(float));
  const backend::Tensor tx{&xv, 0, GgmlType::F32, kNp, kC}, ty{&yv, 0, GgmlType::F32, kNp, kF};
  for (auto _ : state) {
    backend::cpu().begin(pool())->matmul(*m.weights().layers[0].fc1, tx, ty);  // the CPU runs it at once
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GFLOPs"] = benchmark::Counter(2.0 * kNp * kC * kF * double(state.iterations()) * 1e-9,
                                                benchmark::Counter::kIsRate);
}

// The machine's float FMA peak per ISA: independent register-only FMA chains on every pool thread
// (no loads), 2 flops per lane. The tile's FLOP count divided by this is the encoder's lower bound.
__attribute__((target("avx512f"))) float fma_chains_512(int64_t n) {
  __m512 a[12];
  const __m512 m = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(1e-3f);
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(float(i));
  for (int64_t k = 0; k < n; ++k)
    for (int i = 0; i < 12; ++i) a[i] = _mm512_fmadd_ps(a[i], m, c);
  __m512 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, a[i]);
  float v[16];
  _mm512_storeu_ps(v, s);
  return v[0] + v[15];
}
__attribute__((target("avx2,fma"))) float fma_chains_256(int64_t n) {
  __m256 a[12];
  const __m256 m = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(1e-3f);
  for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(float(i));
  for (int64_t k = 0; k < n; ++k)
    for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], m, c);
  __m256 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, a[i]);
  float v[8];
  _mm256_storeu_ps(v, s);
  return v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
}

void BM_PeakFma(benchmark::State& state, k::Isa isa) {
  if (!k::isa_supported(isa)) return state.SkipWithError("ISA not supported by this CPU");
  const int64_t n = 1 << 22, lanes = isa == k::Isa::kAvx512 ? 16 : 8;
  std::vector<float> sink(static_cast<size_t>(pool().size()));
  for (auto _ : state) {
    pool().run(pool().size(), [&](int64_t t, int) {
      sink[size_t(t)] = isa == k::Isa::kAvx512 ? fma_chains_512(n) : fma_chains_256(n);
    });
    benchmark::DoNotOptimize(sink.data());
  }
  state.counters["GFLOPs"] = benchmark::Counter(2.0 * 12 * double(lanes) * double(n) * pool().size() *
                                                    double(state.iterations()) * 1e-9,
                                                benchmark::Counter::kIsRate);
}

void register_all() {
  for (k::Isa isa : {k::Isa::kAvx512, k::Isa::kAvx2}) {
    const std::string in = k::isa_name(isa);
    for (GgmlType t : {GgmlType::F16, GgmlType::F32, GgmlType::BF16, GgmlType::Q8_0}) {
      const std::string tn = ggml_type_name(t);
      benchmark::RegisterBenchmark(("BM_VisionTile/" + tn + "/" + in).c_str(), BM_VisionTiles, t, isa, int64_t(1),
                                   int64_t(1))
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond)
          ->MinTime(2.0);
      // 4 tiles (a 640x480 image has 13, a 512x512 one 17): 1, 2 or 4 tiles per pass
      if (t == GgmlType::F16)
        for (int64_t per_pass : {int64_t(1), int64_t(2), int64_t(4)}) {
          const std::string name = "BM_VisionTiles4/" + tn + "/" + in + "/per_pass" + std::to_string(per_pass);
          benchmark::RegisterBenchmark(name.c_str(), BM_VisionTiles, t, isa, int64_t(4), per_pass)
              ->UseRealTime()
              ->Unit(benchmark::kMillisecond)
              ->MinTime(2.0);
        }
      benchmark::RegisterBenchmark(("BM_VisionFc1/" + tn + "/" + in).c_str(), BM_VisionFc1, t, isa)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
    benchmark::RegisterBenchmark(("BM_PeakFma/" + in).c_str(), BM_PeakFma, isa)->UseRealTime()->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_VisionAttention/" + in).c_str(), BM_VisionAttention, isa)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
