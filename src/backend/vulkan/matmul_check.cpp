// check_matmul: a matmul whose every sum is exact, run on the device and compared bit for bit with
// the host. The tensor-core tiles run only on GPUs that CI cannot reach, so a device proves them
// before its first prefill uses them (VulkanDevice::coopmat).
#include <vector>

#include "backend/vulkan/vulkan_internal.h"
#include "base/error.h"
#include "base/fp16.h"

namespace smolvlm::vk {

std::string matmul_mismatch(const std::vector<float>& got, const std::vector<float>& want, int64_t rows, const char* what) {
  if (got.size() != want.size()) return cat(what, ": ", got.size(), " values, not ", want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] == want[i]) continue;
    return cat(what, " element ", i, " (token ", int64_t(i) / rows, ", row ", int64_t(i) % rows, "): got ", got[i],
               ", want ", want[i]);
  }
  return "";
}

std::string check_matmul(VulkanDevice& device, bool coopmat) {
  constexpr int64_t kRows = 200, kCols = 96, kTokens = 150;
  // W in quarters from -1 to 1, X in eighths from -1 to 1: products are multiples of 1/32 below 1,
  // and 96 of them sum exactly in f32 whatever the order.
  std::vector<uint16_t> w(size_t(kRows * kCols));
  std::vector<float> wf(w.size()), x(size_t(kTokens * kCols)), base(size_t(kTokens * kRows));
  for (int64_t r = 0; r < kRows; ++r)
    for (int64_t k = 0; k < kCols; ++k) {
      wf[size_t(r * kCols + k)] = float((r * 7 + k * 3) % 9 - 4) / 4;
      w[size_t(r * kCols + k)] = fp32_to_fp16(wf[size_t(r * kCols + k)]);
    }
  for (int64_t t = 0; t < kTokens; ++t)
    for (int64_t k = 0; k < kCols; ++k) x[size_t(t * kCols + k)] = float((t * 5 + k * 11) % 17 - 8) / 8;
  for (size_t i = 0; i < base.size(); ++i) base[i] = float(int(i % 13) - 6);
  std::vector<float> want(base.size()), want_sum(base.size());
  for (int64_t t = 0; t < kTokens; ++t)
    for (int64_t r = 0; r < kRows; ++r) {
      float acc = 0;
      for (int64_t k = 0; k < kCols; ++k) acc += wf[size_t(r * kCols + k)] * x[size_t(t * kCols + k)];
      want[size_t(t * kRows + r)] = acc;
      want_sum[size_t(t * kRows + r)] = base[size_t(t * kRows + r)] + acc;
    }

  const auto weight = device.upload({GgmlType::F16, kRows, kCols, w.data()}, kernels::SumOrder::kFastest);
  const auto bx = device.alloc(x.size() * sizeof(float), "the matmul check's activations");
  const auto by = device.alloc(want.size() * sizeof(float), "the matmul check's products");
  const auto bs = device.alloc(want.size() * sizeof(float), "the matmul check's sums");
  const backend::Tensor tx{bx.get(), 0, GgmlType::F32, kTokens, kCols}, ty{by.get(), 0, GgmlType::F32, kTokens, kRows},
      ts{bs.get(), 0, GgmlType::F32, kTokens, kRows};
  std::vector<float> got(want.size()), got_sum(want.size());
  auto ops = make_vulkan_ops(device, coopmat);
  ops->write(tx, x.data());
  ops->write(ts, base.data());
  ops->matmul(*weight, tx, ty);
  ops->matmul_add(*weight, tx, ts, ty);
  ops->read(ty, got.data());
  ops->read(ts, got_sum.data());
  ops->finish();
  const std::string why = matmul_mismatch(got, want, kRows, "the product");
  return why.empty() ? matmul_mismatch(got_sum, want_sum, kRows, "the sum") : why;
}

}  // namespace smolvlm::vk
