// workgroup_sum(v) / workgroup_max(v) for a float, workgroup_sum4(v) for a vec4 (four sums in one
// reduction): the value over every invocation of the workgroup, returned to all of them. With
// USE_SUBGROUP: subgroup arithmetic, then one shared slot per subgroup (any subgroup size);
// without: a shared-memory tree (needs a power-of-two workgroup size). Every invocation must call
// it (it contains barriers). The including shader declares WG_SIZE, its workgroup size (a
// specialization constant: gl_WorkGroupSize in spec-constant expressions is mistranslated by some
// drivers).
#define REDUCE_ADD(a, b) ((a) + (b))
#define REDUCE_MAX(a, b) max(a, b)
#if defined(USE_SUBGROUP)
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#define REDUCE_SLOTS 128  // one per subgroup (>= 4 invocations each, <= 512 invocations)
// (a workgroup of one subgroup needs no barrier: the branch is uniform)
#define WORKGROUP_REDUCE(T, name, slots, subgroup_op, combine) \
  T name(T v) {                                                \
    v = subgroup_op(v);                                        \
    if (gl_NumSubgroups == 1) return v;                        \
    if (subgroupElect()) slots[gl_SubgroupID] = v;             \
    barrier();                                                 \
    T s = slots[0];                                            \
    for (uint i = 1; i < gl_NumSubgroups; ++i) s = combine(s, slots[i]); \
    barrier();                                                 \
    return s;                                                  \
  }
#else
#define REDUCE_SLOTS 512  // one per invocation
#define WORKGROUP_REDUCE(T, name, slots, subgroup_op, combine)            \
  T name(T v) {                                                           \
    const uint t = gl_LocalInvocationID.x;                                \
    slots[t] = v;                                                         \
    barrier();                                                            \
    for (uint s = WG_SIZE / 2; s > 0; s >>= 1) {                          \
      if (t < s) slots[t] = combine(slots[t], slots[t + s]);              \
      barrier();                                                          \
    }                                                                     \
    const T r = slots[0];                                                 \
    barrier();                                                            \
    return r;                                                             \
  }
#endif
shared float reduce_slots[REDUCE_SLOTS];
WORKGROUP_REDUCE(float, workgroup_sum, reduce_slots, subgroupAdd, REDUCE_ADD)
WORKGROUP_REDUCE(float, workgroup_max, reduce_slots, subgroupMax, REDUCE_MAX)
#if defined(REDUCE_VEC4)  // (the including shader defines it)
shared vec4 reduce_slots4[REDUCE_SLOTS];
WORKGROUP_REDUCE(vec4, workgroup_sum4, reduce_slots4, subgroupAdd, REDUCE_ADD)
#endif
