// Compute pipelines, created on first use from the embedded SPIR-V and cached by (module,
// specialization constants). Every pipeline binds storage buffers 0..n-1 through push descriptors
// and takes up to 128 bytes of push constants; one layout per binding count.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "backend/vulkan/device.h"

namespace smolvlm::vk {

struct Pipeline {
  VkPipeline pipeline = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  uint32_t n_bindings = 0;
};

class Pipelines {
 public:
  static constexpr uint32_t kMaxBindings = 6;
  static constexpr uint32_t kPushBytes = 128;

  explicit Pipelines(Context& ctx);
  ~Pipelines();
  Pipelines(const Pipelines&) = delete;
  Pipelines& operator=(const Pipelines&) = delete;

  // The pipeline of module `name` with constants[i] as specialization constant i (constant 0 is
  // the workgroup size where the shader takes it). Throws Error for an unknown module.
  const Pipeline& get(const std::string& name, uint32_t n_bindings, const std::vector<uint32_t>& constants);
  size_t size() const;  // pipelines created so far

 private:
  Context& ctx_;
  mutable std::mutex mutex_;
  VkDescriptorSetLayout set_layouts_[kMaxBindings + 1] = {};
  VkPipelineLayout layouts_[kMaxBindings + 1] = {};
  std::map<std::pair<std::string, std::vector<uint32_t>>, Pipeline> cache_;
};

}  // namespace smolvlm::vk
