#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

#include "backend/vulkan/vulkan_internal.h"
#include "base/error.h"

namespace smolvlm::vk {
namespace {

constexpr uint64_t kUploadChunk = 32ull << 20;  // weights go up in pieces of this size

bool gpu_weight_type(GgmlType t) {
  switch (t) {
    case GgmlType::F32: case GgmlType::F16: case GgmlType::BF16: case GgmlType::Q8_0: case GgmlType::Q4_0:
    case GgmlType::Q4_1: case GgmlType::Q5_0: case GgmlType::Q5_1: case GgmlType::Q4_K: case GgmlType::Q5_K:
    case GgmlType::Q6_K:
      return true;
    default:
      return false;
  }
}

void add(RecorderStats& to, const RecorderStats& s) {
  to.dispatches += s.dispatches;
  to.barriers += s.barriers;
  to.submits += s.submits;
  to.waits += s.waits;
}

}  // namespace

VulkanDevice::VulkanDevice(std::shared_ptr<Context> ctx) : ctx_(std::move(ctx)), pipelines_(*ctx_) {}

VulkanDevice::~VulkanDevice() { fn().vkDeviceWaitIdle(ctx_->device()); }

std::unique_ptr<backend::Buffer> VulkanDevice::alloc(size_t bytes, const std::string& what) {
  return std::make_unique<VulkanBuffer>(*ctx_, bytes, what);
}

// Quantized rows are whole blocks (multiples of 32); float rows any multiple of 4 (matvec and
// matmul read activations as vec4).
bool VulkanDevice::supports(GgmlType t, int64_t cols) const {
  if (!gpu_weight_type(t) || cols <= 0 || ggml_row_size(t, cols) > ctx_->caps().max_storage_range) return false;
  const int64_t block = ggml_type_info(t).block_size;
  return block == 1 ? cols % 4 == 0 : cols % block == 0 && cols % 32 == 0;
}

void VulkanDevice::upload_bytes(VkBuffer dst, const void* src, uint64_t bytes) {
  std::unique_ptr<Slot> slot = take_slot();
  for (uint64_t at = 0; at < bytes; at += kUploadChunk) {
    slot->recorder.upload(dst, at, static_cast<const uint8_t*>(src) + at, std::min(kUploadChunk, bytes - at));
    slot->recorder.finish();
  }
  return_slot(std::move(slot));
}

std::unique_ptr<backend::Matrix> VulkanDevice::upload(const kernels::WeightView& w, kernels::PackOptions) {
  if (!supports(w.type, w.cols))
    fail("the GPU backend cannot run a ", ggml_type_name(w.type), " matrix of ", w.cols, " columns");
  const uint64_t bytes = ggml_row_size(w.type, w.cols) * static_cast<uint64_t>(w.rows);
  auto buf = std::make_unique<VulkanBuffer>(*ctx_, bytes, cat("a ", ggml_type_name(w.type), " weight [", w.rows, ", ", w.cols, "]"));
  upload_bytes(buf->handle(), w.data, bytes);
  weight_bytes_ += bytes;
  return std::make_unique<VulkanMatrix>(std::move(buf), w.type, w.rows, w.cols);
}

backend::Tensor VulkanDevice::upload_f32(const float* data, int64_t rows, int64_t cols, std::unique_ptr<backend::Buffer>& keep) {
  const uint64_t bytes = static_cast<uint64_t>(rows * cols) * sizeof(float);
  auto buf = std::make_unique<VulkanBuffer>(*ctx_, bytes, "a norm weight");
  upload_bytes(buf->handle(), data, bytes);
  weight_bytes_ += bytes;
  keep = std::move(buf);
  return {keep.get(), 0, GgmlType::F32, rows, cols};
}

std::unique_ptr<Slot> VulkanDevice::take_slot() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!free_slots_.empty()) {
      auto s = std::move(free_slots_.back());
      free_slots_.pop_back();
      return s;
    }
  }
  return std::make_unique<Slot>(*ctx_);
}

void VulkanDevice::return_slot(std::unique_ptr<Slot> slot) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (free_slots_.size() < 8) {
    free_slots_.push_back(std::move(slot));
    return;
  }
  add(retired_, slot->recorder.stats());
}

