// parallel_for over [0, n) on `threads` std::threads (0 = hardware concurrency). Work is handed out
// in chunks through an atomic counter; the first exception thrown by any worker is rethrown.
#pragma once

#include <cstdint>
#include <functional>

namespace smolvlm {

int default_threads();
void parallel_for(int64_t n, int threads, const std::function<void(int64_t begin, int64_t end)>& fn,
                  int64_t chunk = 1);

}  // namespace smolvlm
