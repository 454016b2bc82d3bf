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

 private:
  void upload_bytes(VkBuffer dst, const void* src, uint64_t bytes);

  std::shared_ptr<Context> ctx_;
  Pipelines pipelines_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Slot>> free_slots_;
  std::atomic<uint64_t> passes_{0}, weight_bytes_{0};
  RecorderStats retired_{};  // stats of slots no longer pooled
};

// The Ops of one pass (vulkan_ops.cpp).
std::unique_ptr<backend::Ops> make_vulkan_ops(VulkanDevice& device, kernels::ThreadPool& pool);

}  // namespace smolvlm::vk
