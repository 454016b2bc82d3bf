// The text decoder with layers offloaded to the test GPU (lavapipe in CI): every golden GGUF of
// tiny512 and tiny384, num_gpu 0 (the CPU), 1 (the last layer and the output on the GPU: the
// pass crosses from the CPU once) and all (input, layers and output on the GPU: one submit per
// pass), against the CPU path, llama.cpp's golden logits, and for F32 the float64 reference.
//
// The GPU sums in f32 with unquantized activations, where the CPU (like llama.cpp) rounds the
// activations of quantized weights to Q8 blocks; so (rel = max |x - ref| / max |ref| per prompt):
//   F32 weights vs ref/ (float64): 1e-4 (as the CPU's bound; measured ~1e-6)
//   every type vs the CPU path and vs llama.cpp: 3e-2 (golden README §7: an engine that rounds
//     differently moves logits by 1-3e-2 after an activation on a rounding boundary)
//   greedy tokens equal the CPU path's, except at a near tie (gap <= 2 * 3e-2 * max|logit|); decode
//     logits compared up to that step
// The prefill's fp16 matmul tiles (with shaderFloat16) serve F16 and quantized weights only: F32
// and BF16 weights keep f32 tiles.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "backend/vulkan/vulkan_backend.h"
#include "model/text/text_generate.h"
#include "support/gpu.h"
#include "test_text_model_util.h"

