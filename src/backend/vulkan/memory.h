// Vulkan memory: one VkBuffer with its own memory (weights arenas, KV caches, activations,
// staging for uploads and readbacks). Device-local memory that the device cannot give is an
// backend::OutOfDeviceMemory naming the size and what it was for.
#pragma once

#include <cstdint>
#include <string>

#include "backend/vulkan/device.h"

namespace smolvlm::vk {

enum class MemoryKind {
  kDevice,    // device-local (the weights, caches and activations)
  kUpload,    // host-visible, coherent: the host writes, the device copies from it
  kReadback,  // host-visible, coherent, cached when possible: the device copies into it
};

class DeviceBuffer {
 public:
  DeviceBuffer(Context& ctx, uint64_t bytes, MemoryKind kind, const std::string& what);
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  VkBuffer handle() const { return buffer_; }
  uint64_t size() const { return size_; }
  uint8_t* mapped() const { return mapped_; }  // host-visible kinds only

 private:
  Context& ctx_;
  VkBuffer buffer_ = VK_NULL_HANDLE;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  uint64_t size_ = 0;
  uint8_t* mapped_ = nullptr;
  bool device_local_ = false;
  uint64_t allocated_ = 0;
};

}  // namespace smolvlm::vk
