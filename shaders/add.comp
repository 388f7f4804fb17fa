#version 450
// add.comp - y[i] += x[i]
#include "common.glsl"

layout(set = 0, binding = 1) readonly buffer X { float x[]; };
layout(set = 0, binding = 2) buffer Y { float y[]; };

layout(push_constant) uniform Params { uint n; } p;

void main()
{
	uint i = group_x() * WG + gl_LocalInvocationID.x;
	if (i >= p.n)
		return;
	y[i] += x[i];
}
