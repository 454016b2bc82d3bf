#include "backend/vulkan/memory.h"

#include "backend/backend.h"
#include "backend/offload_plan.h"
#include "base/error.h"

namespace smolvlm::vk {

DeviceBuffer::DeviceBuffer(Context& ctx, uint64_t bytes, MemoryKind kind, const std::string& what) : ctx_(ctx) {
  const Functions& f = fn();
  size_ = bytes == 0 ? 16 : (bytes + 15) / 16 * 16;
  VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bi.size = size_;
  bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  check(f.vkCreateBuffer(ctx.device(), &bi, nullptr, &buffer_), "vkCreateBuffer");
  VkMemoryRequirements req{};
  f.vkGetBufferMemoryRequirements(ctx.device(), buffer_, &req);
  VkMemoryPropertyFlags flags = 0, preferred = 0;
  switch (kind) {
    case MemoryKind::kDevice: flags = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT; break;
    case MemoryKind::kUpload:
      flags = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
      break;
    case MemoryKind::kReadback:
      flags = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
      preferred = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
      break;
  }
  VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  ai.allocationSize = req.size;
  ai.memoryTypeIndex = ctx.memory_type(req.memoryTypeBits, flags, preferred);
  const uint64_t limit = switches().alloc_limit;
  const bool over = kind == MemoryKind::kDevice && limit > 0 && uint64_t(ctx.allocated()) + req.size > limit;
  const VkResult r = req.size > ctx.caps().max_allocation || over
                         ? VK_ERROR_OUT_OF_DEVICE_MEMORY
                         : f.vkAllocateMemory(ctx.device(), &ai, nullptr, &memory_);
  if (r != VK_SUCCESS) {
    f.vkDestroyBuffer(ctx.device(), buffer_, nullptr);
    throw backend::OutOfDeviceMemory(cat("the GPU (", ctx.info().name, ") could not allocate ",
                                         backend::human_bytes(req.size), " for ", what, ": ", result_name(r), " (",
                                         backend::human_bytes(ctx.free_memory()), " free)"));
  }
  check(f.vkBindBufferMemory(ctx.device(), buffer_, memory_, 0), "vkBindBufferMemory");
  if (kind != MemoryKind::kDevice) {
    void* p = nullptr;
    check(f.vkMapMemory(ctx.device(), memory_, 0, VK_WHOLE_SIZE, 0, &p), "vkMapMemory");
    mapped_ = static_cast<uint8_t*>(p);
  } else {
    device_local_ = true;
    allocated_ = req.size;
    ctx.count_allocation(static_cast<int64_t>(req.size));
  }
}

DeviceBuffer::~DeviceBuffer() {
  const Functions& f = fn();
  if (mapped_ != nullptr) f.vkUnmapMemory(ctx_.device(), memory_);
  f.vkDestroyBuffer(ctx_.device(), buffer_, nullptr);
  f.vkFreeMemory(ctx_.device(), memory_, nullptr);
  if (device_local_) ctx_.count_allocation(-static_cast<int64_t>(allocated_));
}

}  // namespace smolvlm::vk
