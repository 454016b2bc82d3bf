// ops.h entry points: argument checks, then the active ISA's kernel from the one table.
#include "kernels/ops.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "base/error.h"
#include "kernels/ops_internal.h"
#include "quant/quant.h"

namespace smolvlm::kernels {
namespace detail {

const OpsTable& ops_table(Isa isa) {
  switch (isa) {
    case Isa::kAvx2: return kAvx2Ops;
    case Isa::kAvx512: return kAvx512Ops;
    case Isa::kScalar: break;
  }
  return kScalarOps;
}

}  // namespace detail

namespace {

const detail::OpsTable& ops() { return detail::ops_table(active_isa()); }

void check_rows(const char* op, int64_t n_rows, int64_t dim) {
  if (n_rows < 0 || dim <= 0) fail(op, ": bad shape [", n_rows, ", ", dim, "]");
}

}  // namespace

void rms_norm(const float* x, const float* w, float eps, int64_t n_rows, int64_t dim, float* y) {
  check_rows("rms_norm", n_rows, dim);
  ops().rms_norm(x, w, eps, n_rows, dim, y);
}

void layer_norm(const float* x, const float* w, const float* b, float eps, int64_t n_rows, int64_t dim, float* y) {
  check_rows("layer_norm", n_rows, dim);
  ops().layer_norm(x, w, b, eps, n_rows, dim, y);
}

// The angle table follows ggml_rope_cache_init: theta starts at (float)pos and is multiplied by
// theta_scale = powf(freq_base, -2/n_rot) once per pair, in float; cos/sin are cosf/sinf of it.
void rope_cos_sin(const int32_t* pos, int64_t n_tokens, int64_t n_rot, float freq_base, float* cs) {
  if (n_tokens < 0 || n_rot <= 0 || n_rot % 2 != 0) fail("rope_cos_sin: bad shape (n_rot ", n_rot, ")");
  const float theta_scale = std::pow(freq_base, -2.0f / static_cast<float>(n_rot));
  for (int64_t t = 0; t < n_tokens; ++t) {
    float theta = static_cast<float>(pos[t]);
    for (int64_t i = 0; i < n_rot / 2; ++i, cs += 2) {
      cs[0] = std::cos(theta);
      cs[1] = std::sin(theta);
      theta *= theta_scale;
    }
  }
}

// The table is built by rope_cos_sin (same bits for every ISA); the rotation itself is the ISA kernel.
void rope_norm(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, int64_t n_rot, const int32_t* pos,
               float freq_base) {
  if (n_tokens < 0 || n_heads <= 0 || head_dim <= 0 || n_rot <= 0 || n_rot % 2 != 0 || n_rot > head_dim)
    fail("rope_norm: bad shape (heads ", n_heads, ", head_dim ", head_dim, ", n_rot ", n_rot, ")");
  const auto& k = ops();
  std::vector<float> cs(static_cast<size_t>(n_rot)), cos2(static_cast<size_t>(n_rot)), sin2(static_cast<size_t>(n_rot));
  for (int64_t t = 0; t < n_tokens; ++t) {
    rope_cos_sin(pos + t, 1, n_rot, freq_base, cs.data());
    for (int64_t i = 0; i < n_rot; i += 2) {
      cos2[i] = cos2[i + 1] = cs[i];
      sin2[i] = -cs[i + 1];
      sin2[i + 1] = cs[i + 1];
    }
    k.rope_rows(x + t * n_heads * head_dim, n_heads, head_dim, n_rot, cos2.data(), sin2.data());
  }
}

void softmax(float* x, int64_t n) { ops().softmax(x, n); }
void silu_mul(const float* gate, const float* up, float* y, int64_t n) { ops().silu_mul(gate, up, y, n); }
void gelu_tanh(float* x, int64_t n) { ops().gelu_tanh(x, n); }
void add(float* y, const float* x, int64_t n) { ops().add(y, x, n); }
void scale_add(float* y, const float* x, float s, int64_t n) { ops().scale_add(y, x, s, n); }

void embed_rows(const WeightView& table, const int32_t* ids, int64_t n, float* out) {
  const std::string type = ggml_type_name(table.type);
  if (!can_dequantize(table.type)) fail("embed_rows: cannot read embedding rows of type ", type);
  const int64_t block = ggml_type_info(table.type).block_size;
  if (table.cols <= 0 || table.cols % block != 0)
    fail("embed_rows: ", table.cols, " columns is not a multiple of the ", type, " block size ", block);
  const size_t row_bytes = ggml_row_size(table.type, table.cols);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t id = ids[i];
    if (id < 0 || id >= table.rows) fail("token id ", id, " is out of range (vocabulary of ", table.rows, ")");
    const auto* row = static_cast<const uint8_t*>(table.data) + static_cast<size_t>(id) * row_bytes;
    dequantize_row(table.type, row, out + i * table.cols, table.cols);
  }
}

void store_row(GgmlType dst_type, const float* src, void* dst, int64_t n) {
  switch (dst_type) {
    case GgmlType::F32: std::memmove(dst, src, static_cast<size_t>(n) * sizeof(float)); return;
    case GgmlType::F16: ops().f32_to_f16(src, static_cast<uint16_t*>(dst), n); return;
    default: fail("store_row: cache type ", ggml_type_name(dst_type), " is not supported (F16 or F32)");
  }
}

}  // namespace smolvlm::kernels
