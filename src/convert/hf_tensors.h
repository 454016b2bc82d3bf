// The tensor side of HF -> GGUF conversion: the output types (--outtype) with llama.cpp's
// convert_hf_to_gguf.py per-tensor rules, the plan of one output file (metadata + tensor jobs),
// and the streaming conversion of one checkpoint tensor (F32/F16/BF16) into GGUF bytes, with the
// q/k RoPE row permutation applied on the fly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/gguf.h"
#include "io/safetensors.h"

namespace smolvlm {

enum class OutType { F32, F16, BF16, Q8_0 };

struct OutTypeInfo {
  OutType type;
  const char* name;    // "F32", "F16", "BF16", "Q8_0" (file names)
  GgmlType ggml;       // type of the weights that get converted
  uint32_t file_type;  // general.file_type (LlamaFileType): 0, 1, 32, 7
};

const OutTypeInfo& outtype_info(OutType t);
std::optional<OutType> parse_outtype(std::string_view name);  // case-insensitive "f32" "f16" "bf16" "q8_0"

// llama.cpp's choice for one tensor: F32 when forced (mmproj ".embeddings."), for 1-D tensors,
// "*_norm.weight" and names not ending in ".weight"; otherwise the outtype's type, where Q8_0
// falls back to F16 for rows (ne[0]) that are not a multiple of 32.
GgmlType choose_tensor_type(OutType out, const std::string& gguf_name, const std::vector<int64_t>& hf_shape,
                            bool force_f32);

// One output tensor: which checkpoint tensor it comes from and how it is converted.
struct TensorJob {
  std::string name;             // GGUF name
  std::string hf_name;          // checkpoint name
  GgmlType type = GgmlType::F32;
  std::vector<int64_t> ne;      // ggml order (reversed HF shape)
  int64_t permute_heads = 0;    // > 0: rotate-half -> adjacent-pair row order with this many heads
  int64_t n_rows() const {
    int64_t r = 1;
    for (size_t i = 1; i < ne.size(); ++i) r *= ne[i];
    return r;
  }
};

// One output file: metadata keys in order (tensor infos are added when it is written) and the tensors.
struct GgufPlan {
  std::string kind;  // "text" / "mmproj" (messages)
  GgufWriter writer;
  std::vector<TensorJob> jobs;
};

// Checks the checkpoint for `hf_name` and appends a job. A missing tensor is appended to
// `missing` (so that every missing name can be reported at once). A dtype other than
// F32/F16/BF16, or a shape different from `expect` (PyTorch order, when given), throws Error.
void add_tensor_job(GgufPlan& plan, const SafetensorsCheckpoint& ckpt, const std::string& gguf_name,
                    const std::string& hf_name, OutType out, std::vector<std::string>& missing,
                    const std::vector<int64_t>& expect = {}, int64_t permute_heads = 0, bool force_f32 = false);

// Source row index for output row `row` of a q/k matrix with `n_rows` rows split into `heads`
// heads: output row h*D + 2i <- h*D + i, h*D + 2i + 1 <- h*D + i + D/2.
int64_t rope_permuted_row(int64_t row, int64_t n_rows, int64_t heads);

// Fills `out` with the GGUF bytes of job.type for checkpoint tensor `src`, converting and
// (optionally) permuting row by row on `threads` threads (0 = all); memory beyond `out` is a
// few rows per thread. Errors (e.g. NaN for a block type) name the tensor.
void convert_tensor_data(const SafetensorsTensor& src, const TensorJob& job, std::vector<uint8_t>& out, int threads);

}  // namespace smolvlm
