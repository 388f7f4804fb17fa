#version 450
// matmul.comp - decode matmul whose row sums meet in shared memory, for
// devices without subgroup shuffles (see matmul.glsl).
#include "matmul.glsl"
