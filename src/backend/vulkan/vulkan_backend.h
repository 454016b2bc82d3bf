// The Vulkan device as a backend::Device. Compiled in when the build found glslc (SMOLVLM_VULKAN);
// otherwise open() says so and smolvlm runs on the CPU.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/vulkan/device.h"

namespace smolvlm::vk {

// Device `index` of list_devices() as a backend device (the same one while it lives). Throws Error.
std::shared_ptr<backend::Device> open_backend(int index);
// For tests and benchmarks: the device `spec` names (an index or a name substring; empty: the
// default GPU, else a CPU-type device such as lavapipe). Null, and why, when there is none.
std::shared_ptr<backend::Device> open_backend_for_tests(const std::string& spec, std::string* why);

// Counters of one backend device, for tests and `bench` (whole process, all passes).
struct BackendStats {
  uint64_t passes = 0, dispatches = 0, barriers = 0;
  uint64_t submits = 0;  // command buffers submitted (a long pass goes in chunks: recorder.h)
  uint64_t waits = 0;    // sync points the host waited at
  uint64_t weight_bytes = 0;  // uploaded weights
};
BackendStats backend_stats(const backend::Device& device);

// The device's copy bandwidth in GB/s (bytes read + written per second by vkCmdCopyBuffer between
// two device-local buffers of up to 256 MiB; the best of a few runs): the denominator of the
// decode bound on the GPU. 0 for the CPU.
double measure_bandwidth_gbs(backend::Device& device);

// The opened context behind a backend device (null for the CPU).
const Context* context_of(const backend::Device& device);

// Whether the device's prefill and vision matmuls run on its tensor cores (NV cooperative matrix
// tiles, once they passed their check on the device). False for the CPU.
bool uses_tensor_cores(backend::Device& device);
// The device's check of its matmul tiles, the tensor-core or the shader-core ones: "" when a
// matmul with exact sums came back bit for bit, else the first differing element. See
// check_matmul (vulkan_internal.h).
std::string check_matmul_tiles(backend::Device& device, bool tensor_cores);
// "" when got == want element for element, else "<what> element i (token t, row r): got g, want w"
// (the products of `rows` outputs per token).
std::string matmul_mismatch(const std::vector<float>& got, const std::vector<float>& want, int64_t rows, const char* what);

}  // namespace smolvlm::vk
