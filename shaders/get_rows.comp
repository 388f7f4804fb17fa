#version 450
// get_rows.comp - one embedding row, dequantized into y at y_offset: the
// row starts row_offset bytes into the bound stretch of the weights.
// Thread i decodes part i % 4 of unit i / 4 (8 weights).
#include "common.glsl"

layout(set = 0, binding = 0) readonly buffer Weights { uint wdata[]; };
layout(set = 0, binding = 2) writeonly buffer Y { float y[]; };

#include "quant.glsl"

layout(push_constant) uniform Params {
	uint n_in, row_offset, y_offset;
} p;

void main()
{
	uint i = gl_GlobalInvocationID.x, base = 32u * (i >> 2);
	if (base >= p.n_in)
		return;
	float w[8];
	uint a0, a1;
	dequant_part(p.row_offset, p.n_in, i >> 2, i & 3u, w, a0, a1);
	for (uint j = 0u; j < 4u; j++) {
		// float rows may end inside their last unit
		if (base + a0 + j < p.n_in)
			y[p.y_offset + base + a0 + j] = w[j];
		if (base + a1 + j < p.n_in)
			y[p.y_offset + base + a1 + j] = w[j + 4u];
	}
}
