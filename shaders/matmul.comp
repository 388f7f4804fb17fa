#version 450
// matmul.comp - y[r][o] = dot(weight row o, x[r]) for up to ROWS activation
// rows per workgroup: each weight is decoded once into registers and used
// for every row, so prefill reads the weights once per ROWS tokens.
// PER_ROW threads share a weight row: neighbours take the four parts of a
// unit of 32 weights (neighbouring words), then the next unit; their sums
// meet in shared memory.  A workgroup takes WG / PER_ROW weight rows.
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
#define PER_ROW 16
shared float partial[ROWS * WG];

void main()
{
	uint t = gl_LocalInvocationID.x, lane = t % PER_ROW, first = t - lane;
	uint o = group_x() * (WG / PER_ROW) + t / PER_ROW;
	uint r0 = gl_WorkGroupID.z * ROWS;
	uint nr = min(uint(ROWS), p.n_rows - r0);
	float acc[ROWS];
	for (uint r = 0u; r < ROWS; r++)
		acc[r] = 0.0;
	uint n_parts = (p.n_in + 31u) / 32u * 4u;
	for (uint i = lane; o < p.n_out && i < n_parts; i += PER_ROW) {
		uint u = i >> 2, a0, a1;
		float w[8];
		dequant_part(o * p.row_bytes, p.n_in, u, i & 3u, w, a0, a1);
		uint base = 32u * u;
		for (uint r = 0u; r < nr; r++) {
			uint xo = (r0 + r) * p.x_stride + base;
			float s = 0.0;
			for (uint j = 0u; j < 4u; j++) {
				// float rows may end inside their last unit
				if (base + a0 + j < p.n_in)
					s += w[j] * x[xo + a0 + j];
				if (base + a1 + j < p.n_in)
					s += w[j + 4u] * x[xo + a1 + j];
			}
			acc[r] += s;
		}
	}
	for (uint r = 0u; r < nr; r++)
		partial[r * WG + t] = acc[r];
	barrier();
	for (uint h = PER_ROW / 2u; h > 0u; h >>= 1) {
		if (lane < h)
			for (uint r = 0u; r < nr; r++)
				partial[r * WG + t] += partial[r * WG + t + h];
		barrier();
	}
	if (o < p.n_out && lane < nr)
		y[(r0 + lane) * p.y_stride + p.y_col + o] = partial[lane * WG + first];
}
