#version 450
// kv_store.comp - stores k[r] and v[r] as F16 at position pos0 + r of one
// layer's caches, two values per 32-bit word.
#include "common.glsl"

layout(set = 0, binding = 0) writeonly buffer KCache { uint kc[]; };
layout(set = 0, binding = 1) readonly buffer K { float k[]; };
layout(set = 0, binding = 2) readonly buffer V { float v[]; };
layout(set = 0, binding = 3) writeonly buffer VCache { uint vc[]; };

layout(push_constant) uniform Params {
	uint kv_dim, pos0, n_rows, k_stride, v_stride;
} p;

void main()
{
	uint i = gl_GlobalInvocationID.x, r = gl_GlobalInvocationID.y;
	if (2u * i >= p.kv_dim || r >= p.n_rows)
		return;
	uint dst = ((p.pos0 + r) * p.kv_dim) / 2u + i;
	kc[dst] = packHalf2x16(vec2(k[r * p.k_stride + 2u * i], k[r * p.k_stride + 2u * i + 1u]));
	vc[dst] = packHalf2x16(vec2(v[r * p.v_stride + 2u * i], v[r * p.v_stride + 2u * i + 1u]));
}
