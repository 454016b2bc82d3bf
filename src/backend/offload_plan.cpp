#include "backend/offload_plan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "base/error.h"

namespace smolvlm::backend {

uint64_t offload_headroom(uint64_t budget) { return budget / 20 + (256ull << 20); }

OffloadPlan plan_offload(const OffloadNeeds& n, int64_t num_gpu, uint64_t budget, const std::string& device) {
  const auto L = static_cast<int64_t>(n.layers.size());
  OffloadPlan p;
  uint64_t weights = n.input + n.output + n.projector;
  for (uint64_t b : n.layers) weights += b;
  const uint64_t kv_all = n.kv_per_layer * static_cast<uint64_t>(L);
  p.total_bytes = weights + kv_all;
  const auto layer_cost = [&](int64_t l) { return n.layers[static_cast<size_t>(l)] + n.kv_per_layer; };

  if (num_gpu == kNumGpuAuto) {
    const uint64_t reserve = offload_headroom(budget) + n.compute;
    uint64_t avail = budget > reserve ? budget - reserve : 0, used = 0;
    const auto take = [&](uint64_t bytes) {
      if (used + bytes > avail) return false;
      used += bytes;
      return true;
    };
    if (n.projector > 0) p.projector = take(n.projector);
    if (L > 0 && take(n.output + layer_cost(L - 1))) {  // the output layer only with a layer to feed it
      p.output = true;
      p.gpu_layers = 1;
      while (p.gpu_layers < L && take(layer_cost(L - 1 - p.gpu_layers))) ++p.gpu_layers;
      if (p.gpu_layers == L) p.input = take(n.input);
    }
  } else if (num_gpu > 0) {
    p.gpu_layers = std::min(num_gpu, L);
    p.output = p.gpu_layers > 0;
    p.input = p.gpu_layers == L;
    p.projector = n.projector > 0;
  }

  const bool any = p.gpu_layers > 0 || p.projector;
  if (any) {
    p.gpu_bytes = n.compute + (p.input ? n.input : 0) + (p.output ? n.output : 0) + (p.projector ? n.projector : 0);
    for (int64_t l = L - p.gpu_layers; l < L; ++l) p.gpu_bytes += layer_cost(l);
    p.total_bytes += n.compute;
    p.fits = p.gpu_bytes <= budget;
  }

  if (!any) {
    p.summary = num_gpu == 0 ? "offload: none (num_gpu 0): everything on the CPU"
                             : cat("offload: none: not even one layer fits in the ", human_bytes(budget), " free on ",
                                   device, "; everything on the CPU");
  } else {
    p.summary = cat("offload: ", p.gpu_layers, "/", L, " layers", p.output ? ", output" : "", p.input ? ", input" : "",
                    p.projector ? ", projector" : "", " on ", device, " (", human_bytes(p.gpu_bytes), " of ",
                    human_bytes(budget), " free; KV cache ", human_bytes(n.kv_per_layer * uint64_t(p.gpu_layers)),
                    ")");
    if (p.gpu_layers < L) p.summary += cat("; ", L - p.gpu_layers, L - p.gpu_layers == 1 ? " layer" : " layers", " on the CPU");
    if (!p.fits) p.summary += " — more than the device has free: lower num_gpu or num_ctx if loading fails";
  }
  return p;
}

std::string processor_string(uint64_t size, uint64_t vram) {
  if (vram == 0) return "100% CPU";
  if (vram == size) return "100% GPU";
  if (vram > size || size == 0) return "Unknown";
  const long cpu = std::lround(100.0 * static_cast<double>(size - vram) / static_cast<double>(size));
  return cat(cpu, "%/", 100 - cpu, "% CPU/GPU");
}

}  // namespace smolvlm::backend
