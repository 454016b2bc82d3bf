// The converter and the quantizer as the store and the server take them (both sit below
// src/convert, so `pull`, `create` and `serve` pass these in).
#pragma once

#include <string>
#include <vector>

namespace smolvlm::cli {

// store/pull.h's CheckpointConverter: a HuggingFaceTB/... checkpoint converted (text + mmproj at
// F16, as docs/CONVERSION.md does) into `work`, then the text model quantized to `quant` (the
// projector stays F16, like modelfiles/). Returns {text, mmproj}.
std::vector<std::string> convert_checkpoint(const std::string& hf_dir, const std::string& quant, const std::string& work);

// Throws Error "unknown quantization type 'X' (use one of …)" for a type the quantizer cannot write.
void check_quant_type(const std::string& type);

// store/create.h's ModelQuantizer: `in` quantized to `type` (any case: "q4_K_M") at `out`, with a
// progress bar on a terminal.
void quantize_gguf(const std::string& in, const std::string& out, const std::string& type);

}  // namespace smolvlm::cli
