// matmul.glsl - the body of matmul.comp and matmul_subgroup.comp:
// y[r][o] = dot(weight row o, x[r]) for up to ROWS activation rows per
// workgroup (decode, and prompts too short for matmul_tiled.comp).  Each
// weight is decoded once into registers and used for every row.
// PER_ROW threads share a weight row: neighbours take the four parts of a
// unit of 32 weights (neighbouring words), then the next unit.  Their sums
// meet through subgroup shuffles when SUBGROUP_SUM is defined, otherwise
// in shared memory.  A workgroup takes WG / PER_ROW weight rows.
#include "common.glsl"

layout(set = 0, binding = 0) readonly buffer Weights { uint wdata[]; };
layout(set = 0, binding = 1) readonly buffer X { float x[]; };
layout(set = 0, binding = 2) writeonly buffer Y { float y[]; };

#include "quant.glsl"

// a power of two from 8 (ROWS, so that one lane writes each row's sum) to
// WG; with SUBGROUP_SUM at most the subgroup size
layout(constant_id = 2) const uint PER_ROW = 16;

layout(push_constant) uniform Params {
	uint n_in, n_out, n_rows, row_bytes;
	uint x_stride, y_stride, y_col; // y_col: the output column of bound row 0
} p;

#define ROWS 8
#ifndef SUBGROUP_SUM
shared float partial[ROWS * WG];
#endif

void main()
{
#ifdef SUBGROUP_SUM
	// the lanes of a row must share a subgroup (full ones: the pipeline
	// asks for them), whatever order the driver numbers threads in
	uint lane = gl_SubgroupInvocationID % PER_ROW;
	uint slot = gl_SubgroupID * (gl_SubgroupSize / PER_ROW) + gl_SubgroupInvocationID / PER_ROW;
#else
	uint t = gl_LocalInvocationID.x, lane = t % PER_ROW, slot = t / PER_ROW;
#endif
	uint o = group_x() * (WG / PER_ROW) + slot;
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
		// constant bounds keep acc[] in registers once unrolled
		[[unroll]] for (uint r = 0u; r < ROWS; r++) {
			if (r >= nr)
				break;
			uint xo = (r0 + r) * p.x_stride + base;
			float s = 0.0;
			// float rows may end inside their last unit; blocks fill theirs
			bool whole = !FLOAT_ROWS || base + 32u <= p.n_in;
			[[unroll]] for (uint j = 0u; j < 4u; j++) {
				if (whole || base + a0 + j < p.n_in)
					s += w[j] * x[xo + a0 + j];
				if (whole || base + a1 + j < p.n_in)
					s += w[j + 4u] * x[xo + a1 + j];
			}
			acc[r] += s;
		}
	}
#ifdef SUBGROUP_SUM
	// a butterfly: afterwards every lane holds its row's sums
	for (uint h = PER_ROW / 2u; h > 0u; h >>= 1)
		[[unroll]] for (uint r = 0u; r < ROWS; r++)
			acc[r] += subgroupShuffleXor(acc[r], h);
	[[unroll]] for (uint r = 0u; r < ROWS; r++)
		if (r < nr && o < p.n_out && lane == r)
			y[(r0 + r) * p.y_stride + p.y_col + o] = acc[r];
#else
	[[unroll]] for (uint r = 0u; r < ROWS; r++)
		partial[r * WG + t] = acc[r];
	barrier();
	for (uint h = PER_ROW / 2u; h > 0u; h >>= 1) {
		if (lane < h)
			for (uint r = 0u; r < nr; r++)
				partial[r * WG + t] += partial[r * WG + t + h];
		barrier();
	}
	if (o < p.n_out && lane < nr)
		y[(r0 + lane) * p.y_stride + p.y_col + o] = partial[lane * WG + t - lane];
#endif
}
