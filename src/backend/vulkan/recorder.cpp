#include "backend/vulkan/recorder.h"

#include <algorithm>
#include <cstring>

#include "backend/backend.h"
#include "base/error.h"

namespace smolvlm::vk {
namespace {

constexpr uint64_t kStagingChunk = 4ull << 20;
constexpr uint64_t kFenceTimeoutNs = 600ull * 1000 * 1000 * 1000;  // a pass that takes 10 minutes is lost
constexpr uint32_t kFirstChunk = 24, kMaxChunk = 192;  // dispatches per submitted chunk (recorder.h)

void barrier(VkCommandBuffer cmd, VkPipelineStageFlags dst_stages, VkAccessFlags dst_access) {
  VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  b.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  b.dstAccessMask = dst_access;
  fn().vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, dst_stages, 0,
                            1, &b, 0, nullptr, 0, nullptr);
}

constexpr VkPipelineStageFlags kWorkStages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
constexpr VkAccessFlags kWorkAccess = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                                      VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;

}  // namespace

Recorder::Recorder(Context& ctx) : ctx_(ctx) {
  const Functions& f = fn();
  VkCommandPoolCreateInfo pi{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pi.flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT;
  pi.queueFamilyIndex = ctx.queue_family();
  check(f.vkCreateCommandPool(ctx.device(), &pi, nullptr, &pool_), "vkCreateCommandPool");
  VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  check(f.vkCreateFence(ctx.device(), &fi, nullptr, &fence_), "vkCreateFence");
}

Recorder::~Recorder() {
  const Functions& f = fn();
  abandon();
  f.vkDestroyFence(ctx_.device(), fence_, nullptr);
  f.vkDestroyCommandPool(ctx_.device(), pool_, nullptr);
}

void Recorder::begin() {
  if (recording_) return;
  if (!in_flight_) {  // a new pass
    const int64_t every = switches().submit_every;
    chunk_limit_ = every >= 0 ? static_cast<uint32_t>(every) : kFirstChunk;
  }
  // Work of earlier passes (other recorders too) and of this pass's earlier chunks comes first.
  open_chunk();
}

void Recorder::open_chunk() {
  const Functions& f = fn();
  if (n_cmds_ == cmds_.size()) {
    VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    ai.commandPool = pool_;
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    VkCommandBuffer c = VK_NULL_HANDLE;
    check(f.vkAllocateCommandBuffers(ctx_.device(), &ai, &c), "vkAllocateCommandBuffers");
    cmds_.push_back(c);
  }
  cmd_ = cmds_[n_cmds_++];
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check(f.vkBeginCommandBuffer(cmd_, &bi), "vkBeginCommandBuffer");
  recording_ = true;
  chunk_dispatches_ = 0;
  barrier(cmd_, kWorkStages, kWorkAccess);
  ++stats_.barriers;
  written_.clear();
  read_.clear();
}

// Ends the open chunk and submits it (the last one of a pass with the fence).
void Recorder::submit_chunk(VkFence fence) {
  recording_ = false;
  check(fn().vkEndCommandBuffer(cmd_), "vkEndCommandBuffer");
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cmd_;
  ctx_.submit(si, fence);
  in_flight_ = true;
  ++stats_.submits;
}

void Recorder::access(std::span<const Bind> binds) {
  const auto overlaps = [](const std::vector<Range>& list, const Bind& b) {
    return std::any_of(list.begin(), list.end(), [&](const Range& r) {
      return r.buffer == b.buffer && r.lo < b.offset + b.range && b.offset < r.hi;
    });
  };
  bool hazard = false;
  for (const Bind& b : binds) hazard = hazard || overlaps(written_, b) || (b.write && overlaps(read_, b));
  if (hazard && chunk_limit_ > 0 && chunk_dispatches_ >= chunk_limit_) {
    // the device starts on what is recorded; the next chunk's opening barrier is the one due here
    submit_chunk(VK_NULL_HANDLE);
    chunk_limit_ = switches().submit_every >= 0 ? chunk_limit_ : std::min(2 * chunk_limit_, kMaxChunk);
    open_chunk();
  } else if (hazard) {
    barrier(cmd_, kWorkStages, kWorkAccess);
    ++stats_.barriers;
    written_.clear();
    read_.clear();
  }
  for (const Bind& b : binds) (b.write ? written_ : read_).push_back({b.buffer, b.offset, b.offset + b.range});
}

void Recorder::dispatch(const Pipeline& p, std::span<const Bind> binds, const void* push, uint32_t push_bytes,
                        uint32_t gx, uint32_t gy, uint32_t gz) {
  if (binds.size() != p.n_bindings) fail("dispatch: ", binds.size(), " buffers for a pipeline of ", p.n_bindings);
  if (push_bytes > Pipelines::kPushBytes) fail("dispatch: ", push_bytes, " bytes of push constants");
  const Caps& c = ctx_.caps();
  if (gx > c.max_groups[0] || gy > c.max_groups[1] || gz > c.max_groups[2])
    fail("dispatch: ", gx, " x ", gy, " x ", gz, " workgroups exceed the device's limits");
  if (gx == 0 || gy == 0 || gz == 0) return;
  begin();
  access(binds);
  const Functions& f = fn();
  VkDescriptorBufferInfo infos[Pipelines::kMaxBindings];
  VkWriteDescriptorSet writes[Pipelines::kMaxBindings];
  for (size_t i = 0; i < binds.size(); ++i) {
    infos[i] = {binds[i].buffer, binds[i].offset, binds[i].range};
    writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[i].dstBinding = static_cast<uint32_t>(i);
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &infos[i];
  }
  f.vkCmdBindPipeline(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, p.pipeline);
  f.vkCmdPushDescriptorSetKHR(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, p.layout, 0, static_cast<uint32_t>(binds.size()),
                              writes);
  if (push_bytes > 0) f.vkCmdPushConstants(cmd_, p.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes, push);
  f.vkCmdDispatch(cmd_, gx, gy, gz);
  ++stats_.dispatches;
  ++chunk_dispatches_;
}

uint8_t* Recorder::stage(std::vector<std::unique_ptr<DeviceBuffer>>& ring, size_t& cursor, MemoryKind kind,
                         uint64_t bytes, VkBuffer* buffer, uint64_t* offset) {
  uint64_t& used = kind == MemoryKind::kUpload ? upload_used_ : readback_used_;
  const uint64_t need = (bytes + 15) / 16 * 16;
  while (cursor < ring.size() && used + need > ring[cursor]->size()) {
    ++cursor;
    used = 0;
  }
  if (cursor == ring.size()) {
    ring.push_back(std::make_unique<DeviceBuffer>(ctx_, std::max(kStagingChunk, need), kind, "staging"));
    used = 0;
  }
  *buffer = ring[cursor]->handle();
  *offset = used;
  used += need;
  return ring[cursor]->mapped() + *offset;
}

void Recorder::upload(VkBuffer dst, uint64_t offset, const void* src, uint64_t bytes) {
  if (bytes == 0) return;
  begin();
  VkBuffer staging = VK_NULL_HANDLE;
  uint64_t at = 0;
  std::memcpy(stage(uploads_, upload_cursor_, MemoryKind::kUpload, bytes, &staging, &at), src, bytes);
  const Bind b[] = {{dst, offset, bytes, true}};
  access(b);
  const VkBufferCopy region{at, offset, bytes};
  fn().vkCmdCopyBuffer(cmd_, staging, dst, 1, &region);
  ++stats_.uploads;
}

void Recorder::copy(VkBuffer src, uint64_t src_offset, VkBuffer dst, uint64_t dst_offset, uint64_t bytes) {
  if (bytes == 0) return;
  begin();
  const Bind b[] = {{src, src_offset, bytes, false}, {dst, dst_offset, bytes, true}};
  access(b);
  const VkBufferCopy region{src_offset, dst_offset, bytes};
  fn().vkCmdCopyBuffer(cmd_, src, dst, 1, &region);
}

void Recorder::download(VkBuffer src, uint64_t offset, void* dst, uint64_t bytes) {
  if (bytes == 0) return;
  begin();
  VkBuffer staging = VK_NULL_HANDLE;
  uint64_t at = 0;
  const uint8_t* host = stage(readbacks_, readback_cursor_, MemoryKind::kReadback, bytes, &staging, &at);
  const Bind b[] = {{src, offset, bytes, false}};
  access(b);
  const VkBufferCopy region{offset, at, bytes};
  fn().vkCmdCopyBuffer(cmd_, src, staging, 1, &region);
  pending_.push_back({host, dst, bytes});
  ++stats_.downloads;
}

void Recorder::reset() {
  recording_ = in_flight_ = false;
  n_cmds_ = 0;
  written_.clear();
  read_.clear();
  pending_.clear();
  upload_cursor_ = readback_cursor_ = 0;
  upload_used_ = readback_used_ = 0;
  fn().vkResetCommandPool(ctx_.device(), pool_, 0);
}

// Submits nothing more; chunks already submitted must finish before their command buffers and
// staging memory are reused.
void Recorder::abandon() {
  const Functions& f = fn();
  if (recording_) {
    f.vkEndCommandBuffer(cmd_);
    recording_ = false;
  }
  if (!in_flight_) {
    if (n_cmds_ > 0) reset();
    return;
  }
  try {
    ctx_.submit(VkSubmitInfo{VK_STRUCTURE_TYPE_SUBMIT_INFO}, fence_);  // signals once all earlier work is done
    f.vkWaitForFences(ctx_.device(), 1, &fence_, VK_TRUE, kFenceTimeoutNs);
    f.vkResetFences(ctx_.device(), 1, &fence_);
  } catch (...) {
    f.vkDeviceWaitIdle(ctx_.device());  // the submit failed (a lost device): wait for the device instead
  }
  reset();
}

void Recorder::finish() {
  if (!recording_ && !in_flight_) return;
  const Functions& f = fn();
  if (!recording_) open_chunk();  // (a chunk was submitted and the next one failed to open)
  // the downloads' copies before the host reads the staging memory
  VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  b.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_SHADER_WRITE_BIT;
  b.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  f.vkCmdPipelineBarrier(cmd_, kWorkStages, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &b, 0, nullptr, 0, nullptr);
  try {
    submit_chunk(fence_);
  } catch (...) {
    abandon();  // waits for the chunks already submitted
    throw;
  }
  ++stats_.waits;
  const VkResult r = f.vkWaitForFences(ctx_.device(), 1, &fence_, VK_TRUE, kFenceTimeoutNs);
  f.vkResetFences(ctx_.device(), 1, &fence_);
  if (r == VK_SUCCESS)
    for (const Pending& p : pending_) std::memcpy(p.dst, p.src, p.bytes);
  reset();
  if (r == VK_ERROR_DEVICE_LOST) {
    ctx_.mark_lost();
    throw backend::DeviceLost(cat("the GPU (", ctx_.info().name, ") was lost (VK_ERROR_DEVICE_LOST)"));
  }
  check(r, "running the GPU work");
}

}  // namespace smolvlm::vk
