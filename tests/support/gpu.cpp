#include "support/gpu.h"

#include <cstdlib>
#include <mutex>

#include "backend/vulkan/device.h"
#include "backend/vulkan/vulkan_backend.h"

namespace smolvlm::testing {

std::shared_ptr<backend::Device> test_gpu(std::string* why) {
  static std::mutex m;
  static std::shared_ptr<backend::Device> device;
  static std::string error;
  static bool tried = false;
  std::lock_guard<std::mutex> lock(m);
  if (!tried) {
    tried = true;
    const char* spec = std::getenv("SMOLVLM_TEST_DEVICE");
    device = vk::open_backend_for_tests(spec != nullptr ? spec : "", &error);
  }
  if (why != nullptr) *why = error;
  return device;
}

ValidationCheck::ValidationCheck() : start_(vk::validation_messages()) {}
ValidationCheck::~ValidationCheck() {
  EXPECT_EQ(vk::validation_messages(), start_) << "the Vulkan validation layer reported problems (see the log)";
}

}  // namespace smolvlm::testing
