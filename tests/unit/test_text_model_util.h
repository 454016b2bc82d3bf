// Helpers for the text-model tests: golden paths, relative differences, a full golden-protocol run
// (prompt logits, greedy continuation, decode logits), an ISA guard, and rewriting a GGUF file in
// memory with changed keys or tensors (for the bad-input tests).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/error.h"
#include "io/gguf.h"
#include "kernels/isa.h"
#include "kernels/thread_pool.h"
#include "model/text/text_generate.h"
#include "model/text/text_model.h"
#include "support/isa_scope.h"
#include "support/testing.h"

namespace smolvlm::testing::text {

#define TEXT_EXPECT_THROW_MSG(stmt, needle)                                         \
  do {                                                                              \
    try {                                                                           \
      stmt;                                                                         \
      ADD_FAILURE() << "expected an Error mentioning '" << (needle) << "'";         \
    } catch (const ::smolvlm::Error& e) {                                           \
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what(); \
    }                                                                               \
  } while (0)

inline std::string golden(const std::string& model, const std::string& rel) {
  return shared_path("golden/" + model + "/" + rel).string();
}

// Skips the current test when this CPU cannot run the ISA named "scalar", "avx2" or "avx512".
#define SMOLVLM_REQUIRE_ISA(name)                                                      \
  if (!::smolvlm::kernels::isa_supported(*::smolvlm::kernels::parse_isa(name))) \
  GTEST_SKIP() << "this CPU has no " << (name)

// max |got - ref| / max |ref| (the golden README's "rel").
inline double rel_diff(std::span<const float> got, std::span<const float> ref) {
  EXPECT_EQ(got.size(), ref.size());
  double diff = 0, scale = 0;
  for (size_t i = 0; i < std::min(got.size(), ref.size()); ++i) {
    diff = std::max(diff, std::abs(double(got[i]) - double(ref[i])));
    scale = std::max(scale, std::abs(double(ref[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

// The golden protocol: the prompt as one batch (logits at every position), then the greedy
// continuation of n tokens, token s decoded at position n_prompt + s (gen_logits [n, V]).
struct GoldenRun {
  std::vector<float> logits;      // [n_prompt, V]
  std::vector<int32_t> greedy;    // [n]
  std::vector<float> gen_logits;  // [n, V]
};

inline GoldenRun run_golden_protocol(const TextModel& model, const std::vector<int32_t>& prompt, int64_t n,
                                     GgmlType kv_type, int64_t n_batch = 512, int threads = 2) {
  kernels::ThreadPool pool(threads);
  TextStateOptions o;
  o.kv_type = kv_type;
  o.n_batch = n_batch;
  o.n_ctx = static_cast<int64_t>(prompt.size()) + n;
  TextState state = model.new_state(o);
  const int64_t V = model.config().n_vocab;
  GoldenRun r;
  r.logits.resize(prompt.size() * V);
  model.forward(TextInput::tokens(prompt), state, LogitRows::kAll, r.logits.data(), pool);
  const std::span<const float> last(r.logits.data() + (prompt.size() - 1) * V, static_cast<size_t>(V));
  r.greedy = greedy_continuation(model, state, last, n, pool, &r.gen_logits);
  return r;
}

// Rewrites a GGUF file in memory: `edit_kv` may change the metadata, `keep` drops tensors,
// `retype` may give a tensor another type (its data is then zero bytes of the new size).
struct GgufEdit {
  std::function<void(GgufWriter&)> edit_kv = nullptr;
  std::function<bool(const std::string&)> keep = nullptr;
  std::function<GgmlType(const GgufTensorInfo&)> retype = nullptr;
  std::function<const GgufTensorInfo*(const GgufTensorInfo&)> data_from = nullptr;  // copy another tensor's data
};

inline std::vector<uint8_t> rewrite_gguf(const GgufFile& in, const GgufEdit& e) {
  GgufWriter w;
  for (const auto& kv : in.metadata()) w.set(kv.key, kv.value);
  if (e.edit_kv) e.edit_kv(w);
  std::vector<const GgufTensorInfo*> src;
  for (const auto& t : in.tensors()) {
    if (e.keep && !e.keep(t.name)) continue;
    w.add_tensor(t.name, e.retype ? e.retype(t) : t.type, t.ne);
    src.push_back(&t);
  }
  return w.write_memory([&](size_t i, const GgufTensorInfo& info, std::vector<uint8_t>& out) {
    const GgufTensorInfo* from = e.data_from ? e.data_from(*src[i]) : src[i];
    if (info.type != src[i]->type) {
      out.assign(info.nbytes, 0);
      return;
    }
    const auto bytes = in.tensor_data(*from);
    out.assign(bytes.begin(), bytes.end());
  });
}

// Our greedy tokens against llama.cpp's (or ref/'s): identical, or diverging at a step where llama.cpp's token
// is a near tie in our logits of that step (gap to our top-1 <= 2 * tol * max|logit|: both sides
// are within tol of the other's logits).
inline void expect_greedy_matches(const GoldenRun& r, const std::vector<int32_t>& ref, int64_t V, double tol,
                                  const std::string& what) {
  ASSERT_EQ(r.greedy.size(), ref.size());
  for (size_t s = 0; s < ref.size(); ++s) {
    if (r.greedy[s] == ref[s]) continue;
    const float* row = s == 0 ? r.logits.data() + r.logits.size() - V : r.gen_logits.data() + (s - 1) * V;
    float scale = 0;
    for (int64_t i = 0; i < V; ++i) scale = std::max(scale, std::abs(row[i]));
    const double gap = double(row[r.greedy[s]]) - double(row[ref[s]]);
    std::printf("  %s: greedy diverges at step %zu: ours %d, reference %d, gap %.2e of max|logit| %.3g\n",
                what.c_str(), s, r.greedy[s], ref[s], gap / scale, scale);
    EXPECT_LE(gap, 2 * tol * scale) << what << ": greedy step " << s << ": ours " << r.greedy[s] << ", reference "
                                    << ref[s] << " is not a near tie";
    return;
  }
}

}  // namespace smolvlm::testing::text
