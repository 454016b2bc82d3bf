// workgroup_sum(v) / workgroup_max(v): the value over every invocation of the workgroup, returned to
// all of them. With USE_SUBGROUP: subgroup arithmetic, then one shared slot per subgroup (any
// subgroup size); without: a shared-memory tree (needs a power-of-two workgroup size). Every
// invocation must call it (it contains barriers). The including shader declares WG_SIZE, its
// workgroup size (a specialization constant: gl_WorkGroupSize in spec-constant expressions is
// mistranslated by some drivers).
#if defined(USE_SUBGROUP)
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
shared float reduce_slots[128];  // one per subgroup (>= 4 invocations each, <= 512 invocations)
float workgroup_sum(float v) {
  v = subgroupAdd(v);
  if (subgroupElect()) reduce_slots[gl_SubgroupID] = v;
  barrier();
  float s = 0.0;
  for (uint i = 0; i < gl_NumSubgroups; ++i) s += reduce_slots[i];
  barrier();
  return s;
}
float workgroup_max(float v) {
  v = subgroupMax(v);
  if (subgroupElect()) reduce_slots[gl_SubgroupID] = v;
  barrier();
  float s = reduce_slots[0];
  for (uint i = 1; i < gl_NumSubgroups; ++i) s = max(s, reduce_slots[i]);
  barrier();
  return s;
}
#else
shared float reduce_slots[512];
float workgroup_sum(float v) {
  const uint t = gl_LocalInvocationID.x;
  reduce_slots[t] = v;
  barrier();
  for (uint s = WG_SIZE / 2; s > 0; s >>= 1) {
    if (t < s) reduce_slots[t] += reduce_slots[t + s];
    barrier();
  }
  const float r = reduce_slots[0];
  barrier();
  return r;
}
float workgroup_max(float v) {
  const uint t = gl_LocalInvocationID.x;
  reduce_slots[t] = v;
  barrier();
  for (uint s = WG_SIZE / 2; s > 0; s >>= 1) {
    if (t < s) reduce_slots[t] = max(reduce_slots[t], reduce_slots[t + s]);
    barrier();
  }
  const float r = reduce_slots[0];
  barrier();
  return r;
}
#endif
