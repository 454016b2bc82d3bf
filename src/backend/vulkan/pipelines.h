// Compute pipelines, created on first use from the embedded SPIR-V and cached by (module,
// specialization constants). Every pipeline binds storage buffers 0..n-1 through push descriptors
// and takes up to 128 bytes of push constants; one layout per binding count. A lookup allocates
// nothing: a decode step looks up ~330 pipelines.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

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
  static constexpr size_t kMaxConstants = 4;

  explicit Pipelines(Context& ctx);
  ~Pipelines();
  Pipelines(const Pipelines&) = delete;
  Pipelines& operator=(const Pipelines&) = delete;

  // The pipeline of module `name` with constants[i] as specialization constant i (constant 0 is
  // the workgroup size where the shader takes it). Throws Error for an unknown module.
  const Pipeline& get(std::string_view name, uint32_t n_bindings, std::span<const uint32_t> constants);
  size_t size() const;  // pipelines created so far

 private:
  // (module, constants): owned in the cache, viewed by a lookup
  struct KeyView {
    std::string_view name;
    std::span<const uint32_t> constants;
  };
  struct Key {
    std::string name;
    std::array<uint32_t, kMaxConstants> constants{};
    size_t n_constants = 0;
    KeyView view() const { return {name, std::span(constants.data(), n_constants)}; }
  };
  struct Less {
    using is_transparent = void;
    static bool less(const KeyView& a, const KeyView& b);
    template <class A, class B>
    bool operator()(const A& a, const B& b) const { return less(as_view(a), as_view(b)); }
    static KeyView as_view(const Key& k) { return k.view(); }
    static KeyView as_view(const KeyView& k) { return k; }
  };

  Context& ctx_;
  mutable std::mutex mutex_;
  VkDescriptorSetLayout set_layouts_[kMaxBindings + 1] = {};
  VkPipelineLayout layouts_[kMaxBindings + 1] = {};
  std::map<Key, Pipeline, Less> cache_;
};

}  // namespace smolvlm::vk
