// Records one pass of work for the device into command buffers and runs it to the sync point
// (finish): dispatches with push descriptors, host->device copies staged through mapped memory,
// device->host copies delivered after the fence. Memory barriers are inserted only where a
// dispatch or copy touches a range written (or writes a range read) since the last barrier, so
// independent dispatches (q, k and v; gate and up) run without one between them.
//
// A long pass is submitted in chunks as it is recorded, so the device runs the first layers while
// the host records the rest (a 256M decode step is ~240 dispatches): the first chunk after 24
// dispatches, each next one twice as long, up to 192 (SMOLVLM_VK_SUBMIT_EVERY=N: chunks of N; 0:
// one submit per pass). A chunk ends only where a barrier was due anyway, and the next one begins
// with a full barrier in its place, so chunking adds no barrier. finish() still waits once.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "backend/vulkan/memory.h"
#include "backend/vulkan/pipelines.h"

namespace smolvlm::vk {

struct Bind {
  VkBuffer buffer = VK_NULL_HANDLE;
  uint64_t offset = 0;
  uint64_t range = 0;
  bool write = false;
};

struct RecorderStats {
  uint64_t dispatches = 0, barriers = 0, uploads = 0, downloads = 0;
  uint64_t submits = 0;  // vkQueueSubmit calls (a pass's chunks)
  uint64_t waits = 0;    // sync points: passes run to their end and waited for
};

class Recorder {
 public:
  explicit Recorder(Context& ctx);
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  void dispatch(const Pipeline& p, std::span<const Bind> binds, const void* push, uint32_t push_bytes, uint32_t gx,
                uint32_t gy = 1, uint32_t gz = 1);
  // Copies `bytes` from src now (into staging); the device copy runs in order with the dispatches.
  void upload(VkBuffer dst, uint64_t offset, const void* src, uint64_t bytes);
  // A device-side copy between buffers, in order with the dispatches.
  void copy(VkBuffer src, uint64_t src_offset, VkBuffer dst, uint64_t dst_offset, uint64_t bytes);
  // dst receives the bytes when finish() returns.
  void download(VkBuffer src, uint64_t offset, void* dst, uint64_t bytes);
  // Submits what was recorded, waits for it, delivers the downloads. Throws Error (device lost,
  // timeout); the recorder is then reset and can record again.
  void finish();
  // Drops what was recorded and not run (a pass abandoned by an exception).
  void abandon();
  bool empty() const { return !recording_ && !in_flight_; }
  const RecorderStats& stats() const { return stats_; }

 private:
  struct Range {
    VkBuffer buffer;
    uint64_t lo, hi;
  };
  struct Pending {
    const uint8_t* src;
    void* dst;
    uint64_t bytes;
  };
  void begin();
  void open_chunk();  // the next command buffer, begun with a full barrier
  void submit_chunk(VkFence fence);
  void access(std::span<const Bind> binds);  // barrier if needed (or the next chunk), then track
  uint8_t* stage(std::vector<std::unique_ptr<DeviceBuffer>>& ring, size_t& cursor, MemoryKind kind, uint64_t bytes,
                 VkBuffer* buffer, uint64_t* offset);
  void reset();

  Context& ctx_;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  std::vector<VkCommandBuffer> cmds_;  // a pass's chunks, reset with the pool
  size_t n_cmds_ = 0;                  // used by this pass
  VkCommandBuffer cmd_ = VK_NULL_HANDLE;  // the chunk being recorded
  VkFence fence_ = VK_NULL_HANDLE;
  bool recording_ = false;  // cmd_ is open
  bool in_flight_ = false;  // chunks of this pass were submitted
  uint32_t chunk_dispatches_ = 0, chunk_limit_ = 0;  // 0: no limit
  std::vector<Range> written_, read_;
  std::vector<std::unique_ptr<DeviceBuffer>> uploads_, readbacks_;
  size_t upload_cursor_ = 0, readback_cursor_ = 0;  // index into the ring; the offset is in used_
  uint64_t upload_used_ = 0, readback_used_ = 0;
  std::vector<Pending> pending_;
  RecorderStats stats_;
};

}  // namespace smolvlm::vk
