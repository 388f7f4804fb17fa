// common.glsl - what every nibble compute shader shares: the workgroup size
// (a specialization constant, set per device) and byte access to buffers of
// 32-bit words, so that GGUF blocks at any even offset can be read without
// 8- or 16-bit storage extensions.  Loops over small arrays are marked
// [[unroll]], so that the arrays stay in registers.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require

layout(constant_id = 0) const uint WG = 64;
layout(local_size_x_id = 0) in;

// The index of this workgroup when a grid wider than the 65535 limit of
// one dimension is folded into x and y.
uint group_x()
{
	return gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
}
