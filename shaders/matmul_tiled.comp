#version 450
// matmul_tiled.comp - prefill: y[r][o] = dot(weight row o, x[r]) for a
// tile of TM weight rows x TN activation rows per workgroup of 64 threads
// (the host fixes WG at 64 for this shader).  Unit by unit (32 weights),
// the workgroup decodes the tile's weights into shared memory beside its
// activations, then each thread multiplies a 4 x 8 block from there: the
// weights are read from memory once per TN tokens, and each value loaded
// from shared memory serves 4 or 8 products.
#include "common.glsl"

layout(set = 0, binding = 0) readonly buffer Weights { uint wdata[]; };
layout(set = 0, binding = 1) readonly buffer X { float x[]; };
layout(set = 0, binding = 2) writeonly buffer Y { float y[]; };

#include "quant.glsl"

layout(push_constant) uniform Params {
	uint n_in, n_out, n_rows, row_bytes;
	uint x_stride, y_stride, y_col; // y_col: the output column of bound row 0
} p;

#define TM 64
#define TN 32
shared float ws[32 * TM]; // [weight k of the unit][weight row]
shared float xs[32 * TN]; // [weight k of the unit][activation row]

void main()
{
	uint t = gl_LocalInvocationID.x;
	uint o0 = group_x() * TM, r0 = gl_WorkGroupID.z * TN;
	// this thread's block: weight rows tw + 16i, activation rows tx + 4j
	uint tw = t % 16u, tx = t / 16u;
	float acc[4][8];
	[[unroll]] for (uint i = 0u; i < 4u; i++)
		[[unroll]] for (uint j = 0u; j < 8u; j++)
			acc[i][j] = 0.0;
	uint n_units = (p.n_in + 31u) / 32u;
	for (uint u = 0u; u < n_units; u++) {
		// four neighbouring threads decode the four parts of one row's unit
		for (uint i = t; i < 4u * TM; i += WG) {
			uint row = i / 4u, k = i % 4u, a0 = 8u * k, a1 = a0 + 4u;
			float w[8];
			if (o0 + row < p.n_out) {
				dequant_part((o0 + row) * p.row_bytes, p.n_in, u, k, w, a0, a1);
			} else {
				[[unroll]] for (uint j = 0u; j < 8u; j++)
					w[j] = 0.0;
			}
			[[unroll]] for (uint j = 0u; j < 4u; j++) {
				ws[(a0 + j) * TM + row] = w[j];
				ws[(a1 + j) * TM + row] = w[j + 4u];
			}
		}
		for (uint i = t; i < 32u * TN; i += WG) {
			uint r = i / 32u, k = i % 32u, c = 32u * u + k;
			// past the last row, or the end of a float row: zero
			xs[k * TN + r] = r0 + r < p.n_rows && c < p.n_in ? x[(r0 + r) * p.x_stride + c] : 0.0;
		}
		barrier();
		for (uint k = 0u; k < 32u; k++) {
			float wv[4], xv[8];
			[[unroll]] for (uint i = 0u; i < 4u; i++)
				wv[i] = ws[k * TM + tw + 16u * i];
			[[unroll]] for (uint j = 0u; j < 8u; j++)
				xv[j] = xs[k * TN + tx + 4u * j];
			[[unroll]] for (uint i = 0u; i < 4u; i++)
				[[unroll]] for (uint j = 0u; j < 8u; j++)
					acc[i][j] += wv[i] * xv[j];
		}
		barrier();
	}
	[[unroll]] for (uint i = 0u; i < 4u; i++)
		[[unroll]] for (uint j = 0u; j < 8u; j++) {
			uint o = o0 + tw + 16u * i, r = r0 + tx + 4u * j;
			if (o < p.n_out && r < p.n_rows)
				y[r * p.y_stride + p.y_col + o] = acc[i][j];
		}
}
