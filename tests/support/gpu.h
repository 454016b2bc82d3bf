// The Vulkan device the GPU tests run on: $SMOLVLM_TEST_DEVICE (an index or name substring), else
// the default GPU, else lavapipe (Mesa's CPU implementation, which CI installs). Tests skip
// cleanly when there is none. Every test that used the device checks at its end that the
// validation layer (SMOLVLM_VK_VALIDATE=1 runs) reported nothing.
#pragma once

#include <memory>

#include "backend/backend.h"
#include "support/testing.h"

namespace smolvlm::testing {

// Null (and why) when there is no usable Vulkan device.
std::shared_ptr<backend::Device> test_gpu(std::string* why = nullptr);

#define SMOLVLM_REQUIRE_GPU(var)                                         \
  std::string var##_why;                                                 \
  const auto var = ::smolvlm::testing::test_gpu(&var##_why);             \
  if (!var) GTEST_SKIP() << "no Vulkan device: " << var##_why;           \
  ::smolvlm::testing::ValidationCheck var##_validation

// Fails the test if the validation layer printed anything while it lived.
class ValidationCheck {
 public:
  ValidationCheck();
  ~ValidationCheck();

 private:
  uint64_t start_;
};

}  // namespace smolvlm::testing
