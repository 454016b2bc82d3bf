// The ggml tensor type ids as they appear in GGUF files, with their block geometry. This is
// format knowledge (io layer): the GGUF reader validates sizes with it, the quant layer encodes
// and decodes the blocks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace smolvlm {

enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23,
  I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
  TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39,
};

struct GgmlTypeInfo {
  GgmlType type;
  const char* name;    // ggml's spelling: "f32", "q4_K", ...
  int64_t block_size;  // elements per block
  size_t type_size;    // bytes per block
};

// nullptr for ids that no ggml build defines (4, 5, 31-33, 36-38, >= 40).
const GgmlTypeInfo* ggml_type_info(uint32_t id);
const GgmlTypeInfo& ggml_type_info(GgmlType t);
// Case-insensitive lookup of "F16", "q8_0", "Q4_K", "bf16" ...
std::optional<GgmlType> ggml_type_from_name(std::string_view name);
std::string ggml_type_name(GgmlType t);  // upper case: "F32", "Q4_K"

// Bytes of `n` elements of type t (n must be a multiple of the block size; checked by callers).
inline size_t ggml_row_size(GgmlType t, int64_t n) {
  const auto& i = ggml_type_info(t);
  return static_cast<size_t>(n / i.block_size) * i.type_size;
}

}  // namespace smolvlm
