#include "backend/vulkan/pipelines.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "backend/vulkan/shader_table.h"
#include "base/error.h"

namespace smolvlm::vk {

Pipelines::Pipelines(Context& ctx) : ctx_(ctx) {
  const Functions& f = fn();
  for (uint32_t n = 1; n <= kMaxBindings; ++n) {
    VkDescriptorSetLayoutBinding b[kMaxBindings] = {};
    for (uint32_t i = 0; i < n; ++i) {
      b[i].binding = i;
      b[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
      b[i].descriptorCount = 1;
      b[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
    }
    VkDescriptorSetLayoutCreateInfo si{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    si.flags = VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR;
    si.bindingCount = n;
    si.pBindings = b;
    check(f.vkCreateDescriptorSetLayout(ctx.device(), &si, nullptr, &set_layouts_[n]), "vkCreateDescriptorSetLayout");
    VkPushConstantRange pc{VK_SHADER_STAGE_COMPUTE_BIT, 0, kPushBytes};
    VkPipelineLayoutCreateInfo li{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    li.setLayoutCount = 1;
    li.pSetLayouts = &set_layouts_[n];
    li.pushConstantRangeCount = 1;
    li.pPushConstantRanges = &pc;
    check(f.vkCreatePipelineLayout(ctx.device(), &li, nullptr, &layouts_[n]), "vkCreatePipelineLayout");
  }
}

Pipelines::~Pipelines() {
  const Functions& f = fn();
  for (auto& [key, p] : cache_) f.vkDestroyPipeline(ctx_.device(), p.pipeline, nullptr);
  for (uint32_t n = 1; n <= kMaxBindings; ++n) {
    f.vkDestroyPipelineLayout(ctx_.device(), layouts_[n], nullptr);
    f.vkDestroyDescriptorSetLayout(ctx_.device(), set_layouts_[n], nullptr);
  }
}

size_t Pipelines::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cache_.size();
}

bool Pipelines::Less::less(const KeyView& a, const KeyView& b) {
  if (a.name != b.name) return a.name < b.name;
  return std::lexicographical_compare(a.constants.begin(), a.constants.end(), b.constants.begin(), b.constants.end());
}

const Pipeline& Pipelines::get(std::string_view name, uint32_t n_bindings, std::span<const uint32_t> constants) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = cache_.find(KeyView{name, constants}); it != cache_.end()) return it->second;
  if (n_bindings == 0 || n_bindings > kMaxBindings) fail("pipeline ", name, ": ", n_bindings, " bindings");
  if (constants.size() > kMaxConstants) fail("pipeline ", name, ": ", constants.size(), " specialization constants");
  Key key{std::string(name), {}, constants.size()};
  std::copy(constants.begin(), constants.end(), key.constants.begin());
  const SpirvModule* mod = nullptr;
  for (const SpirvModule& m : spirv_modules())
    if (name == m.name) mod = &m;
  if (mod == nullptr) fail("no SPIR-V module '", name, "' in this build");

  const Functions& f = fn();
  VkShaderModuleCreateInfo mi{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  mi.codeSize = mod->bytes;
  mi.pCode = mod->code;
  VkShaderModule shader = VK_NULL_HANDLE;
  check(f.vkCreateShaderModule(ctx_.device(), &mi, nullptr, &shader), "vkCreateShaderModule");
  std::vector<VkSpecializationMapEntry> entries(constants.size());
  for (uint32_t i = 0; i < constants.size(); ++i) entries[i] = {i, i * 4u, 4};
  VkSpecializationInfo spec{};
  spec.mapEntryCount = static_cast<uint32_t>(entries.size());
  spec.pMapEntries = entries.data();
  spec.dataSize = constants.size() * 4;
  spec.pData = constants.data();
  VkComputePipelineCreateInfo ci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  ci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  ci.stage.module = shader;
  ci.stage.pName = "main";
  ci.stage.pSpecializationInfo = constants.empty() ? nullptr : &spec;
  ci.layout = layouts_[n_bindings];
  Pipeline p;
  p.layout = layouts_[n_bindings];
  p.n_bindings = n_bindings;
  const VkResult r = f.vkCreateComputePipelines(ctx_.device(), VK_NULL_HANDLE, 1, &ci, nullptr, &p.pipeline);
  f.vkDestroyShaderModule(ctx_.device(), shader, nullptr);
  check(r, cat("vkCreateComputePipelines(", name, ")").c_str());
  return cache_.emplace(std::move(key), p).first->second;
}

}  // namespace smolvlm::vk
