#version 450
// matmul.comp - y[r][o] = dot(weight row o, x[r]) for up to ROWS activation
// rows per workgroup: each weight unit of 32 is decoded once into registers
// and used for every row, so prefill reads the weights once per ROWS tokens.
// One workgroup per weight row; its threads take the row's units in turn
// and meet in a shared-memory sum.
#include "common.glsl"

layout(set = 0, binding = 0) readonly buffer Weights { uint wdata[]; };
layout(set = 0, binding = 1) readonly buffer X { float x[]; };
layout(set = 0, binding = 2) writeonly buffer Y { float y[]; };

#include "quant.glsl"

layout(push_constant) uniform Params {
	uint n_in, n_out, n_rows, row_bytes;
	uint x_stride, y_stride, y_col; // y_col: the output column of bound row 0
} p;

#define ROWS 8
shared float partial[ROWS * WG];

void main()
{
	uint o = group_x(), t = gl_LocalInvocationID.x;
	uint r0 = gl_WorkGroupID.z * ROWS;
	if (o >= p.n_out)
		return;
	uint nr = min(uint(ROWS), p.n_rows - r0);
	float acc[ROWS];
	for (uint r = 0u; r < ROWS; r++)
		acc[r] = 0.0;
	for (uint u = t; 32u * u < p.n_in; u += WG) {
		float w[32];
		dequant_unit(o * p.row_bytes, p.n_in, u, w);
		uint nj = min(32u, p.n_in - 32u * u); // float rows may end mid-unit
		for (uint r = 0u; r < nr; r++) {
			uint xo = (r0 + r) * p.x_stride + 32u * u;
			float s = 0.0;
			for (uint j = 0u; j < nj; j++)
				s += w[j] * x[xo + j];
			acc[r] += s;
		}
	}
	for (uint r = 0u; r < nr; r++)
		partial[r * WG + t] = acc[r];
	barrier();
	for (uint h = WG / 2u; h > 0u; h >>= 1) {
		if (t < h)
			for (uint r = 0u; r < nr; r++)
				partial[r * WG + t] += partial[r * WG + t + h];
		barrier();
	}
	if (t < nr)
		y[(r0 + t) * p.y_stride + p.y_col + o] = partial[t * WG];
}
