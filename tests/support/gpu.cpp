#include "support/gpu.h"

#include <cstdlib>
#include <mutex>

#include "backend/vulkan/device.h"
#include "backend/vulkan/vulkan_backend.h"
#include "base/error.h"

namespace smolvlm::testing {

std::shared_ptr<backend::Device> test_gpu(std::string* why) {
  static std::mutex m;
  static std::shared_ptr<backend::Device> device;
  static std::string error;
  static bool tried = false;
  std::lock_guard<std::mutex> lock(m);
  if (!tried) {
    tried = true;
    try {
      const auto list = vk::list_devices(&error);
      int index = -1;
      if (const char* spec = std::getenv("SMOLVLM_TEST_DEVICE"); spec != nullptr && *spec != '\0') {
        index = vk::find_device(list, spec);
      } else {
        index = vk::default_device(list);
        for (const auto& d : list)
          if (index < 0 && d.usable && d.type == "cpu") index = d.index;
      }
      if (index >= 0) device = vk::open_backend(index);
      else if (error.empty()) error = "no usable Vulkan device (install mesa-vulkan-drivers for lavapipe)";
    } catch (const Error& e) {
      error = e.what();
    }
  }
  if (why != nullptr) *why = error;
  return device;
}

ValidationCheck::ValidationCheck() : start_(vk::validation_messages()) {}
ValidationCheck::~ValidationCheck() {
  EXPECT_EQ(vk::validation_messages(), start_) << "the Vulkan validation layer reported problems (see the log)";
}

}  // namespace smolvlm::testing
