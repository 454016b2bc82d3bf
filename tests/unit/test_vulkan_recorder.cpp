// The Vulkan recorder's chunked submits (recorder.h): a long pass goes to the device in chunks
// while it is recorded, the host waits for it once, the results are those of one submit, and a
// pass abandoned with chunks in flight waits for them before its command buffers are reused. The
// CTest entry vulkan.submit_every1 reruns these and a model end to end with a chunk per barrier
// level, under the validation layer.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/vulkan/vulkan_backend.h"
#include "support/gpu.h"
#include "support/testing.h"

namespace smolvlm {
namespace {

using backend::Tensor;

// The submits a pass of `n` dispatches that each depend on the one before takes, by the policy
// recorder.h states: SMOLVLM_VK_SUBMIT_EVERY=N >= 0 chunks of N (0: one), else 24, 48, 96, 192, 192, ...
uint64_t expected_submits(uint64_t n) {
  const char* every = std::getenv("SMOLVLM_VK_SUBMIT_EVERY");
  const bool fixed = every != nullptr && *every != '\0' && std::strtoll(every, nullptr, 10) >= 0;
  uint64_t chunk = fixed ? std::strtoull(every, nullptr, 10) : 24, submits = 1;
  if (chunk == 0) return 1;
  for (uint64_t left = n; left > chunk;) {  // a full chunk, and more to come
    left -= chunk;
    ++submits;
    if (!fixed) chunk = std::min<uint64_t>(2 * chunk, 192);
  }
  return submits;
}

struct Chain {
  std::unique_ptr<backend::Buffer> xb, ub;
  Tensor x, u;
};

Chain make_chain(backend::Device& gpu, int64_t cols) {
  Chain c;
  c.xb = gpu.alloc(size_t(cols) * sizeof(float), "x");
  c.ub = gpu.alloc(size_t(cols) * sizeof(float), "u");
  c.x = {c.xb.get(), 0, GgmlType::F32, 1, cols};
  c.u = {c.ub.get(), 0, GgmlType::F32, 1, cols};
  return c;
}

TEST(VulkanRecorder, ALongPassIsSubmittedInChunksAndWaitedForOnce) {
  SMOLVLM_REQUIRE_GPU(gpu);
  kernels::ThreadPool pool(1);
  constexpr int64_t kCols = 1000, kAdds = 300;
  const Chain c = make_chain(*gpu, kCols);
  std::vector<float> x(kCols), u(kCols, 0.5f), y(kCols);
  for (int64_t i = 0; i < kCols; ++i) x[size_t(i)] = float(i % 97) - 48.0f;
  const auto before = vk::backend_stats(*gpu);
  {
    auto ops = gpu->begin(pool);
    ops->write(c.x, x.data());
    ops->write(c.u, u.data());
    for (int64_t i = 0; i < kAdds; ++i) ops->add(c.x, c.u);  // each waits for the one before
    ops->finish();
  }
  const auto after = vk::backend_stats(*gpu);  // (a pass's counts join the device's when it ends)
  auto ops = gpu->begin(pool);
  ops->read(c.x, y.data());
  ops->finish();
  for (int64_t i = 0; i < kCols; ++i)
    ASSERT_EQ(y[size_t(i)], x[size_t(i)] + 0.5f * kAdds) << "element " << i;  // exact in f32
  EXPECT_EQ(after.waits - before.waits, 1u);
  EXPECT_EQ(after.submits - before.submits, expected_submits(kAdds));
  EXPECT_EQ(after.barriers - before.barriers, uint64_t(kAdds) + 1)
      << "a chunk's opening barrier stands in for the one due where it begins (the pass's first, then "
         "one before each add)";
}

TEST(VulkanRecorder, AnAbandonedPassWaitsForItsChunksInFlight) {
  SMOLVLM_REQUIRE_GPU(gpu);
  kernels::ThreadPool pool(1);
  constexpr int64_t kCols = 4096;
  const Chain c = make_chain(*gpu, kCols);
  std::vector<float> x(kCols, 1.0f), u(kCols, 0.25f), y(kCols);
  for (int round = 0; round < 3; ++round) {
    {
      auto ops = gpu->begin(pool);  // dropped unfinished, as when an op throws mid-pass
      ops->write(c.x, x.data());
      ops->write(c.u, u.data());
      for (int i = 0; i < 100; ++i) ops->add(c.x, c.u);
    }
    auto ops = gpu->begin(pool);  // the same recorder (the device pools them) runs the next pass
    ops->write(c.x, x.data());
    ops->write(c.u, u.data());
    ops->add(c.x, c.u);
    ops->read(c.x, y.data());
    ops->finish();
    for (int64_t i = 0; i < kCols; ++i) ASSERT_EQ(y[size_t(i)], 1.25f) << "round " << round << ", element " << i;
  }
}

}  // namespace
}  // namespace smolvlm
