#version 450
// matmul_subgroup.comp - decode matmul whose row sums meet through
// subgroup shuffles, with no shared memory or barriers (see matmul.glsl).
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#define SUBGROUP_SUM
#include "matmul.glsl"
