// Weight decoding, written once per ggml type and used by every shader that reads weights (matvec,
// matmul, get_rows). The including shader defines exactly one A_TYPE_<type>, and gets:
//   QK                      elements per block (1 for F32 / F16 / BF16)
//   buffer A at binding 0   the weight blocks, ggml's bytes as they are in the GGUF file
//   dequant8(ib, j8, lo, hi)  elements 8*j8 .. 8*j8+7 of block ib (for QK 1: elements ib .. ib+7)
//   a_group(row_block, g, cols, lo, hi)  elements 8g .. 8g+7 of the row whose first block is
//                           row_block (of cols elements; F32/F16/BF16 rows may end inside a group of
//                           8 and start at any element: the rest reads as 0)
// Block layouts follow ggml (reference/llamacpp-gguf-smolvlm.md); std430 with 8/16-bit storage
// gives the same offsets as ggml's packed C structs.
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_8bit_storage : require

#if defined(A_TYPE_F32)
#define QK 1
layout(binding = 0, std430) readonly buffer A { vec4 a4[]; };
layout(binding = 0, std430) readonly buffer A1 { float a1[]; };
#define A_ALIGN 4
float a_elem(uint i) { return a1[i]; }
void dequant8(uint ib, uint j8, out vec4 lo, out vec4 hi) {
  lo = a4[ib / 4];
  hi = a4[ib / 4 + 1];
}

#elif defined(A_TYPE_F16)
#define QK 1
layout(binding = 0, std430) readonly buffer A { uvec4 a4[]; };  // 8 halves per uvec4
layout(binding = 0, std430) readonly buffer A1 { float16_t a1[]; };
#define A_ALIGN 8
float a_elem(uint i) { return float(a1[i]); }
void dequant8(uint ib, uint j8, out vec4 lo, out vec4 hi) {
  const uvec4 w = a4[ib / 8];
  lo = vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y));
  hi = vec4(unpackHalf2x16(w.z), unpackHalf2x16(w.w));
}

#elif defined(A_TYPE_BF16)
#define QK 1
layout(binding = 0, std430) readonly buffer A { uvec4 a4[]; };  // 8 bf16 per uvec4
layout(binding = 0, std430) readonly buffer A1 { uint16_t a1[]; };
#define A_ALIGN 8
float a_elem(uint i) { return uintBitsToFloat(uint(a1[i]) << 16); }
vec2 unpack_bf16x2(uint w) { return vec2(uintBitsToFloat(w << 16), uintBitsToFloat(w & 0xFFFF0000u)); }
void dequant8(uint ib, uint j8, out vec4 lo, out vec4 hi) {
  const uvec4 w = a4[ib / 8];
  lo = vec4(unpack_bf16x2(w.x), unpack_bf16x2(w.y));
  hi = vec4(unpack_bf16x2(w.z), unpack_bf16x2(w.w));
}

#elif defined(A_TYPE_Q8_0)
#define QK 32
struct block_a { float16_t d; int8_t qs[32]; };
layout(binding = 0, std430) readonly buffer A { block_a a[]; };
void dequant8(uint ib, uint j8, out vec4 lo, out vec4 hi) {
  const float d = float(a[ib].d);
  const uint o = 8 * j8;
  lo = d * vec4(int(a[ib].qs[o]), int(a[ib].qs[o + 1]), int(a[ib].qs[o + 2]), int(a[ib].qs[o + 3]));
  hi = d * vec4(int(a[ib].qs[o + 4]), int(a[ib].qs[o + 5]), int(a[ib].qs[o + 6]), int(a[ib].qs[o + 7]));
}

#elif defined(A_TYPE_Q4_0) || defined(A_TYPE_Q4_1)
#define QK 32
// weight j < 16: low nibble of qs[j]; weight j + 16: its high nibble
#if defined(A_TYPE_Q4_0)
struct block_a { float16_t d; uint8_t qs[16]; };
#else
struct block_a { f16vec2 dm; uint8_t qs[16]; };
#endif
layout(binding = 0, std430) readonly buffer A { block_a a[]; };
void dequant8(uint ib, uint j8, out vec4 lo, out vec4 hi) {
  const uint o = 8 * (j8 & 1), shift = j8 >= 2 ? 4 : 0;
  float q[8];
  for (uint i = 0; i < 8; ++i) q[i] = float((uint(a[ib].qs[o + i]) >> shift) & 15);
#if defined(A_TYPE_Q4_0)
  const float d = float(a[ib].d), m = -8.0 * d;
#else
  const float d = float(a[ib].dm.x), m = float(a[ib].dm.y);
#endif
  lo = d * vec4(q[0], q[1], q[2], q[3]) + m;
  hi = d * vec4(q[4], q[5], q[6], q[7]) + m;
}

