#version 450
// dst[dst_offset + i] = src[i] for n values, converted to the destination type (DST_F16 or f32):
// keys and values appended to a KV cache. Bindings: 0 src f32, 1 dst.
#extension GL_EXT_shader_16bit_storage : require
layout(local_size_x = 256) in;
layout(binding = 0, std430) readonly buffer Src { float src[]; };
#if defined(DST_F16)
layout(binding = 1, std430) writeonly buffer Dst { float16_t dst[]; };
#define DST_T float16_t
#else
layout(binding = 1, std430) writeonly buffer Dst { float dst[]; };
#define DST_T float
#endif

layout(push_constant) uniform Params {
  uint n;
  uint dst_offset;  // first element of dst
  uint src_offset;  // first float of src
} p;

void main() {
  const uint i = gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x + gl_GlobalInvocationID.x;
  if (i < p.n) dst[p.dst_offset + i] = DST_T(src[p.src_offset + i]);
}
