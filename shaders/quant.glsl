// quant.glsl - the GGUF block layouts of quant.h, read from a buffer of
// 32-bit words (`wdata`, which the including shader declares), and
// dequant_part(), which decodes a quarter of a unit of 32 weights.  The
// weight type is the specialization constant TYPE (a ggml_type id), so a
// driver compiles only the branch a pipeline uses.  test_vulkan checks the
// sizes and offsets below against quant.h.

layout(constant_id = 1) const uint TYPE = 0;

// ggml_type ids
#define GGML_F32 0
#define GGML_F16 1
#define GGML_Q4_0 2
#define GGML_Q4_1 3
#define GGML_Q5_0 6
#define GGML_Q5_1 7
#define GGML_Q8_0 8
#define GGML_Q2_K 10
#define GGML_Q3_K 11
#define GGML_Q4_K 12
#define GGML_Q5_K 13
#define GGML_Q6_K 14
#define GGML_IQ4_NL 20
#define GGML_IQ4_XS 23
#define GGML_BF16 30

// rows of single weights, which need not fill their last unit of 32
const bool FLOAT_ROWS = TYPE == GGML_F32 || TYPE == GGML_F16 || TYPE == GGML_BF16;

// block sizes in bytes, and field offsets (d first unless said otherwise)
#define Q4_0_BYTES 18
#define Q4_0_QS 2
#define Q4_1_BYTES 20
#define Q4_1_M 2
#define Q4_1_QS 4
#define Q5_0_BYTES 22
#define Q5_0_QH 2
#define Q5_0_QS 6
#define Q5_1_BYTES 24
#define Q5_1_M 2
#define Q5_1_QH 4
#define Q5_1_QS 8
#define Q8_0_BYTES 34
#define Q8_0_QS 2
#define IQ4_NL_BYTES 18
#define IQ4_NL_QS 2
#define Q2_K_BYTES 84
#define Q2_K_SCALES 0
#define Q2_K_QS 16
#define Q2_K_D 80
#define Q2_K_DMIN 82
#define Q3_K_BYTES 110
#define Q3_K_HMASK 0
#define Q3_K_QS 32
#define Q3_K_SCALES 96
#define Q3_K_D 108
#define Q4_K_BYTES 144
#define Q4_K_DMIN 2
#define Q4_K_SCALES 4
#define Q4_K_QS 16
#define Q5_K_BYTES 176
#define Q5_K_DMIN 2
#define Q5_K_SCALES 4
#define Q5_K_QH 16
#define Q5_K_QS 48
#define Q6_K_BYTES 210
#define Q6_K_QL 0
#define Q6_K_QH 128
#define Q6_K_SCALES 192
#define Q6_K_D 208
#define IQ4_XS_BYTES 136
#define IQ4_XS_SCALES_H 2
#define IQ4_XS_SCALES_L 4
#define IQ4_XS_QS 8

uint w_u8(uint off)
{
	return (wdata[off >> 2] >> ((off & 3u) * 8u)) & 0xffu;
}

int w_i8(uint off)
{
	return int(w_u8(off) << 24) >> 24;
}

// off is even: the 16 bits never straddle two words
uint w_u16(uint off)
{
	return (wdata[off >> 2] >> ((off & 2u) * 8u)) & 0xffffu;
}

// off is even: one word, or the halves of two
uint w_u32(uint off)
{
	uint i = off >> 2;
	return (off & 2u) == 0u ? wdata[i] : (wdata[i] >> 16) | (wdata[i + 1u] << 16);
}

// Byte j (0..7) of the 8 bytes in v0, v1.
uint byte_of(uint v0, uint v1, uint j)
{
	return ((j < 4u ? v0 : v1) >> (8u * (j & 3u))) & 0xffu;
}

float w_f16(uint off)
{
	return unpackHalf2x16(w_u16(off)).x;
}

// The non-uniform 4-bit grid of IQ4_NL and IQ4_XS.
const float IQ4_VALUES[16] = float[16](-127.0, -104.0, -83.0, -65.0, -49.0, -35.0, -22.0, -10.0,
				       1.0, 13.0, 25.0, 38.0, 53.0, 69.0, 89.0, 113.0);

