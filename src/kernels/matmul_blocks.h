// Internal: the quantized weight types seen as integers. Every supported quantized block decodes
// to unsigned codes c (0 .. 2^bits - 1) and per-block scale fields, so that
//   weight[k] = d * scale(k) * (c[k] - offset) - dmin * min(k)
// with the per-type pieces below. The scalar reference kernel computes ggml's dot products from
// this form, and the SIMD packers re-lay the same codes out for their kernels.
#pragma once

#include <cstdint>

#include "io/ggml_type.h"

namespace smolvlm::kernels::mm {

enum class ScaleKind {
  kBlock,   // legacy 32-blocks: weight = d * (c - offset) [+ m]        (Q4_0 Q4_1 Q5_0 Q5_1 Q8_0)
  kK32Min,  // 256 super-block, 8 x 32 with 6-bit scale and min        (Q4_K Q5_K)
  kK16,     // 256 super-block, 16 x 16 with int8 scale                (Q6_K)
};

struct QuantLayout {
  int block = 32;     // elements per block
  int bits = 4;       // code width: 4, 5, 6 or 8
  int offset = 0;     // subtracted from every code (Q8_0: codes are q + 128)
  bool has_min = false;
  ScaleKind scales = ScaleKind::kBlock;
};

// nullptr for a type that is not an integer-quantized weight type we support.
const QuantLayout* quant_layout(GgmlType t);

// One block decoded.
struct DecodedBlock {
  uint8_t code[256];
  float d = 0;     // block scale (legacy d, K-quant super-block d)
  float m = 0;     // legacy min (Q4_1/Q5_1) or K-quant dmin
  int sc[16] = {};  // K32Min: 8 six-bit scales; K16: 16 int8 scales
  int mn[8] = {};   // K32Min: 8 six-bit mins
};

void decode_block(GgmlType t, const uint8_t* block, DecodedBlock& out);

}  // namespace smolvlm::kernels::mm
