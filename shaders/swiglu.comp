#version 450
// swiglu.comp - gate[i] = silu(gate[i]) * up[i]
#include "common.glsl"

layout(set = 0, binding = 1) readonly buffer Up { float up[]; };
layout(set = 0, binding = 2) buffer Gate { float gate[]; };

layout(push_constant) uniform Params { uint n; } p;

void main()
{
	uint i = group_x() * WG + gl_LocalInvocationID.x;
	if (i >= p.n)
		return;
	float g = gate[i];
	gate[i] = g / (1.0 + exp(-g)) * up[i];
}