// Scale and minimum j (0..7) of a Q4_K/Q5_K block: 6 bits each, packed in 12 bytes.
void k4_scale_min(uint s, uint j, out float sc, out float mn)
{
	if (j < 4u) {
		sc = float(w_u8(s + j) & 63u);
		mn = float(w_u8(s + j + 4u) & 63u);
	} else {
		sc = float((w_u8(s + j + 4u) & 15u) | ((w_u8(s + j - 4u) >> 6) << 4));
		mn = float((w_u8(s + j + 4u) >> 4) | ((w_u8(s + j) >> 6) << 4));
	}
}

// Q3_K's 16 6-bit scales (minus 32): low 4 bits from bytes 0..7, high 2 from bytes 8..11.
float q3k_scale(uint s, uint j)
{
	uint lo = (j < 8u) ? (w_u8(s + j) & 15u) : (w_u8(s + j - 8u) >> 4);
	uint hi = (w_u8(s + 8u + (j & 3u)) >> (2u * (j >> 2))) & 3u;
	return float(int(lo | (hi << 4)) - 32);
}

// Part k (0..3) of unit u: the 8 weights one thread of a matmul takes, so
// that four neighbouring threads read a unit's neighbouring words.  They
// multiply x at offsets a0..a0+3 (w[0..3]) and a1..a1+3 (w[4..7]) of the
// unit: the low and high nibbles of bytes 4k..4k+3 for types that pack
// weights j and j+16 in one byte, weights 8k..8k+7 for the others.
void dequant_part(uint row, uint n, uint u, uint k, out float w[8], out uint a0, out uint a1)
{
	a0 = 8u * k;
	a1 = a0 + 4u;
	if (FLOAT_ROWS) {
		[[unroll]] for (uint j = 0u; j < 8u; j++) {
			uint i = 32u * u + 8u * k + j;
			if (i >= n)
				w[j] = 0.0;
			else if (TYPE == GGML_F32)
				w[j] = uintBitsToFloat(wdata[(row >> 2) + i]);
			else if (TYPE == GGML_F16)
				w[j] = w_f16(row + 2u * i);
			else
				w[j] = uintBitsToFloat(w_u16(row + 2u * i) << 16);
		}
	} else if (TYPE == GGML_Q4_0 || TYPE == GGML_IQ4_NL || TYPE == GGML_Q4_1 || TYPE == GGML_Q5_0 ||
		   TYPE == GGML_Q5_1 || TYPE == GGML_IQ4_XS) {
		a0 = 4u * k;
		a1 = a0 + 16u;
		float d, m = 0.0;
		uint q, qh = 0u;
		if (TYPE == GGML_IQ4_XS) {
			uint b = row + (u >> 3) * IQ4_XS_BYTES, s = u & 7u;
			uint ls = ((w_u8(b + IQ4_XS_SCALES_L + (s >> 1)) >> (4u * (s & 1u))) & 15u) |
				  (((w_u16(b + IQ4_XS_SCALES_H) >> (2u * s)) & 3u) << 4);
			d = w_f16(b) * float(int(ls) - 32);
			q = w_u32(b + IQ4_XS_QS + 16u * s + 4u * k);
		} else if (TYPE == GGML_Q4_0 || TYPE == GGML_IQ4_NL) {
			uint b = row + u * Q4_0_BYTES;
			d = w_f16(b);
			m = TYPE == GGML_Q4_0 ? -8.0 * d : 0.0;
			q = w_u32(b + Q4_0_QS + 4u * k);
		} else if (TYPE == GGML_Q4_1) {
			uint b = row + u * Q4_1_BYTES;
			d = w_f16(b);
			m = w_f16(b + Q4_1_M);
			q = w_u32(b + Q4_1_QS + 4u * k);
		} else {
			bool one = TYPE == GGML_Q5_1;
			uint b = row + u * (one ? Q5_1_BYTES : Q5_0_BYTES);
			d = w_f16(b);
			m = one ? w_f16(b + Q5_1_M) : -16.0 * d;
			qh = w_u32(b + (one ? Q5_1_QH : Q5_0_QH)) >> (4u * k);
			q = w_u32(b + (one ? Q5_1_QS : Q5_0_QS) + 4u * k);
		}
		[[unroll]] for (uint j = 0u; j < 4u; j++) {
			uint lo = (q >> (8u * j)) & 15u, hi = (q >> (8u * j + 4u)) & 15u;
			if (TYPE == GGML_IQ4_NL || TYPE == GGML_IQ4_XS) {
				w[j] = d * IQ4_VALUES[lo];
				w[j + 4u] = d * IQ4_VALUES[hi];
			} else {
				lo |= ((qh >> j) & 1u) << 4;
				hi |= ((qh >> (j + 16u)) & 1u) << 4;
				w[j] = d * float(lo) + m;
				w[j + 4u] = d * float(hi) + m;
			}
		}
	} else if (TYPE == GGML_Q8_0) {
		uint b = row + u * Q8_0_BYTES;
		float d = w_f16(b);
		uint v0 = w_u32(b + Q8_0_QS + 8u * k), v1 = w_u32(b + Q8_0_QS + 8u * k + 4u);
		[[unroll]] for (uint j = 0u; j < 8u; j++)
			w[j] = d * float(int(byte_of(v0, v1, j) << 24) >> 24);
	} else if (TYPE == GGML_Q2_K || TYPE == GGML_Q3_K) {
		bool three = TYPE == GGML_Q3_K;
		uint b = row + (u >> 3) * (three ? Q3_K_BYTES : Q2_K_BYTES), s = u & 7u;
		uint shift = 2u * (s & 3u);
		uint qs = b + (three ? Q3_K_QS : Q2_K_QS) + 32u * (s >> 2) + 8u * k;
		uint v0 = w_u32(qs), v1 = w_u32(qs + 4u), h0 = 0u, h1 = 0u;
		float dl, ml = 0.0;
		if (three) {
			dl = w_f16(b + Q3_K_D) * q3k_scale(b + Q3_K_SCALES, 2u * s + (k >> 1));
			h0 = w_u32(b + Q3_K_HMASK + 8u * k);
			h1 = w_u32(b + Q3_K_HMASK + 8u * k + 4u);
		} else {
			uint sc = w_u8(b + Q2_K_SCALES + 2u * s + (k >> 1));
			dl = w_f16(b + Q2_K_D) * float(sc & 15u);
			ml = w_f16(b + Q2_K_DMIN) * float(sc >> 4);
		}
		[[unroll]] for (uint j = 0u; j < 8u; j++) {
			int q = int((byte_of(v0, v1, j) >> shift) & 3u);
			if (three)
				q -= ((byte_of(h0, h1, j) >> s) & 1u) != 0u ? 0 : 4;
			w[j] = dl * float(q) - ml;
		}
	} else if (TYPE == GGML_Q4_K || TYPE == GGML_Q5_K) {
		bool five = TYPE == GGML_Q5_K;
		uint b = row + (u >> 3) * (five ? Q5_K_BYTES : Q4_K_BYTES), s = u & 7u;
		float sc, mn;
		k4_scale_min(b + Q4_K_SCALES, s, sc, mn);
		float dl = w_f16(b) * sc, ml = w_f16(b + Q4_K_DMIN) * mn;
		uint qs = b + (five ? Q5_K_QS : Q4_K_QS) + 32u * (s >> 1) + 8u * k, shift = 4u * (s & 1u);
		uint v0 = w_u32(qs), v1 = w_u32(qs + 4u), h0 = 0u, h1 = 0u;
		if (five) {
			h0 = w_u32(b + Q5_K_QH + 8u * k);
			h1 = w_u32(b + Q5_K_QH + 8u * k + 4u);
		}
		[[unroll]] for (uint j = 0u; j < 8u; j++) {
			uint q = (byte_of(v0, v1, j) >> shift) & 15u;
			if (five)
				q |= ((byte_of(h0, h1, j) >> s) & 1u) << 4;
			w[j] = dl * float(q) - ml;
		}
	} else if (TYPE == GGML_Q6_K) {
		uint b = row + (u >> 3) * Q6_K_BYTES, s = u & 7u;
		uint n6 = s >> 2, quarter = s & 3u;
		uint ql = b + Q6_K_QL + 64u * n6 + 32u * (quarter & 1u) + 8u * k;
		uint qh = b + Q6_K_QH + 32u * n6 + 8u * k;
		uint v0 = w_u32(ql), v1 = w_u32(ql + 4u), h0 = w_u32(qh), h1 = w_u32(qh + 4u);
		uint shift = 4u * (quarter >> 1);
		float dl = w_f16(b + Q6_K_D) * float(w_i8(b + Q6_K_SCALES + 8u * n6 + 2u * quarter + (k >> 1)));
		[[unroll]] for (uint j = 0u; j < 8u; j++) {
			int q = int(((byte_of(v0, v1, j) >> shift) & 15u) | (((byte_of(h0, h1, j) >> (2u * quarter)) & 3u) << 4));
			w[j] = dl * float(q - 32);
		}
	}
}
