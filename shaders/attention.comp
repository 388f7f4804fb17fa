#version 450
// attention.comp - causal attention of query row r0 + y, head h (one workgroup)
// over positions 0..pos0+r of one layer's F16 caches: scores into a
// scratch row, softmax, then the weighted sum of the values, where each
// thread takes one pair of the head's dimensions over every G-th position
// and shared memory adds up the G groups.  Query head h reads KV head
// h / (n_head / n_head_kv).  The host makes workgroups wide on GPUs, so
// that long contexts keep many threads busy.
#include "common.glsl"

layout(set = 0, binding = 0) readonly buffer KCache { uint kc[]; };
layout(set = 0, binding = 1) readonly buffer Q { float q[]; };
layout(set = 0, binding = 2) writeonly buffer Out { float o[]; };
layout(set = 0, binding = 3) readonly buffer VCache { uint vc[]; };
// coherent: threads read the scores other threads of the workgroup wrote
layout(set = 0, binding = 4) coherent buffer Scratch { float scores[]; };

layout(push_constant) uniform Params {
	uint n_head, n_head_kv, head_dim, kv_dim;
	uint pos0, q_stride, o_stride, n_ctx, r0;
	float scale;
} p;

shared float partial[WG];
shared vec2 sums[WG];

float reduce(float v, bool take_max)
{
	uint t = gl_LocalInvocationID.x;
	partial[t] = v;
	barrier();
	for (uint h = WG / 2u; h > 0u; h >>= 1) {
		if (t < h)
			partial[t] = take_max ? max(partial[t], partial[t + h]) : partial[t] + partial[t + h];
		barrier();
	}
	float result = partial[0];
	barrier();
	return result;
}

void main()
{
	uint h = gl_WorkGroupID.x, r = p.r0 + gl_WorkGroupID.y, t = gl_LocalInvocationID.x;
	uint n_pos = p.pos0 + r + 1u;
	uint kv_off = (h / (p.n_head / p.n_head_kv)) * p.head_dim;
	uint qo = r * p.q_stride + h * p.head_dim;
	uint so = (gl_WorkGroupID.y * p.n_head + h) * p.n_ctx;

	float m = uintBitsToFloat(0xff800000u); // -inf
	for (uint pos = t; pos < n_pos; pos += WG) {
		uint ko = (pos * p.kv_dim + kv_off) / 2u;
		float s = 0.0;
		for (uint i = 0u; i < p.head_dim / 2u; i++) {
			vec2 kk = unpackHalf2x16(kc[ko + i]);
			s += kk.x * q[qo + 2u * i] + kk.y * q[qo + 2u * i + 1u];
		}
		s *= p.scale;
		scores[so + pos] = s;
		m = max(m, s);
	}
	m = reduce(m, true);
	float sum = 0.0;
	for (uint pos = t; pos < n_pos; pos += WG) {
		float e = exp(scores[so + pos] - m);
		scores[so + pos] = e;
		sum += e;
	}
	sum = reduce(sum, false);
	memoryBarrierBuffer();
	barrier();
	uint pairs = p.head_dim / 2u, qo_out = r * p.o_stride + h * p.head_dim;
	if (pairs >= WG) {
		for (uint i = t; i < pairs; i += WG) {
			vec2 acc = vec2(0.0);
			for (uint pos = 0u; pos < n_pos; pos++)
				acc += scores[so + pos] * unpackHalf2x16(vc[(pos * p.kv_dim + kv_off) / 2u + i]);
			o[qo_out + 2u * i] = acc.x / sum;
			o[qo_out + 2u * i + 1u] = acc.y / sum;
		}
		return;
	}
	uint groups = WG / pairs, i = t % pairs, g = t / pairs;
	vec2 acc = vec2(0.0);
	if (g < groups)
		for (uint pos = g; pos < n_pos; pos += groups)
			acc += scores[so + pos] * unpackHalf2x16(vc[(pos * p.kv_dim + kv_off) / 2u + i]);
	sums[t] = acc;
	barrier();
	if (g == 0u) {
		for (uint k = 1u; k < groups; k++)
			acc += sums[k * pairs + i];
		o[qo_out + 2u * i] = acc.x / sum;
		o[qo_out + 2u * i + 1u] = acc.y / sum;
	}
}
