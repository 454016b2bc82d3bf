// Streaming-read memory bandwidth, measured on the thread pool the model runs on: the denominator
// of `smolvlm bench`'s decode bound (a decode step streams every weight matrix once).
#pragma once

#include <cstddef>
#include <vector>

#include "kernels/thread_pool.h"

namespace smolvlm::cli {

// Reads a buffer of `bytes` (far larger than the last-level cache, on transparent huge pages like
// the packed weights a decode streams) `passes` times, every thread of `pool` summing its own
// slices, and returns each pass in GB/s (1e9 bytes per second).
std::vector<double> measure_read_bandwidth(kernels::ThreadPool& pool, size_t bytes = size_t(512) << 20, int passes = 5);

}  // namespace smolvlm::cli