std::unique_ptr<backend::Ops> VulkanDevice::begin(kernels::ThreadPool&) {
  ++passes_;
  return make_vulkan_ops(*this, coopmat());
}

bool VulkanDevice::coopmat() {
  std::call_once(coopmat_once_, [&] {
    if (!ctx_->caps().coopmat_nv) return;
    std::string why;
    try {
      why = check_matmul(*this, true);
    } catch (const backend::DeviceLost&) {
      throw;
    } catch (const Error& e) {
      why = e.what();
    }
    coopmat_ = why.empty();
    if (!coopmat_)
      std::fprintf(stderr, "smolvlm: %s: the tensor-core matmul tiles failed their check (%s); using the shader cores\n",
                   ctx_->info().name.c_str(), why.c_str());
  });
  return coopmat_;
}

BackendStats VulkanDevice::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  BackendStats b;
  b.passes = passes_;
  b.weight_bytes = weight_bytes_;
  RecorderStats r = retired_;
  for (const auto& s : free_slots_) add(r, s->recorder.stats());
  b.dispatches = r.dispatches;
  b.barriers = r.barriers;
  b.submits = r.submits;
  b.waits = r.waits;
  return b;
}

std::shared_ptr<backend::Device> open_backend(int index) {
  static std::mutex m;
  static std::map<int, std::weak_ptr<backend::Device>> open;
  std::lock_guard<std::mutex> lock(m);
  if (auto d = open[index].lock(); d && !static_cast<VulkanDevice&>(*d).ctx().lost()) return d;
  auto d = std::make_shared<VulkanDevice>(Context::open(index));
  open[index] = d;
  return d;
}

std::shared_ptr<backend::Device> open_backend_for_tests(const std::string& spec, std::string* why) {
  std::string error;
  try {
    const auto list = list_devices(&error);
    int index = spec.empty() ? default_device(list) : find_device(list, spec);
    for (const auto& d : list)
      if (index < 0 && spec.empty() && d.usable && d.type == "cpu") index = d.index;
    if (index >= 0) return open_backend(index);
    if (error.empty()) error = "no usable Vulkan device (install mesa-vulkan-drivers for lavapipe)";
  } catch (const Error& e) {
    error = e.what();
  }
  if (why != nullptr) *why = error;
  return nullptr;
}

double measure_bandwidth_gbs(backend::Device& device) {
  auto* v = dynamic_cast<VulkanDevice*>(&device);
  if (v == nullptr) return 0;
  const uint64_t bytes = std::min<uint64_t>(256ull << 20, v->ctx().free_memory() / 4) / 16 * 16;
  if (bytes < (1ull << 20)) return 0;
  VulkanBuffer a(v->ctx(), bytes, "the bandwidth probe"), b(v->ctx(), bytes, "the bandwidth probe");
  std::unique_ptr<Slot> slot = v->take_slot();
  double best = 0;
  constexpr int kCopies = 8;
  for (int run = 0; run < 4; ++run) {
    for (int i = 0; i < kCopies; ++i) {
      if (i % 2 == 0) slot->recorder.copy(a.handle(), 0, b.handle(), 0, bytes);
      else slot->recorder.copy(b.handle(), 0, a.handle(), 0, bytes);
    }
    const auto t0 = std::chrono::steady_clock::now();
    slot->recorder.finish();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (run > 0) best = std::max(best, 2.0 * double(bytes) * kCopies / s / 1e9);  // the first one warms up
  }
  v->return_slot(std::move(slot));
  return best;
}

BackendStats backend_stats(const backend::Device& device) {
  const auto* v = dynamic_cast<const VulkanDevice*>(&device);
  return v != nullptr ? v->stats() : BackendStats{};
}

const Context* context_of(const backend::Device& device) {
  const auto* v = dynamic_cast<const VulkanDevice*>(&device);
  return v != nullptr ? &v->ctx() : nullptr;
}

bool uses_tensor_cores(backend::Device& device) {
  auto* v = dynamic_cast<VulkanDevice*>(&device);
  return v != nullptr && v->coopmat();
}

std::string check_matmul_tiles(backend::Device& device, bool tensor_cores) {
  auto* v = dynamic_cast<VulkanDevice*>(&device);
  if (v == nullptr) fail("check_matmul_tiles: not a Vulkan device");
  return check_matmul(*v, tensor_cores);
}

}  // namespace smolvlm::vk
