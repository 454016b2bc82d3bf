// Vulkan instance and devices: what each device offers (DeviceInfo, for `smolvlm devices` and
// the choice of a device) and the limits the backend works within (Caps: queried, never assumed).
// The SMOLVLM_VK_* switches are read here, once, into Switches:
//   SMOLVLM_VK_VALIDATE=1       the Khronos validation layer with synchronization validation; every
//                               message is printed and counted (validation_messages())
//   SMOLVLM_VK_NO_SUBGROUP=1    shared-memory reductions instead of subgroup operations
//   SMOLVLM_VK_NO_FP16=1        no fp16 arithmetic (f32 matmul tiles)
//   SMOLVLM_VK_MATMUL_TILE=128  prefill/vision matmul tiles of 128 x 128 (8 x 8 outputs per invocation)
//                               instead of 64 x 64 (4 x 4): to measure which a device runs faster
//   SMOLVLM_VK_NO_COOPMAT=1     no tensor-core matmul tiles (NV cooperative matrix) where the device has them
//   SMOLVLM_VK_ATTN_NARROW=1    prefill/vision attention one float and one key at a time instead of in
//                               vec4s rescaled once per 4 keys (attention_tiled.comp WIDE, 1.37x faster on
//                               lavapipe): to measure the two on real GPUs
//   SMOLVLM_VK_MAX_RANGE=BYTES  a smaller maxStorageBufferRange (tests the range splitting)
// and, to test the failure paths on any device:
//   SMOLVLM_VK_ALLOC_LIMIT=BYTES  device-local allocations fail beyond this total (as a device that
//                               reports more free memory than it can give)
//   SMOLVLM_VK_LOSE_DEVICE_AFTER=N  the device is "lost" at the N+1-th pass (prefill chunk, decode
//                               step) of the process
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend/vulkan/loader.h"

namespace smolvlm::vk {

struct Switches {
  bool validate = false;
  bool no_subgroup = false;
  bool no_fp16 = false;
  bool fuse = true;  // the fused decode ops (Ops::rms_norm_matmul, ...); SMOLVLM_VK_NO_FUSE=1 runs them apart
  bool attention_split = true;  // decode attention split over the keys deep into a context; SMOLVLM_VK_NO_SPLIT=1
  bool coopmat = true;  // NV cooperative matrix tiles where the device offers them; SMOLVLM_VK_NO_COOPMAT=1
  bool attention_wide = true;  // the vec4 tiled attention where head_dim allows; SMOLVLM_VK_ATTN_NARROW=1
  uint32_t matmul_tile = 64;  // 64 or 128 (the shader-core tiles)
  uint32_t matvec_threads = 0;  // a decode matvec's workgroup (16 .. 256, a power of two); 0: the default
  int64_t submit_every = -1;    // dispatches per submitted chunk of a pass (recorder.h); 0: one submit; < 0: the ramp
  uint64_t max_range = 0;  // 0: the device's
  uint64_t alloc_limit = 0;  // 0: none
  uint64_t lose_after = 0;   // 0: never
};
const Switches& switches();  // from the environment, read once

// One physical device as the loader lists it.
struct DeviceInfo {
  int index = 0;               // position in the loader's list (what --device N names)
  std::string name;            // "NVIDIA GeForce RTX 4070 Laptop GPU", "llvmpipe (LLVM 15.0.6, 256 bits)"
  std::string type;            // discrete, integrated, virtual, cpu, other
  std::string driver;          // "NVIDIA 550.54", "llvmpipe Mesa 22.3.6"
  std::string api;             // "1.3.239"
  uint64_t memory = 0;         // the largest device-local heap
  uint64_t budget = 0;         // what this process may still use of it (VK_EXT_memory_budget, else the heap)
  bool usable = false;         // meets smolvlm's requirements
  std::string unusable_reason; // when not
  std::vector<std::string> features;  // the features smolvlm uses that it has
};

// The limits and features the backend works within (after the switches).
struct Caps {
  uint32_t subgroup_size = 0;       // 0: no subgroup arithmetic in compute shaders (or switched off)
  bool fp16 = false;                // shaderFloat16
  bool memory_budget = false;       // VK_EXT_memory_budget
  // VK_NV_cooperative_matrix with 16 x 16 x 16 fp16 -> f32 subgroup products, fp16, subgroups of
  // 32 and the Vulkan memory model: matmul.comp's COOPMAT tiles can run (whether they do is
  // VulkanDevice::coopmat(), after a self-check on the device)
  bool coopmat_nv = false;
  uint64_t max_storage_range = 0;   // maxStorageBufferRange (or the forced one)
  uint64_t max_allocation = 0;      // maxMemoryAllocationSize
  uint64_t storage_align = 0;       // minStorageBufferOffsetAlignment
  uint32_t max_shared = 0;          // maxComputeSharedMemorySize
  uint32_t max_groups[3] = {};      // maxComputeWorkGroupCount
  uint32_t max_group_size = 0;      // maxComputeWorkGroupInvocations
  uint32_t max_push_constants = 0;  // maxPushConstantsSize
};

class Instance;

// Lists every Vulkan device. Empty (and why, in `why`) without a loader or devices.
std::vector<DeviceInfo> list_devices(std::string* why);

// The device smolvlm uses by default: the first usable discrete GPU, else an integrated one; a
// CPU-type device (lavapipe) only when named. -1 when none.
int default_device(const std::vector<DeviceInfo>& devices);
// The device `spec` names: an index, or a case-insensitive substring of the name. Throws Error
// listing the devices when none or several match, or the match is unusable.
int find_device(const std::vector<DeviceInfo>& devices, const std::string& spec);

// An opened device: logical device, one compute queue, caps. Shared by every model on it.
class Context {
 public:
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // Opens device `index` of list_devices() (the same Context for the same index while one lives).
  static std::shared_ptr<Context> open(int index);

