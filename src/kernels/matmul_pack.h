// Internal: the interleaved layout the SIMD integer kernels read. Rows are taken in groups of R
// (16 for AVX-512: one zmm lane per row; 8 for AVX2), padded with zero rows. A group is a run of
// chunks, one per ggml block (legacy: 32 elements; K-quants: a 256 super-block), and a chunk holds
// exactly the bytes of its R blocks, re-laid out:
//
//   d      R fp16 scales (K: super-block d)
//   m      R fp16 mins (Q4_1/Q5_1) or dmins (Q4_K/Q5_K)                      [if the type has one]
//   scales K-quant sub-block scales as dword planes: plane p holds bytes 4p..4p+3 of every row's
//          scale bytes (Q4_K/Q5_K: 3 planes of ggml's 12 bytes; Q6_K: 4 planes of int8 scales)
//   units  one per 32 elements (legacy: 1, K: 8), each:
//     planes  bit 4 (and bit 5 for Q6_K) of the codes, 4R bytes per plane (see BitPlanes)
//     codes   4/5/6-bit types: 4 steps of R dwords; dword m of row r holds the low nibbles of
//             elements 4m..4m+3 (bytes 0..3, low halves) and of elements 16+4m..16+4m+3 (high
//             halves). 8-bit: 8 steps of R dwords, dword j = elements 4j..4j+3 (codes = q + 128).
//
// So one SIMD load of a step gives 4 consecutive elements of every row, ready for a dot-product
// instruction against 4 broadcast activation bytes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/matmul.h"
#include "kernels/matmul_blocks.h"

namespace smolvlm::kernels::mm {

enum class BitPlanes {
  kMask64,  // R = 16: 8 64-bit masks per plane, mask 2m+h has bit 4r+b = element 16h+4m+b of row r
  kDword,   // any R: one dword per row, bit 8b+2m+h = element 16h+4m+b
};

struct ChunkLayout {
  int n_units = 1;   // 32-element units per chunk
  int d = 0;         // byte offsets within the chunk
  int m = -1;        // -1: none
  int scales = -1;   // -1: none
  int n_scale_planes = 0;
  int n_planes = 0;  // bit planes per unit
  int unit0 = 0;
  int code_bytes = 0;
  int unit_bytes = 0;
  int bytes = 0;
};

constexpr ChunkLayout chunk_layout(int block, int bits, bool has_min, ScaleKind sk, int R) {
  ChunkLayout c;
  c.n_units = block / 32;
  int off = 2 * R;  // d at 0
  if (has_min) {
    c.m = off;
    off += 2 * R;
  }
  if (sk != ScaleKind::kBlock) {
    c.scales = off;
    c.n_scale_planes = sk == ScaleKind::kK16 ? 4 : 3;
    off += 4 * R * c.n_scale_planes;
  }
  c.n_planes = bits == 5 ? 1 : bits == 6 ? 2 : 0;
  c.unit0 = off;
  c.code_bytes = bits == 8 ? 32 * R : 16 * R;
  c.unit_bytes = c.n_planes * 4 * R + c.code_bytes;
  c.bytes = off + c.n_units * c.unit_bytes;
  return c;
}

inline ChunkLayout chunk_layout(GgmlType t, int R) {
  const QuantLayout& L = *quant_layout(t);
  return chunk_layout(L.block, L.bits, L.has_min, L.scales, R);
}

// Bytes of the packed form of a [rows, cols] weight of type t (rows rounded up to R).
size_t packed_quant_bytes(GgmlType t, int64_t rows, int64_t cols, int R);
void pack_quant(const WeightView& w, int R, BitPlanes planes, uint8_t* dst);

}  // namespace smolvlm::kernels::mm
