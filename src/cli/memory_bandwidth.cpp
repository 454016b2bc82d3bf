#include "cli/memory_bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include <sys/mman.h>

#include "base/error.h"

namespace smolvlm::cli {
namespace {

// Sum of n words with independent accumulators, so the loads are the only limit. The compiler
// vectorizes the plain loop once per target below and the loader picks the widest the CPU has
// (16-byte loads alone can leave a core short of the memory's bandwidth). The result is kept so
// that the reads cannot be optimized away.
__attribute__((target_clones("avx512f", "avx2", "default"))) uint64_t sum_words(const uint64_t* p, size_t n) {
  uint64_t s[8] = {};
  for (size_t i = 0; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) s[j] += p[i + j];
  }
  return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
}

}  // namespace

std::vector<double> measure_read_bandwidth(kernels::ThreadPool& pool, size_t bytes, int passes) {
  constexpr size_t kSlice = size_t(4) << 20;  // per task; many slices balance the threads
  const size_t n_slices = std::max<size_t>(1, bytes / kSlice);
  const size_t words_per_slice = kSlice / sizeof(uint64_t);
  std::unique_ptr<uint64_t, decltype(&std::free)> buf(
      static_cast<uint64_t*>(std::aligned_alloc(kSlice, n_slices * kSlice)), &std::free);
  if (!buf) fail("cannot allocate ", (n_slices * kSlice) >> 20, " MiB to measure memory bandwidth");
#ifdef MADV_HUGEPAGE
  ::madvise(buf.get(), n_slices * kSlice, MADV_HUGEPAGE);  // advisory, as for the packed weights
#endif
  // Touch every page (from all threads, so the pages are spread like the model's would be).
  pool.run(static_cast<int64_t>(n_slices), [&](int64_t s, int) {
    std::memset(buf.get() + s * words_per_slice, static_cast<int>(s & 0xff), kSlice);
  });

  std::vector<uint64_t> sink(static_cast<size_t>(pool.size()), 0);
  std::vector<double> gbs;
  for (int r = 0; r < std::max(1, passes); ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.run(static_cast<int64_t>(n_slices), [&](int64_t s, int thread) {
      sink[static_cast<size_t>(thread)] += sum_words(buf.get() + s * words_per_slice, words_per_slice);
    });
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    gbs.push_back(static_cast<double>(n_slices * kSlice) / secs / 1e9);
  }
  volatile uint64_t keep = 0;
  for (uint64_t v : sink) keep = keep + v;
  (void)keep;
  return gbs;
}

}  // namespace smolvlm::cli
