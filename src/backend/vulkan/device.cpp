#include "backend/vulkan/device.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string_view>

#include "backend/backend.h"
#include "base/error.h"

namespace smolvlm::vk {
namespace {

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
}

std::atomic<uint64_t> g_validation_messages{0};

VKAPI_ATTR VkBool32 VKAPI_CALL on_validation(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                             VkDebugUtilsMessageTypeFlagsEXT, const VkDebugUtilsMessengerCallbackDataEXT* d,
                                             void*) {
  if (severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
    ++g_validation_messages;
    std::fprintf(stderr, "smolvlm: Vulkan validation: %s\n", d != nullptr && d->pMessage ? d->pMessage : "?");
  }
  return VK_FALSE;
}

bool has_extension(const std::vector<VkExtensionProperties>& list, const char* name) {
  return std::any_of(list.begin(), list.end(), [&](const VkExtensionProperties& e) { return std::strcmp(e.extensionName, name) == 0; });
}

std::string version_string(uint32_t v) {
  return cat(VK_API_VERSION_MAJOR(v), ".", VK_API_VERSION_MINOR(v), ".", VK_API_VERSION_PATCH(v));
}

const char* type_name(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
  }
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

const Switches& switches() {
  static const Switches s = [] {
    Switches w;
    w.validate = env_flag("SMOLVLM_VK_VALIDATE");
    w.no_subgroup = env_flag("SMOLVLM_VK_NO_SUBGROUP");
    w.no_fp16 = env_flag("SMOLVLM_VK_NO_FP16");
    w.fuse = !env_flag("SMOLVLM_VK_NO_FUSE");
    w.attention_split = !env_flag("SMOLVLM_VK_NO_SPLIT");
    w.coopmat = !env_flag("SMOLVLM_VK_NO_COOPMAT");
    w.attention_wide = !env_flag("SMOLVLM_VK_ATTN_NARROW");
    if (const char* t = std::getenv("SMOLVLM_VK_MATMUL_TILE"); t != nullptr && std::string_view(t) == "128")
      w.matmul_tile = 128;
    const auto number = [](const char* name) -> uint64_t {
      const char* v = std::getenv(name);
      return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : 0;
    };
    w.max_range = number("SMOLVLM_VK_MAX_RANGE");
    if (const uint64_t t = number("SMOLVLM_VK_MATVEC_THREADS"); t == 16 || t == 32 || t == 64 || t == 128 || t == 256)
      w.matvec_threads = static_cast<uint32_t>(t);
    if (const char* v = std::getenv("SMOLVLM_VK_SUBMIT_EVERY"); v != nullptr && *v != '\0')
      w.submit_every = std::clamp<int64_t>(std::strtoll(v, nullptr, 10), -1, 1 << 20);  // < 0: the ramp
    w.alloc_limit = number("SMOLVLM_VK_ALLOC_LIMIT");
    w.lose_after = number("SMOLVLM_VK_LOSE_DEVICE_AFTER");
    return w;
  }();
  return s;
}

uint64_t validation_messages() { return g_validation_messages.load(); }

// The process's one instance (with the validation layer when switched on).
class Instance {
 public:
  static std::shared_ptr<Instance> get(std::string* why) {
    static std::mutex m;
    static std::shared_ptr<Instance> instance;
    static std::string error;
    std::lock_guard<std::mutex> lock(m);
    if (instance || !error.empty()) {
      if (why != nullptr) *why = error;
      return instance;
    }
    try {
      instance = std::shared_ptr<Instance>(new Instance());
    } catch (const Error& e) {
      error = e.what();
      if (why != nullptr) *why = error;
    }
    return instance;
  }
  ~Instance() {
    if (messenger_ != VK_NULL_HANDLE) fn().vkDestroyDebugUtilsMessengerEXT(handle_, messenger_, nullptr);
    if (handle_ != VK_NULL_HANDLE) fn().vkDestroyInstance(handle_, nullptr);
  }
  VkInstance handle() const { return handle_; }
  const std::vector<VkPhysicalDevice>& physical() const { return physical_; }

