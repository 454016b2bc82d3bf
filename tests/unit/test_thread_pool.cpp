// ThreadPool: every task runs exactly once with a valid thread index, for pool sizes 1..3 and many
// back-to-back small jobs (the decode pattern); exceptions reach the caller and the pool survives.
#include <atomic>
#include <stdexcept>
#include <vector>

#include "kernels/thread_pool.h"
#include "support/testing.h"

namespace smolvlm {
namespace {

using kernels::ThreadPool;

TEST(ThreadPool, EveryTaskOnceForSizes1To3) {
  for (int threads = 1; threads <= 3; ++threads) {
    ThreadPool pool(threads);
    ASSERT_EQ(pool.size(), threads);
    for (int64_t n : {0, 1, 2, 3, 7, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      std::atomic<bool> bad_thread{false};
      pool.run(n, [&](int64_t task, int thread) {
        if (thread < 0 || thread >= threads) bad_thread = true;
        hits[static_cast<size_t>(task)].fetch_add(1);
      });
      EXPECT_FALSE(bad_thread);
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "threads " << threads << " n " << n;
    }
  }
}

TEST(ThreadPool, ManySmallJobs) {
  ThreadPool pool(3);
  std::atomic<int64_t> sum{0};
  int64_t want = 0;
  for (int job = 0; job < 5000; ++job) {
    const int64_t n = 1 + job % 5;
    pool.run(n, [&](int64_t task, int) { sum.fetch_add(task + 1, std::memory_order_relaxed); });
    want += n * (n + 1) / 2;
  }
  EXPECT_EQ(sum.load(), want);
}

TEST(ThreadPool, ExceptionsPropagateAndPoolSurvives) {
  for (int threads = 1; threads <= 3; ++threads) {
    ThreadPool pool(threads);
    for (int round = 0; round < 50; ++round) {
      EXPECT_THROW(pool.run(100, [&](int64_t task, int) {
        if (task == round) throw std::runtime_error("task failed");
      }), std::runtime_error);
      std::atomic<int> count{0};
      pool.run(64, [&](int64_t, int) { count.fetch_add(1); });
      EXPECT_EQ(count.load(), 64);
    }
  }
}

TEST(ThreadPool, DefaultSizeIsPhysicalCores) {
  ThreadPool pool(0);
  EXPECT_GE(pool.size(), 1);
}

}  // namespace
}  // namespace smolvlm
