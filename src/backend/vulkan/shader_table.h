// The compiled SPIR-V modules embedded in the binary (generated at build time from shaders/*.comp
// by glslc, checked by spirv-val; see shaders/shaders.cmake for the variants).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace smolvlm::vk {

struct SpirvModule {
  const char* name;  // "matvec_Q8_0_sg", "attention_f16", ...
  const uint32_t* code;
  size_t bytes;
};

std::span<const SpirvModule> spirv_modules();

}  // namespace smolvlm::vk