 private:
  Instance() {
    std::string why;
    if (!load_loader(&why)) fail(why);
    const Functions& f = fn();
    uint32_t version = VK_API_VERSION_1_0;
    if (f.vkEnumerateInstanceVersion != nullptr) f.vkEnumerateInstanceVersion(&version);
    if (version < VK_API_VERSION_1_2) fail("the Vulkan loader is version ", version_string(version), "; 1.2 is needed");

    std::vector<const char*> layers, extensions;
    const bool validate = switches().validate;
    if (validate) {
      uint32_t n = 0;
      f.vkEnumerateInstanceLayerProperties(&n, nullptr);
      std::vector<VkLayerProperties> avail(n);
      f.vkEnumerateInstanceLayerProperties(&n, avail.data());
      const bool found = std::any_of(avail.begin(), avail.end(), [](const VkLayerProperties& l) {
        return std::strcmp(l.layerName, "VK_LAYER_KHRONOS_validation") == 0;
      });
      if (!found) fail("SMOLVLM_VK_VALIDATE is set but VK_LAYER_KHRONOS_validation is not installed (vulkan-validationlayers)");
      layers.push_back("VK_LAYER_KHRONOS_validation");
      extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    }
    VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
    app.pApplicationName = "smolvlm";
    app.apiVersion = VK_API_VERSION_1_2;
    VkValidationFeatureEnableEXT enables[] = {VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
    VkValidationFeaturesEXT features{VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
    features.enabledValidationFeatureCount = 1;
    features.pEnabledValidationFeatures = enables;
    VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    ci.pApplicationInfo = &app;
    ci.enabledLayerCount = static_cast<uint32_t>(layers.size());
    ci.ppEnabledLayerNames = layers.data();
    ci.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
    ci.ppEnabledExtensionNames = extensions.data();
    if (validate) ci.pNext = &features;
    check(f.vkCreateInstance(&ci, nullptr, &handle_), "vkCreateInstance");
    load_instance_functions(handle_);
    if (validate) {
      VkDebugUtilsMessengerCreateInfoEXT mi{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
      mi.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
      mi.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
      mi.pfnUserCallback = on_validation;
      check(f.vkCreateDebugUtilsMessengerEXT(handle_, &mi, nullptr, &messenger_), "vkCreateDebugUtilsMessengerEXT");
    }
    uint32_t n = 0;
    check(f.vkEnumeratePhysicalDevices(handle_, &n, nullptr), "vkEnumeratePhysicalDevices");
    physical_.resize(n);
    check(f.vkEnumeratePhysicalDevices(handle_, &n, physical_.data()), "vkEnumeratePhysicalDevices");
    physical_.resize(n);
  }

  VkInstance handle_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  std::vector<VkPhysicalDevice> physical_;
};

namespace {

// Everything queried about one physical device.
struct Probe {
  DeviceInfo info;
  Caps caps;
  uint32_t queue_family = 0;
  uint32_t device_heap = 0;
  bool push_descriptor = false, storage16 = false, storage8 = false;
  bool coopmat_ext = false;  // VK_NV_cooperative_matrix with the feature, the shape and the memory model
};

// Whether the device multiplies 16 x 16 x 16 fp16 matrices into f32 ones per subgroup (the one
// shape matmul.comp's COOPMAT tiles use; every NVIDIA GPU with tensor cores lists it).
bool coopmat_shape(VkPhysicalDevice pd) {
  const Functions& f = fn();
  if (f.vkGetPhysicalDeviceCooperativeMatrixPropertiesNV == nullptr) return false;
  uint32_t n = 0;
  if (f.vkGetPhysicalDeviceCooperativeMatrixPropertiesNV(pd, &n, nullptr) != VK_SUCCESS) return false;
  std::vector<VkCooperativeMatrixPropertiesNV> props(n, {VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV});
  if (f.vkGetPhysicalDeviceCooperativeMatrixPropertiesNV(pd, &n, props.data()) != VK_SUCCESS) return false;
  return std::any_of(props.begin(), props.begin() + n, [](const VkCooperativeMatrixPropertiesNV& c) {
    return c.MSize == 16 && c.NSize == 16 && c.KSize == 16 && c.AType == VK_COMPONENT_TYPE_FLOAT16_NV &&
           c.BType == VK_COMPONENT_TYPE_FLOAT16_NV && c.CType == VK_COMPONENT_TYPE_FLOAT32_NV &&
           c.DType == VK_COMPONENT_TYPE_FLOAT32_NV && c.scope == VK_SCOPE_SUBGROUP_NV;
  });
}

Probe probe(VkPhysicalDevice pd, int index) {
  const Functions& f = fn();
  Probe p;
  DeviceInfo& d = p.info;
  d.index = index;

  VkPhysicalDeviceSubgroupProperties sub{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceDriverProperties drv{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  VkPhysicalDeviceMaintenance3Properties m3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  sub.pNext = &drv;
  drv.pNext = &m3;
  VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  props.pNext = &sub;
  f.vkGetPhysicalDeviceProperties2(pd, &props);
  const VkPhysicalDeviceProperties& pr = props.properties;
  const VkPhysicalDeviceLimits& lim = pr.limits;
  d.name = pr.deviceName;
  d.type = type_name(pr.deviceType);
  d.api = version_string(pr.apiVersion);
  d.driver = cat(drv.driverName, " ", drv.driverInfo);

  uint32_t n_ext = 0;
  f.vkEnumerateDeviceExtensionProperties(pd, nullptr, &n_ext, nullptr);
  std::vector<VkExtensionProperties> ext(n_ext);
  f.vkEnumerateDeviceExtensionProperties(pd, nullptr, &n_ext, ext.data());
  p.push_descriptor = has_extension(ext, VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME);
  p.caps.memory_budget = has_extension(ext, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
  const bool coopmat_listed = has_extension(ext, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME);

  VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceCooperativeMatrixFeaturesNV fcm{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
  f11.pNext = &f12;
  if (coopmat_listed) f12.pNext = &fcm;
  VkPhysicalDeviceFeatures2 feats{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  feats.pNext = &f11;
  const bool v12 = pr.apiVersion >= VK_API_VERSION_1_2;
  if (v12) f.vkGetPhysicalDeviceFeatures2(pd, &feats);
  p.storage16 = f11.storageBuffer16BitAccess;
  p.storage8 = f12.storageBuffer8BitAccess;

  const Switches& sw = switches();
  const bool subgroup_ok = (sub.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                           (sub.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) &&
                           (sub.supportedOperations & VK_SUBGROUP_FEATURE_BASIC_BIT) && sub.subgroupSize >= 4 &&
                           (sub.subgroupSize & (sub.subgroupSize - 1)) == 0;
  Caps& c = p.caps;
  c.subgroup_size = subgroup_ok && !sw.no_subgroup ? sub.subgroupSize : 0;
  c.fp16 = f12.shaderFloat16 && !sw.no_fp16;
  p.coopmat_ext = coopmat_listed && fcm.cooperativeMatrix && f12.vulkanMemoryModel && coopmat_shape(pd);
  c.coopmat_nv = p.coopmat_ext && sw.coopmat && c.fp16 && c.subgroup_size == 32 && lim.maxComputeSharedMemorySize >= 32768;
  c.max_storage_range = lim.maxStorageBufferRange;
  if (sw.max_range > 0) c.max_storage_range = std::min<uint64_t>(c.max_storage_range, sw.max_range);
  c.max_allocation = m3.maxMemoryAllocationSize;
  c.storage_align = lim.minStorageBufferOffsetAlignment;
  c.max_shared = lim.maxComputeSharedMemorySize;
  for (int i = 0; i < 3; ++i) c.max_groups[i] = lim.maxComputeWorkGroupCount[i];
  c.max_group_size = lim.maxComputeWorkGroupInvocations;
  c.max_push_constants = lim.maxPushConstantsSize;

  VkPhysicalDeviceMemoryBudgetPropertiesEXT budget{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
  VkPhysicalDeviceMemoryProperties2 mem{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2};
  if (c.memory_budget) mem.pNext = &budget;
  f.vkGetPhysicalDeviceMemoryProperties2(pd, &mem);
  const VkPhysicalDeviceMemoryProperties& mp = mem.memoryProperties;
  for (uint32_t h = 0; h < mp.memoryHeapCount; ++h) {
    if (!(mp.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)) continue;
    if (mp.memoryHeaps[h].size > d.memory) {
      d.memory = mp.memoryHeaps[h].size;
      p.device_heap = h;
    }
  }
  d.budget = d.memory;
  if (c.memory_budget) {
    const uint64_t b = budget.heapBudget[p.device_heap], u = budget.heapUsage[p.device_heap];
    d.budget = b > u ? b - u : 0;
  }

  uint32_t n_q = 0;
  f.vkGetPhysicalDeviceQueueFamilyProperties(pd, &n_q, nullptr);
  std::vector<VkQueueFamilyProperties> qf(n_q);
  f.vkGetPhysicalDeviceQueueFamilyProperties(pd, &n_q, qf.data());
  int compute = -1;
  for (uint32_t i = 0; i < n_q && compute < 0; ++i)
    if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) compute = static_cast<int>(i);
  p.queue_family = compute < 0 ? 0 : static_cast<uint32_t>(compute);

  if (!v12) d.unusable_reason = cat("Vulkan ", d.api, " (1.2 is needed)");
  else if (compute < 0) d.unusable_reason = "no compute queue";
  else if (!p.push_descriptor) d.unusable_reason = "no VK_KHR_push_descriptor";
  else if (!p.storage16 || !p.storage8) d.unusable_reason = "no 8/16-bit storage buffer access";
  else if (c.max_shared < 16384) d.unusable_reason = cat("only ", c.max_shared, " bytes of shared memory");
  else if (c.max_push_constants < 128) d.unusable_reason = cat("only ", c.max_push_constants, " bytes of push constants");
  d.usable = d.unusable_reason.empty();

  if (c.subgroup_size > 0) d.features.push_back(cat("subgroup ", c.subgroup_size));
  if (c.fp16) d.features.push_back("fp16");
  if (p.storage16 && p.storage8) d.features.push_back("8/16-bit storage");
  if (f12.shaderInt8) d.features.push_back("int8");
  if (p.push_descriptor) d.features.push_back("push descriptors");
  if (c.memory_budget) d.features.push_back("memory budget");
  if (c.coopmat_nv) d.features.push_back("NV cooperative matrix (tensor-core matmul tiles)");
  else if (p.coopmat_ext) d.features.push_back("NV cooperative matrix (not used: switched off, or no fp16 or 32-wide subgroups)");
  d.features.push_back(cat("shared ", c.max_shared / 1024, " KiB"));
  d.features.push_back(cat("storage range ", c.max_storage_range >> 20, " MiB"));
  return p;
}

}  // namespace

std::vector<DeviceInfo> list_devices(std::string* why) {
  std::vector<DeviceInfo> out;
  const std::shared_ptr<Instance> inst = Instance::get(why);
  if (!inst) return out;
  for (size_t i = 0; i < inst->physical().size(); ++i) out.push_back(probe(inst->physical()[i], static_cast<int>(i)).info);
  if (out.empty() && why != nullptr) *why = "the Vulkan loader lists no devices";
  return out;
}

int default_device(const std::vector<DeviceInfo>& devices) {
  for (const char* type : {"discrete", "integrated"}) {
    for (const DeviceInfo& d : devices)
      if (d.usable && d.type == type) return d.index;
  }
  return -1;
}

int find_device(const std::vector<DeviceInfo>& devices, const std::string& spec) {
  std::string list;
  for (const DeviceInfo& d : devices) list += cat("\n  ", d.index, ": ", d.name, " (", d.type, ")");
  if (devices.empty()) fail("device '", spec, "': no Vulkan device is available");
  int found = -1;
  const bool numeric = !spec.empty() && std::all_of(spec.begin(), spec.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (numeric) {
    const long i = std::strtol(spec.c_str(), nullptr, 10);
    if (i >= 0 && i < static_cast<long>(devices.size())) found = static_cast<int>(i);
  } else {
    for (const DeviceInfo& d : devices) {
      if (lower(d.name).find(lower(spec)) == std::string::npos) continue;
      if (found >= 0) fail("device '", spec, "' matches several devices; name one by its index:", list);
      found = d.index;
    }
  }
  if (found < 0) fail("device '", spec, "' matches no Vulkan device; these are available:", list);
  const DeviceInfo& d = devices[static_cast<size_t>(found)];
  if (!d.usable) fail("device ", d.index, " (", d.name, ") cannot run smolvlm: ", d.unusable_reason);
  return found;
}

std::shared_ptr<Context> Context::open(int index) {
  static std::mutex m;
  static std::map<int, std::weak_ptr<Context>> open_contexts;
  std::lock_guard<std::mutex> lock(m);
  if (auto c = open_contexts[index].lock(); c && !c->lost()) return c;

  std::string why;
  std::shared_ptr<Instance> inst = Instance::get(&why);
  if (!inst) fail(why);
  if (index < 0 || index >= static_cast<int>(inst->physical().size())) fail("no Vulkan device ", index);
  const Functions& f = fn();
  auto c = std::shared_ptr<Context>(new Context());
  c->instance_ = inst;
  c->physical_ = inst->physical()[static_cast<size_t>(index)];
  Probe p = probe(c->physical_, index);
  if (!p.info.usable) fail("device ", index, " (", p.info.name, ") cannot run smolvlm: ", p.info.unusable_reason);
  c->info_ = p.info;
  c->caps_ = p.caps;
  c->queue_family_ = p.queue_family;
  c->device_heap_ = p.device_heap;
  f.vkGetPhysicalDeviceMemoryProperties(c->physical_, &c->memory_);

  const float priority = 1.0f;
  VkDeviceQueueCreateInfo qi{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qi.queueFamilyIndex = c->queue_family_;
  qi.queueCount = 1;
  qi.pQueuePriorities = &priority;
  VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  f11.pNext = &f12;
  f11.storageBuffer16BitAccess = VK_TRUE;
  f12.storageBuffer8BitAccess = VK_TRUE;
  f12.shaderFloat16 = c->caps_.fp16 ? VK_TRUE : VK_FALSE;
  VkPhysicalDeviceCooperativeMatrixFeaturesNV fcm{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
  fcm.cooperativeMatrix = VK_TRUE;
  VkPhysicalDeviceFeatures2 feats{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  feats.pNext = &f11;
  std::vector<const char*> exts = {VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME};
  if (c->caps_.memory_budget) exts.push_back(VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
  if (c->caps_.coopmat_nv) {  // the COOPMAT shaders declare CooperativeMatrixNV and VulkanMemoryModel
    exts.push_back(VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME);
    f12.vulkanMemoryModel = VK_TRUE;
    f12.pNext = &fcm;
  }
  VkDeviceCreateInfo di{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  di.pNext = &feats;
  di.queueCreateInfoCount = 1;
  di.pQueueCreateInfos = &qi;
  di.enabledExtensionCount = static_cast<uint32_t>(exts.size());
  di.ppEnabledExtensionNames = exts.data();
  check(f.vkCreateDevice(c->physical_, &di, nullptr, &c->device_), "vkCreateDevice");
  load_device_functions(c->device_);
  f.vkGetDeviceQueue(c->device_, c->queue_family_, 0, &c->queue_);
  open_contexts[index] = c;
  return c;
}

Context::~Context() {
  if (device_ != VK_NULL_HANDLE) {
    fn().vkDeviceWaitIdle(device_);
    fn().vkDestroyDevice(device_, nullptr);
  }
}

void Context::submit(const VkSubmitInfo& info, VkFence fence) {
  if (lost_) throw backend::DeviceLost(cat("the GPU (", info_.name, ") was lost (VK_ERROR_DEVICE_LOST)"));
  std::lock_guard<std::mutex> lock(queue_mutex_);
  const VkResult r = fn().vkQueueSubmit(queue_, 1, &info, fence);
  if (r == VK_ERROR_DEVICE_LOST) {
    lost_ = true;
    throw backend::DeviceLost(cat("the GPU (", info_.name, ") was lost (VK_ERROR_DEVICE_LOST)"));
  }
  check(r, "vkQueueSubmit");
}

uint64_t Context::free_memory() const {
  if (caps_.memory_budget) {
    VkPhysicalDeviceMemoryBudgetPropertiesEXT budget{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
    VkPhysicalDeviceMemoryProperties2 mem{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2};
    mem.pNext = &budget;
    fn().vkGetPhysicalDeviceMemoryProperties2(physical_, &mem);
    const uint64_t b = budget.heapBudget[device_heap_], u = budget.heapUsage[device_heap_];
    return b > u ? b - u : 0;
  }
  const int64_t used = allocated_.load();
  return info_.memory > static_cast<uint64_t>(used) ? info_.memory - static_cast<uint64_t>(used) : 0;
}

uint32_t Context::memory_type(uint32_t bits, VkMemoryPropertyFlags flags, VkMemoryPropertyFlags preferred) const {
  for (const VkMemoryPropertyFlags want : {flags | preferred, flags}) {
    for (uint32_t i = 0; i < memory_.memoryTypeCount; ++i)
      if ((bits & (1u << i)) && (memory_.memoryTypes[i].propertyFlags & want) == want) return i;
  }
  fail("device ", info_.name, " has no memory type with properties 0x", std::hex, flags);
}

}  // namespace smolvlm::vk
