#include "backend/vulkan/loader.h"

#include <dlfcn.h>

#include <mutex>

#include "base/error.h"

namespace smolvlm::vk {

Functions& fn() {
  static Functions f;
  return f;
}

bool load_loader(std::string* why) {
  static std::once_flag once;
  static std::string error;
  std::call_once(once, [] {
    void* lib = ::dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) lib = ::dlopen("libvulkan.so", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      error = "no Vulkan loader (libvulkan.so.1)";
      return;
    }
    Functions& f = fn();
    f.vkGetInstanceProcAddr = reinterpret_cast<PFN_vkGetInstanceProcAddr>(::dlsym(lib, "vkGetInstanceProcAddr"));
    if (f.vkGetInstanceProcAddr == nullptr) {
      error = "libvulkan.so.1 has no vkGetInstanceProcAddr";
      return;
    }
#define SMOLVLM_VK_LOAD(name) f.name = reinterpret_cast<PFN_##name>(f.vkGetInstanceProcAddr(nullptr, #name));
    SMOLVLM_VK_GLOBAL_FUNCTIONS(SMOLVLM_VK_LOAD)
#undef SMOLVLM_VK_LOAD
    if (f.vkCreateInstance == nullptr) error = "the Vulkan loader has no vkCreateInstance";
  });
  if (!error.empty() && why != nullptr) *why = error;
  return error.empty();
}

void load_instance_functions(VkInstance instance) {
  Functions& f = fn();
#define SMOLVLM_VK_LOAD(name) f.name = reinterpret_cast<PFN_##name>(f.vkGetInstanceProcAddr(instance, #name));
  SMOLVLM_VK_INSTANCE_FUNCTIONS(SMOLVLM_VK_LOAD)
#undef SMOLVLM_VK_LOAD
}

void load_device_functions(VkDevice device) {
  Functions& f = fn();
#define SMOLVLM_VK_LOAD(name) f.name = reinterpret_cast<PFN_##name>(f.vkGetDeviceProcAddr(device, #name));
  SMOLVLM_VK_DEVICE_FUNCTIONS(SMOLVLM_VK_LOAD)
#undef SMOLVLM_VK_LOAD
}

const char* result_name(VkResult r) {
  switch (r) {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_NOT_READY: return "VK_NOT_READY";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_INCOMPLETE: return "VK_INCOMPLETE";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_FORMAT_NOT_SUPPORTED: return "VK_ERROR_FORMAT_NOT_SUPPORTED";
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
    case VK_ERROR_INVALID_SHADER_NV: return "VK_ERROR_INVALID_SHADER_NV";
    default: return "VK_ERROR_UNKNOWN";
  }
}

void check(VkResult r, const char* what) {
  if (r != VK_SUCCESS) fail(what, ": ", result_name(r), " (", static_cast<int>(r), ")");
}

}  // namespace smolvlm::vk
