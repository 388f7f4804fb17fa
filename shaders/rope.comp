#version 450
// rope.comp - rotates the pairs of dimensions of every head of x[r] by the
// angles of its position, whose cosines and sines the host computed in
// double precision: table[pos][i] = (cos, sin) of pair i at position pos.
#include "common.glsl"

layout(set = 0, binding = 2) buffer X { float x[]; };
layout(set = 0, binding = 3) readonly buffer Table { vec2 table[]; };

layout(push_constant) uniform Params {
	uint cols, head_dim, n_rot, halves, n_rows, pos0;
} p;

void main()
{
	uint half_rot = p.n_rot / 2u, heads = p.cols / p.head_dim;
	uint i = gl_GlobalInvocationID.x, r = gl_GlobalInvocationID.y;
	if (i >= heads * half_rot || r >= p.n_rows)
		return;
	uint h = i / half_rot, k = i % half_rot;
	vec2 cs = table[(p.pos0 + r) * half_rot + k];
	uint base = r * p.cols + h * p.head_dim;
	uint a = base + (p.halves != 0u ? k : 2u * k), b = a + (p.halves != 0u ? half_rot : 1u);
	float x0 = x[a], x1 = x[b];
	x[a] = x0 * cs.x - x1 * cs.y;
	x[b] = x0 * cs.y + x1 * cs.x;
}
