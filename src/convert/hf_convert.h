// `smolvlm convert`: a Hugging Face SmolVLM2 / SmolVLM checkpoint folder -> the GGUF pair
// llama.cpp loads: OUT/<name>-<TYPE>.gguf (text, arch llama) and OUT/mmproj-<name>-<TYPE>.gguf
// (arch clip, projector idefics3). Everything is read and checked (config, tokenizer, every
// tensor's presence, dtype and shape) before the first byte is written; tensors are then
// converted one at a time while the writer streams them into a temporary file that is renamed
// into place only when complete.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "convert/hf_tensors.h"

namespace smolvlm {

struct ConvertOptions {
  std::string hf_dir;
  std::string out_dir;  // empty: hf_dir (as llama.cpp's converter does)
  OutType outtype = OutType::F16;
  bool force = false;   // overwrite existing outputs
  int threads = 0;      // 0 = all hardware threads
  int progress = -1;    // progress bar on stderr: -1 auto (a terminal), 0 off, 1 on
};

struct ConvertedFile {
  std::string path;
  size_t n_tensors = 0;
  uint64_t tensor_bytes = 0;  // sum of the tensors' data sizes
};

struct ConvertResult {
  std::string name;  // general.name
  ConvertedFile text, mmproj;
  std::vector<std::string> unused_tensors;  // checkpoint tensors neither file uses
  std::vector<std::string> notes;           // e.g. Q8_0 -> F16 fallbacks
};

// "<name>-<TYPE>.gguf" or "mmproj-<name>-<TYPE>.gguf".
std::string converted_file_name(const std::string& name, OutType t, bool mmproj);

// Throws Error (naming the file, field or tensors) on any problem; an output is either complete
// or absent (no partial or temporary file is left behind).
ConvertResult convert_hf_checkpoint(const ConvertOptions& opt);

}  // namespace smolvlm
