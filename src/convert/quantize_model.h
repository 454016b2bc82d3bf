// `smolvlm quantize`: rewrites a GGUF file with the tensor types llama-quantize would choose
// (quantize_policy.h), byte for byte like `llama-quantize IN OUT TYPE`: the input's metadata in
// order, then general.quantization_version = 2 and general.file_type moved to the end; tensors in
// llama.cpp's loader order; 32-byte alignment. Tensors are converted one at a time (the input is
// mapped, never loaded whole), rows in parallel; the output is written atomically.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "convert/quantize_policy.h"

namespace smolvlm {

class GgufFile;

struct QuantizeOptions {
  std::string input;
  std::string output;
  QuantTarget target = QuantTarget::Q8_0;
  int threads = 0;         // 0 = all cores
  bool dry_run = false;    // plan only, write nothing
  bool overwrite = false;  // replace an existing output
  int progress = -1;       // progress bar: -1 auto (stderr is a tty), 0 off, 1 on
};

struct QuantizeReport {
  std::string arch;  // "llama" or "clip"
  QuantTarget target = QuantTarget::Q8_0;
  std::vector<QuantPlanEntry> plan;  // output order
  uint64_t bytes_in = 0;             // tensor data of the input
  uint64_t bytes_out = 0;            // tensor data of the output (without padding)
};

// Validates the input (architecture llama or clip, a target valid for it, no split or MoE model,
// convertible tensor types) and computes the plan. Throws Error naming the file and the problem.
QuantizeReport plan_model_quantization(const GgufFile& in, QuantTarget target);

// Plans and, unless dry_run, writes the output. Throws Error (and leaves no output file) on any
// failure: not a GGUF file, unsupported type for the file, existing output without overwrite, a
// tensor llama.cpp could not quantize either.
QuantizeReport quantize_model(const QuantizeOptions& options);

// The per-tensor plan as a table (one line per tensor: index, name, shape, from -> to, reason)
// plus a size summary; what `quantize --dry-run` prints.
std::string format_quant_plan(const QuantizeReport& report);

}  // namespace smolvlm