  const DeviceInfo& info() const { return info_; }
  const Caps& caps() const { return caps_; }
  VkDevice device() const { return device_; }
  VkPhysicalDevice physical() const { return physical_; }
  uint32_t queue_family() const { return queue_family_; }
  // Submits under the queue's lock (a queue is externally synchronized).
  void submit(const VkSubmitInfo& info, VkFence fence);
  // Device-local memory this process may still allocate (budget - usage, or heap - our allocations).
  uint64_t free_memory() const;
  // Memory type index for `type_bits` with `flags` (preferring `preferred` on top); throws if none.
  uint32_t memory_type(uint32_t type_bits, VkMemoryPropertyFlags flags, VkMemoryPropertyFlags preferred = 0) const;
  void count_allocation(int64_t bytes) { allocated_ += bytes; }  // device-local bytes we hold
  int64_t allocated() const { return allocated_.load(); }
  // Lost devices stay lost: every later submit fails.
  bool lost() const { return lost_.load(); }
  void mark_lost() { lost_ = true; }
  // Counts a pass; with SMOLVLM_VK_LOSE_DEVICE_AFTER=N the device is lost from the N+1-th on.
  void count_pass() {
    if (switches().lose_after > 0 && ++passes_ > switches().lose_after) lost_ = true;
  }

 private:
  Context() = default;
  std::shared_ptr<Instance> instance_;
  DeviceInfo info_;
  Caps caps_;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  uint32_t queue_family_ = 0;
  uint32_t device_heap_ = 0;
  VkPhysicalDeviceMemoryProperties memory_{};
  std::mutex queue_mutex_;
  std::atomic<int64_t> allocated_{0};
  std::atomic<bool> lost_{false};
  std::atomic<uint64_t> passes_{0};
};

// Validation-layer messages (warnings and errors) seen so far in this process.
uint64_t validation_messages();

}  // namespace smolvlm::vk
