// Where each part of the decoder runs: the embedding lookup, every decoder layer, and the output
// norm + lm_head, each on a backend device (the CPU, or a GPU for the offloaded ones). Offloaded
// layers are the last ones, so a pass crosses from the CPU to the GPU once; the output layer goes
// with the last layer, the input with the first (offload_plan.h decides the split).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "backend/backend.h"

namespace smolvlm {

struct TextPlacement {
  backend::Device* input = &backend::cpu();   // token_embd (the row lookup)
  std::vector<backend::Device*> layers;       // per decoder layer; empty: all on the CPU
  backend::Device* output = &backend::cpu();  // output_norm + lm_head
  std::shared_ptr<backend::Device> keep;      // keeps a GPU device open while a model uses it

  backend::Device* layer(int64_t l) const {
    return layers.empty() ? &backend::cpu() : layers[static_cast<size_t>(l)];
  }
  // The distinct devices in pass order (input, layers, output).
  std::vector<backend::Device*> devices() const {
    std::vector<backend::Device*> out;
    const auto add = [&](backend::Device* d) {
      for (backend::Device* o : out)
        if (o == d) return;
      out.push_back(d);
    };
    add(input);
    for (backend::Device* d : layers) add(d);
    add(output);
    return out;
  }
  int64_t gpu_layers() const {
    int64_t n = 0;
    for (backend::Device* d : layers) n += d->is_cpu() ? 0 : 1;
    return n;
  }
};

}  // namespace smolvlm