namespace smolvlm {
namespace {

using testing::load_npy;
using testing::text::golden;
using testing::text::GoldenRun;
using testing::text::rel_diff;
using testing::text::run_golden_protocol;

constexpr int64_t kGreedy = 16;
constexpr double kVsRef = 1e-4, kVsCpu = 3e-2;

// The last n layers and the output on the GPU; the input too when n covers every layer.
TextPlacement offload(const std::shared_ptr<backend::Device>& gpu, int64_t n_layer, int64_t n) {
  TextPlacement p;
  p.keep = gpu;
  for (int64_t l = 0; l < n_layer; ++l) p.layers.push_back(l >= n_layer - n ? gpu.get() : &backend::cpu());
  if (n > 0) p.output = gpu.get();
  if (n >= n_layer) p.input = gpu.get();
  return p;
}

std::vector<int32_t> prompt(const std::string& model, int k) {
  return load_npy(golden(model, "inputs/prompt_" + std::to_string(k) + ".npy")).i32();
}

// Greedy tokens equal, or diverging at a near tie of the CPU's logits at that step.
void expect_same_greedy(const GoldenRun& gpu, const GoldenRun& cpu, int64_t V, const std::string& what) {
  for (size_t s = 0; s < cpu.greedy.size(); ++s) {
    if (gpu.greedy[s] == cpu.greedy[s]) continue;
    const float* row = s == 0 ? cpu.logits.data() + cpu.logits.size() - V : cpu.gen_logits.data() + (s - 1) * V;
    float scale = 0;
    for (int64_t i = 0; i < V; ++i) scale = std::max(scale, std::abs(row[i]));
    const double gap = double(row[cpu.greedy[s]]) - double(row[gpu.greedy[s]]);
    std::printf("  %s: greedy diverges at step %zu (gap %.2e of max|logit|)\n", what.c_str(), s, gap / scale);
    EXPECT_LE(gap, 2 * kVsCpu * scale) << what << ": greedy step " << s << " is not a near tie";
    return;
  }
}

using Param = std::tuple<std::string, std::string>;  // model, variant

class TextModelGpu : public ::testing::TestWithParam<Param> {};

TEST_P(TextModelGpu, OffloadedLayersMatchTheCpuAndLlamaCpp) {
  const auto& [model_name, variant] = GetParam();
  SMOLVLM_REQUIRE_SHARED("golden/" + model_name + "/gguf/text-" + variant + ".gguf");
  SMOLVLM_REQUIRE_GPU(gpu);
  const std::string path = golden(model_name, "gguf/text-" + variant + ".gguf");
  const TextModel cpu = TextModel::open(path);
  const int64_t L = cpu.config().n_layer, V = cpu.config().n_vocab;
  for (const int64_t n_gpu : {int64_t{1}, L}) {
    const TextModel model = TextModel::open(path, offload(gpu, L, n_gpu));
    for (int k = 0; k < 4; ++k) {
      const std::string K = std::to_string(k), what = model_name + " " + variant + " num_gpu " +
                                                        std::to_string(n_gpu) + " prompt " + K;
      for (const GgmlType kv : {GgmlType::F32, GgmlType::F16}) {
        if (kv == GgmlType::F16 && k > 0) continue;  // the F16 cache on one prompt
        const GoldenRun want = run_golden_protocol(cpu, prompt(model_name, k), kGreedy, kv);
        const GoldenRun got = run_golden_protocol(model, prompt(model_name, k), kGreedy, kv);
        // decode logits up to the first step where the greedy tokens differ (then the inputs differ)
        size_t same = 0;
        while (same + 1 < want.greedy.size() && got.greedy[same] == want.greedy[same]) ++same;
        const double vs_cpu = rel_diff(got.logits, want.logits);
        const double gen_cpu = rel_diff({got.gen_logits.data(), same * size_t(V)}, {want.gen_logits.data(), same * size_t(V)});
        const auto llama = load_npy(golden(model_name, "llamacpp/text/" + variant + "/logits_p" + K + ".npy")).f32();
        const double vs_cpp = kv == GgmlType::F32 ? rel_diff(got.logits, llama) : 0.0;
        std::printf("  %s %s cache: vs CPU %.2e (decode %.2e), vs llama.cpp %.2e\n", what.c_str(),
                    ggml_type_name(kv).c_str(), vs_cpu, gen_cpu, vs_cpp);
        EXPECT_LE(vs_cpu, kVsCpu) << what;
        EXPECT_LE(gen_cpu, kVsCpu) << what;
        EXPECT_LE(vs_cpp, kVsCpu) << what;
        expect_same_greedy(got, want, V, what);
        if (variant == "F32" && kv == GgmlType::F32) {
          const auto ref = load_npy(golden(model_name, "ref/logits_prompt_" + K + ".npy")).f32();
          const auto ref_gen = load_npy(golden(model_name, "ref/gen_logits_prompt_" + K + ".npy")).f32();
          auto ref_greedy = load_npy(golden(model_name, "ref/greedy_prompt_" + K + ".npy")).i32();
          ref_greedy.resize(kGreedy);  // the reference continues further
          EXPECT_LE(rel_diff(got.logits, ref), kVsRef) << what;
          EXPECT_LE(rel_diff(got.gen_logits, {ref_gen.data(), got.gen_logits.size()}), kVsRef) << what;
          EXPECT_EQ(got.greedy, ref_greedy) << what;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, TextModelGpu,
                         ::testing::Combine(::testing::Values("tiny512", "tiny384"),
                                            ::testing::Values("F32", "F16", "Q8_0", "Q4_0", "Q4_K_M", "Q5_K_M")),
                         [](const auto& p) { return std::get<0>(p.param) + "_" + std::get<1>(p.param); });

// A decode step with everything on the GPU is one sync point (one fence wait; a step longer than
// the recorder's first chunk is submitted in a few pieces as it is recorded); a prefill chunk too;
// the weights are not uploaded again.
TEST(TextModelGpuPass, AFullyOffloadedStepIsOneSyncPoint) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/text-Q4_K_M.gguf");
  SMOLVLM_REQUIRE_GPU(gpu);
  const TextModel model = TextModel::open(golden("tiny512", "gguf/text-Q4_K_M.gguf"), offload(gpu, 2, 2));
  kernels::ThreadPool pool(2);
  TextState s = model.new_state({.n_ctx = 64});
  std::vector<float> logits(static_cast<size_t>(model.config().n_vocab));
  const auto before_prefill = vk::backend_stats(*gpu);
  const std::vector<int32_t> prompt = {1, 5, 9, 13, 17, 21, 25, 29, 33, 37};
  model.forward(TextInput::tokens(prompt), s, LogitRows::kLast, logits.data(), pool);
  const auto before = vk::backend_stats(*gpu);
  for (int32_t id : {3, 4, 5}) model.forward(TextInput::tokens({&id, 1}), s, LogitRows::kLast, logits.data(), pool);
  const auto after = vk::backend_stats(*gpu);
  EXPECT_EQ(before.waits - before_prefill.waits, 1u) << "the prefill chunk";
  EXPECT_EQ(after.waits - before.waits, 3u) << "three decode steps";
  EXPECT_GE(after.submits - before.submits, 3u);
  EXPECT_EQ(after.passes - before.passes, 3u);
  EXPECT_EQ(after.weight_bytes, before_prefill.weight_bytes) << "weights are uploaded once, at load";
  const uint64_t dispatches = (after.dispatches - before.dispatches) / 3, barriers = (after.barriers - before.barriers) / 3;
  std::printf("  a decode step of 2 layers: %llu dispatches, %llu barriers\n", (unsigned long long)dispatches,
              (unsigned long long)barriers);
  // fused (Ops::attention_inputs, rms_norm_matmul, silu_mul_matmul_add), a layer is 8 dispatches in 5
  // levels: norm+q/k/v with q and k rotated, k and v into the cache; attention; o_proj; norm+gate/up;
  // silu*up+down. Around them: the token's upload, its embedding, norm+head, the read. (Before the
  // q/k/v epilogue: 11 in 6; before any fusion: 15 in 10.)
  if (std::getenv("SMOLVLM_VK_NO_FUSE") == nullptr) {
    EXPECT_LE(dispatches, 2 * 8 + 2u);
    EXPECT_LE(barriers, 2 * 5 + 4u);
  }
}

// decode_batch on the GPU: the steps of several sequences in one pass give each sequence what it
// gets alone (the matvec sums each column in the same order: bit-identical).
TEST(TextModelGpuPass, BatchedDecodeEqualsDecodingEachAlone) {
  SMOLVLM_REQUIRE_SHARED("golden/tiny512/gguf/text-Q8_0.gguf");
  SMOLVLM_REQUIRE_GPU(gpu);
  for (const int64_t n_gpu : {int64_t{1}, int64_t{2}}) {
    const TextModel model = TextModel::open(golden("tiny512", "gguf/text-Q8_0.gguf"), offload(gpu, 2, n_gpu));
    const int64_t V = model.config().n_vocab;
    kernels::ThreadPool pool(2);
    constexpr int kSeq = 3, kSteps = 6;
    std::vector<std::vector<float>> alone(kSeq);
    std::vector<TextState> states;
    std::vector<int32_t> next(kSeq);
    for (int k = 0; k < kSeq; ++k) {
      const auto p = prompt("tiny512", k);
      TextState s = model.new_state({.n_ctx = 128});
      std::vector<float> last(static_cast<size_t>(V));
      model.forward(TextInput::tokens(p), s, LogitRows::kLast, last.data(), pool);
      greedy_continuation(model, s, last, kSteps, pool, &alone[k]);
      states.push_back(model.new_state({.n_ctx = 128}));
      model.forward(TextInput::tokens(p), states.back(), LogitRows::kLast, last.data(), pool);
      next[k] = argmax(last.data(), V);
    }
    TextActivations act = model.new_activations(kSeq);
    std::vector<TextState*> ptrs;
    for (TextState& s : states) ptrs.push_back(&s);
    std::vector<float> logits(static_cast<size_t>(kSeq * V));
    for (int step = 0; step < kSteps; ++step) {
      model.decode_batch(next, ptrs, act, logits.data(), pool);
      for (int k = 0; k < kSeq; ++k) {
        const std::span<const float> got(logits.data() + k * V, size_t(V)), want(alone[k].data() + step * V, size_t(V));
        EXPECT_TRUE(std::equal(got.begin(), got.end(), want.begin()))
            << "num_gpu " << n_gpu << " sequence " << k << " step " << step << ": rel " << rel_diff(got, want);
        next[k] = argmax(got.data(), V);
      }
    }
  }
}

}  // namespace
}  // namespace smolvlm
