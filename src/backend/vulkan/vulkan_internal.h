// Internal to the Vulkan backend: its Buffer and Matrix, the recording slot a pass borrows, and
// the device they belong to. vulkan_backend.cpp (memory, weights, passes) and vulkan_ops.cpp
// (one function per op) share it.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "backend/backend.h"
#include "backend/vulkan/memory.h"
#include "backend/vulkan/pipelines.h"
#include "backend/vulkan/recorder.h"
#include "backend/vulkan/vulkan_backend.h"

namespace smolvlm::vk {

class VulkanBuffer final : public backend::Buffer {
 public:
  VulkanBuffer(Context& ctx, uint64_t bytes, const std::string& what) : mem_(ctx, bytes, MemoryKind::kDevice, what), bytes_(bytes) {}
  size_t bytes() const override { return bytes_; }
  VkBuffer handle() const { return mem_.handle(); }

 private:
  DeviceBuffer mem_;
  size_t bytes_;
};

class VulkanMatrix final : public backend::Matrix {
 public:
  VulkanMatrix(std::unique_ptr<VulkanBuffer> buf, GgmlType type, int64_t rows, int64_t cols)
      : buf_(std::move(buf)), type_(type), rows_(rows), cols_(cols) {}
  GgmlType type() const override { return type_; }
  int64_t rows() const override { return rows_; }
  int64_t cols() const override { return cols_; }
  size_t bytes() const override { return ggml_row_size(type_, cols_) * static_cast<size_t>(rows_); }
  VkBuffer handle() const { return buf_->handle(); }

 private:
  std::unique_ptr<VulkanBuffer> buf_;
  GgmlType type_;
  int64_t rows_, cols_;
};

// What a pass records with: a recorder and device-local scratch (uploaded ids, RoPE tables),
// reused by later passes.
struct Slot {
  explicit Slot(Context& ctx) : recorder(ctx) {}
  Recorder recorder;
  std::vector<std::unique_ptr<VulkanBuffer>> scratch;
  size_t scratch_chunk = 0;
  uint64_t scratch_used = 0;
};

class VulkanDevice final : public backend::Device {
 public:
  explicit VulkanDevice(std::shared_ptr<Context> ctx);
  ~VulkanDevice() override;

  std::string name() const override { return ctx_->info().name; }
  bool is_cpu() const override { return false; }
  std::unique_ptr<backend::Buffer> alloc(size_t bytes, const std::string& what) override;
  std::unique_ptr<backend::Matrix> upload(const kernels::WeightView& w, kernels::PackOptions options) override;
  std::unique_ptr<backend::Matrix> upload_table(const kernels::WeightView& w) override {
    if (w.cols % 8 != 0) fail("the GPU backend reads table rows of a multiple of 8 values, not ", w.cols);
    return upload(w, kernels::SumOrder::kGgml);
  }
  backend::Tensor upload_f32(const float* data, int64_t rows, int64_t cols, std::unique_ptr<backend::Buffer>& keep) override;
  bool supports(GgmlType t, int64_t cols) const override;
  std::unique_ptr<backend::Ops> begin(kernels::ThreadPool& pool) override;

  Context& ctx() const { return *ctx_; }
  Pipelines& pipelines() { return pipelines_; }
  std::unique_ptr<Slot> take_slot();
  void return_slot(std::unique_ptr<Slot> slot);
  BackendStats stats() const;
  // Whether prefill and vision matmuls take the tensor-core tiles (matmul.comp COOPMAT): the caps
  // allow them and check_matmul() found them exact on this device the first time it was asked
  // (else they stay off for the device's life, and stderr says why).
  bool coopmat();

 private:
  void upload_bytes(VkBuffer dst, const void* src, uint64_t bytes);

  std::shared_ptr<Context> ctx_;
  Pipelines pipelines_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Slot>> free_slots_;
  std::atomic<uint64_t> passes_{0}, weight_bytes_{0};
  RecorderStats retired_{};  // stats of slots no longer pooled
  std::once_flag coopmat_once_;
  bool coopmat_ = false;
};

// The Ops of one pass (vulkan_ops.cpp); `coopmat`: the matmuls of more than a few tokens take
// the tensor-core tiles (for F16 and quantized weights).
std::unique_ptr<backend::Ops> make_vulkan_ops(VulkanDevice& device, bool coopmat);

// A matmul small enough to check on any device, run through the shader-core or the tensor-core
// tiles (matmul_check.cpp): an F16 weight [200, 96] times 150 tokens (a partial row and token tile
// of 128 and of 64, three k steps of 32), once stored and once added to values already there.
// Weights and activations are small multiples of 1/4 and 1/8, so fp16 holds them and every f32
// sum is exact: the result must equal the host's bit for bit. "" when it does, else the first
// differing element.
std::string check_matmul(VulkanDevice& device, bool coopmat);

}  // namespace smolvlm::vk
