// The Vulkan loader, opened at run time (dlopen of libvulkan.so.1): a machine without Vulkan still
// runs smolvlm on the CPU. One process-wide function table; instance and device functions are
// loaded when an instance / device is created (a process uses one device at a time).
#pragma once

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

#include <string>

#include "backend/vulkan/vk_functions.h"

namespace smolvlm::vk {

struct Functions {
#define SMOLVLM_VK_DECLARE(name) PFN_##name name = nullptr;
  PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr = nullptr;
  SMOLVLM_VK_GLOBAL_FUNCTIONS(SMOLVLM_VK_DECLARE)
  SMOLVLM_VK_INSTANCE_FUNCTIONS(SMOLVLM_VK_DECLARE)
  SMOLVLM_VK_DEVICE_FUNCTIONS(SMOLVLM_VK_DECLARE)
#undef SMOLVLM_VK_DECLARE
};

// The table (empty until load_loader succeeded).
Functions& fn();

// Opens the loader once. Returns false (and why, in `why`) when there is none.
bool load_loader(std::string* why);
void load_instance_functions(VkInstance instance);
void load_device_functions(VkDevice device);

// "VK_ERROR_OUT_OF_DEVICE_MEMORY" etc.
const char* result_name(VkResult r);
// Throws Error "<what>: <result name>" unless r is VK_SUCCESS.
void check(VkResult r, const char* what);

}  // namespace smolvlm::vk
