#version 450
// rms_norm.comp - y[r] = x[r] / rms(x[r]) * weight, one workgroup per row.
// y may be x.
#include "common.glsl"

layout(set = 0, binding = 1) readonly buffer X { float x[]; };
layout(set = 0, binding = 2) writeonly buffer Y { float y[]; };
layout(set = 0, binding = 3) readonly buffer Wt { float weight[]; };

layout(push_constant) uniform Params {
	uint n, x_offset, y_offset, w_offset;
	float eps;
} p;

shared float partial[WG];

void main()
{
	uint t = gl_LocalInvocationID.x, xo = p.x_offset + gl_WorkGroupID.x * p.n;
	uint yo = p.y_offset + gl_WorkGroupID.x * p.n;
	float s = 0.0;
	for (uint i = t; i < p.n; i += WG)
		s += x[xo + i] * x[xo + i];
	partial[t] = s;
	barrier();
	for (uint h = WG / 2u; h > 0u; h >>= 1) {
		if (t < h)
			partial[t] += partial[t + h];
		barrier();
	}
	float scale = inversesqrt(partial[0] / float(p.n) + p.eps);
	for (uint i = t; i < p.n; i += WG)
		y[yo + i] = x[xo + i] * scale * weight[p.w_offset + i];
}
