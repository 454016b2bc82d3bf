# The SPIR-V modules of the Vulkan backend: each (shader, defines) variant compiled by glslc and
# checked by spirv-val at build time, then embedded in the binary (cmake/embed_spirv.cmake).
# Module-level choices are variants: the weight type (quant.glsl), subgroup vs shared-memory
# reductions (_sg), a matvec fused with the RMSNorm or SiLU gate before it (_norm, _glu; _norm_rope
# also rotates and stores q, k and v), fp16
# matmul tiles (_f16), 128-wide matmul tiles (_t128), tensor-core matmul tiles (_cm: NV cooperative
# matrix in fp16, so not for F32 or BF16 weights), vec4 tiled attention (_wide), the KV cache type.
# Sets SMOLVLM_SHADER_CPP.
set(_dir ${CMAKE_CURRENT_LIST_DIR})
set(_out ${CMAKE_BINARY_DIR}/spirv)
file(MAKE_DIRECTORY ${_out})
file(GLOB _includes ${_dir}/*.glsl)
set(_names "")
set(_spvs "")

function(smolvlm_shader name source)
  add_custom_command(OUTPUT ${_out}/${name}.spv
    COMMAND ${GLSLC} --target-env=vulkan1.2 -O ${ARGN} ${_dir}/${source} -o ${_out}/${name}.spv
    COMMAND ${SPIRV_VAL} --target-env vulkan1.2 ${_out}/${name}.spv
    DEPENDS ${_dir}/${source} ${_includes}
    COMMENT "glslc ${name}" VERBATIM)
  set(_names ${_names} ${name} PARENT_SCOPE)
  set(_spvs ${_spvs} ${_out}/${name}.spv PARENT_SCOPE)
endfunction()

foreach(t F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q5_K Q6_K)
  smolvlm_shader(matvec_${t} matvec.comp -DA_TYPE_${t})
  smolvlm_shader(matvec_${t}_sg matvec.comp -DA_TYPE_${t} -DUSE_SUBGROUP)
  foreach(fuse norm glu)
    string(TOUPPER ${fuse} _f)
    smolvlm_shader(matvec_${t}_${fuse} matvec.comp -DA_TYPE_${t} -DFUSE_${_f})
    smolvlm_shader(matvec_${t}_${fuse}_sg matvec.comp -DA_TYPE_${t} -DFUSE_${_f} -DUSE_SUBGROUP)
  endforeach()
  smolvlm_shader(matvec_${t}_norm_rope matvec.comp -DA_TYPE_${t} -DFUSE_NORM -DFUSE_ROPE)
  smolvlm_shader(matvec_${t}_norm_rope_sg matvec.comp -DA_TYPE_${t} -DFUSE_NORM -DFUSE_ROPE -DUSE_SUBGROUP)
  smolvlm_shader(matmul_${t} matmul.comp -DA_TYPE_${t})
  smolvlm_shader(matmul_${t}_f16 matmul.comp -DA_TYPE_${t} -DUSE_FP16)
  smolvlm_shader(matmul_${t}_t128 matmul.comp -DA_TYPE_${t} -DTILE_128)
  smolvlm_shader(matmul_${t}_t128_f16 matmul.comp -DA_TYPE_${t} -DTILE_128 -DUSE_FP16)
  if(NOT t STREQUAL "F32" AND NOT t STREQUAL "BF16")
    smolvlm_shader(matmul_${t}_cm matmul.comp -DA_TYPE_${t} -DCOOPMAT)
  endif()
  smolvlm_shader(get_rows_${t} get_rows.comp -DA_TYPE_${t})
endforeach()
smolvlm_shader(rms_norm rms_norm.comp)
smolvlm_shader(rms_norm_sg rms_norm.comp -DUSE_SUBGROUP)
smolvlm_shader(rope_norm rope_norm.comp)
smolvlm_shader(rope_norm_store_f32 rope_norm.comp -DDST_F32)
smolvlm_shader(rope_norm_store_f16 rope_norm.comp -DDST_F16)
smolvlm_shader(add elementwise.comp -DOP_ADD)
smolvlm_shader(silu_mul elementwise.comp -DOP_SILU_MUL)
smolvlm_shader(add_rows elementwise.comp -DOP_ADD_ROWS)
smolvlm_shader(gelu elementwise.comp -DOP_GELU)
smolvlm_shader(layer_norm layer_norm.comp)
smolvlm_shader(layer_norm_sg layer_norm.comp -DUSE_SUBGROUP)
smolvlm_shader(patches patches.comp)
smolvlm_shader(pixel_shuffle pixel_shuffle.comp)
smolvlm_shader(attention_combine attention_combine.comp)
smolvlm_shader(store_rows_f32 store_rows.comp)
smolvlm_shader(store_rows_f16 store_rows.comp -DDST_F16)
foreach(kv f32 f16)
  set(_def "")
  if(kv STREQUAL "f16")
    set(_def -DKV_F16)
  endif()
  smolvlm_shader(attention_${kv} attention.comp ${_def})
  smolvlm_shader(attention_${kv}_sg attention.comp ${_def} -DUSE_SUBGROUP)
  smolvlm_shader(attention_split_${kv} attention.comp ${_def} -DSPLIT)
  smolvlm_shader(attention_split_${kv}_sg attention.comp ${_def} -DSPLIT -DUSE_SUBGROUP)
  smolvlm_shader(attention_tiled_${kv} attention_tiled.comp ${_def})
  smolvlm_shader(attention_tiled_${kv}_wide attention_tiled.comp ${_def} -DWIDE)
endforeach()

set(SMOLVLM_SHADER_CPP ${CMAKE_BINARY_DIR}/generated/vk_shaders.cpp)
add_custom_command(OUTPUT ${SMOLVLM_SHADER_CPP}
  COMMAND ${CMAKE_COMMAND} -DOUT=${SMOLVLM_SHADER_CPP} -DDIR=${_out} "-DNAMES=${_names}"
          -P ${CMAKE_SOURCE_DIR}/cmake/embed_spirv.cmake
  DEPENDS ${_spvs} ${CMAKE_SOURCE_DIR}/cmake/embed_spirv.cmake
  COMMENT "embedding ${CMAKE_CURRENT_LIST_FILE} SPIR-V modules" VERBATIM)
