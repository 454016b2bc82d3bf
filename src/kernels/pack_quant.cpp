// Repacking of ggml quantized rows into the interleaved layout of matmul_pack.h.
#include <cstring>

#include "base/fp16.h"
#include "base/parallel.h"
#include "kernels/matmul_pack.h"

namespace smolvlm::kernels::mm {
namespace {

void put16(uint8_t* p, float v) {
  const uint16_t h = fp32_to_fp16(v);  // exact: v came from an fp16 field
  std::memcpy(p, &h, 2);
}

// Offset of the raw sub-block scale bytes in a ggml K-quant block.
int raw_scales_offset(GgmlType t) { return t == GgmlType::Q6_K ? 192 : 4; }

// Writes row r (0 <= r < R) of one chunk from its decoded block.
void put_row(GgmlType t, const ChunkLayout& c, int R, BitPlanes planes, const uint8_t* raw, const DecodedBlock& D,
             int r, uint8_t* chunk) {
  const QuantLayout& L = *quant_layout(t);
  put16(chunk + c.d + 2 * r, D.d);
  if (c.m >= 0) put16(chunk + c.m + 2 * r, D.m);
  if (c.scales >= 0) {
    const uint8_t* s = raw + raw_scales_offset(t);
    for (int p = 0; p < c.n_scale_planes; ++p) std::memcpy(chunk + c.scales + p * 4 * R + 4 * r, s + 4 * p, 4);
  }
  for (int u = 0; u < c.n_units; ++u) {
    uint8_t* unit = chunk + c.unit0 + u * c.unit_bytes;
    const uint8_t* code = D.code + 32 * u;
    uint8_t* codes = unit + c.n_planes * 4 * R;
    if (L.bits == 8) {
      for (int j = 0; j < 8; ++j) std::memcpy(codes + j * 4 * R + 4 * r, code + 4 * j, 4);
    } else {
      for (int m = 0; m < 4; ++m)
        for (int b = 0; b < 4; ++b)
          codes[m * 4 * R + 4 * r + b] = uint8_t((code[4 * m + b] & 0x0F) | ((code[16 + 4 * m + b] & 0x0F) << 4));
    }
    for (int p = 0; p < c.n_planes; ++p) {
      uint8_t* plane = unit + p * 4 * R;
      uint32_t word = 0;  // kDword: this row's plane dword
      for (int h = 0; h < 2; ++h)
        for (int m = 0; m < 4; ++m) {
          unsigned nib = 0;  // bit b = plane bit of element 16h + 4m + b
          for (int b = 0; b < 4; ++b) nib |= unsigned((code[16 * h + 4 * m + b] >> (4 + p)) & 1) << b;
          if (planes == BitPlanes::kMask64) {
            plane[8 * (2 * m + h) + r / 2] = uint8_t(plane[8 * (2 * m + h) + r / 2] | (nib << (4 * (r % 2))));
          } else {
            for (int b = 0; b < 4; ++b) word |= uint32_t((nib >> b) & 1) << (8 * b + 2 * m + h);
          }
        }
      if (planes == BitPlanes::kDword) std::memcpy(plane + 4 * r, &word, 4);
    }
  }
}

}  // namespace

size_t packed_quant_bytes(GgmlType t, int64_t rows, int64_t cols, int R) {
  const ChunkLayout c = chunk_layout(t, R);
  const int64_t groups = (rows + R - 1) / R;
  return size_t(groups) * size_t(cols / quant_layout(t)->block) * size_t(c.bytes);
}

void pack_quant(const WeightView& w, int R, BitPlanes planes, uint8_t* dst) {
  const ChunkLayout c = chunk_layout(w.type, R);
  const int64_t nb = w.cols / quant_layout(w.type)->block;
  const size_t row_bytes = ggml_row_size(w.type, w.cols);
  const size_t block_bytes = ggml_type_info(w.type).type_size;
  const int64_t groups = (w.rows + R - 1) / R;
  // Row groups in parallel for big weights (binding a model packs every matrix once).
  const int threads = size_t(w.rows) * row_bytes >= (size_t(8) << 20) ? 0 : 1;
  parallel_for(groups, threads, [&](int64_t g0, int64_t g1) {
    std::memset(dst + size_t(g0 * nb) * size_t(c.bytes), 0, size_t((g1 - g0) * nb) * size_t(c.bytes));
    DecodedBlock D;
    for (int64_t g = g0; g < g1; ++g) {
      for (int64_t b = 0; b < nb; ++b) {
        uint8_t* chunk = dst + size_t(g * nb + b) * size_t(c.bytes);
        for (int r = 0; r < R && g * R + r < w.rows; ++r) {
          const uint8_t* raw =
              static_cast<const uint8_t*>(w.data) + size_t(g * R + r) * row_bytes + size_t(b) * block_bytes;
          decode_block(w.type, raw, D);
          put_row(w.type, c, R, planes, raw, D, r, chunk);
        }
      }
    }
  }, 16);
}

}  // namespace smolvlm::kernels::mm