#elif defined(A_TYPE_Q5_0) || defined(A_TYPE_Q5_1)
#define QK 32
// as Q4, plus bit j of qh as the fifth bit of weight j
#if defined(A_TYPE_Q5_0)
struct block_a { float16_t d; uint8_t qh[4]; uint8_t qs[16]; };
#else
struct block_a { f16vec2 dm; uint8_t qh[4]; uint8_t qs[16]; };
#endif
layout(binding = 0, std430) readonly buffer A { block_a a[]; };
void dequant8(uint ib, uint j8, out vec4 lo, out vec4 hi) {
  const uint o = 8 * (j8 & 1), shift = j8 >= 2 ? 4 : 0;
  const uint hb = uint(a[ib].qh[j8]);  // fifth bits of weights 8*j8 .. 8*j8+7
  float q[8];
  for (uint i = 0; i < 8; ++i) q[i] = float(((uint(a[ib].qs[o + i]) >> shift) & 15) | (((hb >> i) & 1) << 4));
#if defined(A_TYPE_Q5_0)
  const float d = float(a[ib].d), m = -16.0 * d;
#else
  const float d = float(a[ib].dm.x), m = float(a[ib].dm.y);
#endif
  lo = d * vec4(q[0], q[1], q[2], q[3]) + m;
  hi = d * vec4(q[4], q[5], q[6], q[7]) + m;
}

#elif defined(A_TYPE_Q4_K) || defined(A_TYPE_Q5_K)
#define QK 256
// 8 sub-blocks of 32 with 6-bit scales and mins; 64-weight chunk c: weights 0..31 in the low
// nibbles of qs[32c ..], 32..63 in the high nibbles (Q5_K: plus bit 2c / 2c+1 of qh[l])
#if defined(A_TYPE_Q4_K)
struct block_a { f16vec2 dm; uint8_t scales[12]; uint8_t qs[128]; };
#else
struct block_a { f16vec2 dm; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; };
#endif
layout(binding = 0, std430) readonly buffer A { block_a a[]; };
void dequant8(uint ib, uint j8, out vec4 lo, out vec4 hi) {
  const uint e = 8 * j8, c = e / 64, w = e % 64, sub = 2 * c + (w >= 32 ? 1 : 0);
  uint sc, mn;
  if (sub < 4) {
    sc = uint(a[ib].scales[sub]) & 63;
    mn = uint(a[ib].scales[sub + 4]) & 63;
  } else {
    sc = (uint(a[ib].scales[sub + 4]) & 15) | ((uint(a[ib].scales[sub - 4]) >> 6) << 4);
    mn = (uint(a[ib].scales[sub + 4]) >> 4) | ((uint(a[ib].scales[sub]) >> 6) << 4);
  }
  const float d = float(a[ib].dm.x) * float(sc), m = float(a[ib].dm.y) * float(mn);
  const uint o = 32 * c + (w & 31), shift = w >= 32 ? 4 : 0;
  float q[8];
  for (uint i = 0; i < 8; ++i) {
    uint v = (uint(a[ib].qs[o + i]) >> shift) & 15;
#if defined(A_TYPE_Q5_K)
    v |= ((uint(a[ib].qh[(w & 31) + i]) >> sub) & 1) << 4;
#endif
    q[i] = float(v);
  }
  lo = d * vec4(q[0], q[1], q[2], q[3]) - m;
  hi = d * vec4(q[4], q[5], q[6], q[7]) - m;
}

#elif defined(A_TYPE_Q6_K)
#define QK 256
// two halves of 128; quarter q of a half: low (q < 2) or high nibbles of ql[64h + 32(q & 1) + l],
// bits 2q, 2q+1 of qh[32h + l] on top; 16 signed 8-bit scales, one per 16 weights
struct block_a { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; float16_t d; };
layout(binding = 0, std430) readonly buffer A { block_a a[]; };
void dequant8(uint ib, uint j8, out vec4 lo, out vec4 hi) {
  const uint e = 8 * j8, h = e / 128, r = e % 128, quarter = r / 32, l = r % 32;
  const float d = float(a[ib].d) * float(int(a[ib].scales[8 * h + l / 16 + 2 * quarter]));
  const uint o = 64 * h + 32 * (quarter & 1) + l, shift = quarter >= 2 ? 4 : 0;
  float q[8];
  for (uint i = 0; i < 8; ++i) {
    const uint v = ((uint(a[ib].ql[o + i]) >> shift) & 15) | (((uint(a[ib].qh[32 * h + l + i]) >> (2 * quarter)) & 3) << 4);
    q[i] = float(int(v) - 32);
  }
  lo = d * vec4(q[0], q[1], q[2], q[3]);
  hi = d * vec4(q[4], q[5], q[6], q[7]);
}

#else
#error "define one A_TYPE_<ggml type>"
#endif

// Elements 8g .. 8g+7 of a row whose first block is row_block (QK 1: its first element) and which
// has `cols` elements.
void a_group(uint row_block, uint g, uint cols, out vec4 lo, out vec4 hi) {
#if QK == 1
  const uint e = row_block + 8 * g;
  if (8 * g + 8 <= cols && e % A_ALIGN == 0) {  // whole and aligned: wide loads
    dequant8(e, 0, lo, hi);
    return;
  }
  float v[8];
  for (uint i = 0; i < 8; ++i) v[i] = 8 * g + i < cols ? a_elem(e + i) : 0.0;
  lo = vec4(v[0], v[1], v[2], v[3]);
  hi = vec4(v[4], v[5], v[6], v[7]);
#else
  const uint e = 8 * g;
  dequant8(row_block + e / QK, (e % QK) / 8, lo, hi);
#endif
}
