#version 450
// get_rows.comp - one embedding row, dequantized into y at y_offset: the
// row starts row_offset bytes into the bound stretch of the weights.
// Thread i decodes unit i (32 weights).
#include "common.glsl"

layout(set = 0, binding = 0) readonly buffer Weights { uint wdata[]; };
layout(set = 0, binding = 2) writeonly buffer Y { float y[]; };

#include "quant.glsl"

layout(push_constant) uniform Params {
	uint n_in, row_offset, y_offset;
} p;

void main()
{
	uint u = gl_GlobalInvocationID.x;
	if (32u * u >= p.n_in)
		return;
	float w[32];
	dequant_unit(p.row_offset, p.n_in, u, w);
	for (uint j = 0u; j < min(32u, p.n_in - 32u * u); j++)
		y[p.y_offset + 32u * u + j] = w[j];
}
