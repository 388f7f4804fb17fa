/* test_quant.c - half-precision conversions and the scalar block formats
 * against values computed by hand or from an independent reading of the
 * layouts; dot products against dequantize-then-multiply. */
#include "config.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model/context.h"
#include "gguf/gguf.h"
#include "quant/quant.h"
#include "quant/kernels.h"
#include "base/util.h"
#include "tap.h"

static uint64_t rng_state = 42;

static uint32_t next_u32(void)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rng_state >> 32);
}

static void test_half(void)
{
	ok(f32_to_fp16(1.0f) == 0x3c00 && f32_to_fp16(-2.0f) == 0xc000 && f32_to_fp16(65504.0f) == 0x7bff &&
		   f32_to_fp16(0x1p-24f) == 0x0001 && f32_to_fp16(0.0f) == 0 && f32_to_fp16(-0.0f) == 0x8000,
	   "f32 -> fp16 of exact values");
	ok(f32_to_fp16(1.0f + 0x1p-11f) == 0x3c00 && f32_to_fp16(1.0f + 3 * 0x1p-11f) == 0x3c02 &&
		   f32_to_fp16(65520.0f) == 0x7c00 && f32_to_fp16(0x1p-25f) == 0 && f32_to_fp16(0x1.8p-25f) == 1,
	   "f32 -> fp16 rounds to nearest even, overflows to inf");
	ok(f32_to_fp16(INFINITY) == 0x7c00 && (f32_to_fp16(NAN) & 0x7c00) == 0x7c00 && (f32_to_fp16(NAN) & 0x3ff),
	   "inf and nan convert");
	int bad = 0;
	for (uint32_t h = 0; h < 0x10000; h++) {
		if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff))
			continue; /* nan payloads need not survive */
		bad += f32_to_fp16(fp16_to_f32((uint16_t)h)) != h;
	}
	ok(bad == 0, "every non-nan fp16 value round-trips through f32 (%d differ)", bad);
	ok(fp16_to_f32(0x3555) == 0x1.554p-2f && fp16_to_f32(0x0200) == 0x1p-15f, "fp16 -> f32 of normals and subnormals");
	ok(bf16_to_f32(0x3f80) == 1.0f && bf16_to_f32(0xc0a0) == -5.0f, "bf16 -> f32");
}

static void test_traits(void)
{
	ok(quant_traits(GGML_TYPE_Q4_K)->type_size == 144 && quant_traits(GGML_TYPE_Q6_K)->block_size == 256 &&
		   quant_traits(GGML_TYPE_IQ4_XS)->type_size == 136 && quant_traits(GGML_TYPE_BF16)->type_size == 2,
	   "block sizes of known types");
	ok(!quant_traits(4) && !quant_traits(31) && !quant_traits(1000) && !strcmp(quant_name(31), "type 31"),
	   "removed and unknown type ids have no traits");
	ok(quant_traits(GGML_TYPE_Q4_K)->vec_dot_type == GGML_TYPE_Q8_K &&
		   quant_traits(GGML_TYPE_Q4_1)->vec_dot_type == GGML_TYPE_Q8_1 &&
		   quant_traits(GGML_TYPE_F16)->vec_dot_type == GGML_TYPE_F32,
	   "activation types: Q8_K for k-quants, Q8_1 for types with a minimum, F32 for float weights");
}

static void test_q8_0(void)
{
	struct block_q8_0 b = { .d = 0x3800 }; /* 0.5 */
	for (int j = 0; j < 32; j++)
		b.qs[j] = (int8_t)(j * 8 - 128);
	float y[32];
	quant_dequantize(GGML_TYPE_Q8_0, &b, y, 32);
	int bad = 0;
	for (int j = 0; j < 32; j++)
		bad += y[j] != 0.5f * (j * 8 - 128);
	ok(bad == 0, "Q8_0 block dequantizes to d * q");
}

static void test_q4_0(void)
{
	struct block_q4_0 b = { .d = 0x4000 }; /* 2.0 */
	for (int j = 0; j < 16; j++)
		b.qs[j] = (uint8_t)(j | (15 - j) << 4);
	float y[32];
	quant_dequantize(GGML_TYPE_Q4_0, &b, y, 32);
	int bad = 0;
	for (int j = 0; j < 16; j++)
		bad += y[j] != 2.0f * (j - 8) || y[j + 16] != 2.0f * (15 - j - 8);
	ok(bad == 0, "Q4_0 block: low nibbles are weights 0-15, high nibbles 16-31, offset 8");
}

/* Q4_1: weight = d * q + m, q unsigned, low nibbles first. */
static void test_q4_1(void)
{
	struct block_q4_1 b = { .d = 0x3800, .m = 0xbc00 }; /* 0.5, -1.0 */
	for (int j = 0; j < 16; j++)
		b.qs[j] = (uint8_t)(j | (15 - j) << 4);
	float y[32];
	quant_dequantize(GGML_TYPE_Q4_1, &b, y, 32);
	ok(y[0] == -1.0f && y[1] == -0.5f && y[15] == 6.5f && y[16] == 6.5f && y[31] == -1.0f,
	   "Q4_1 block dequantizes to d * q + m");
}

/* qh = 01 80 00 ff: as a little-endian word, bits 0, 15 and 24..31 are set,
 * so weights 0, 15 and 24..31 have their fifth bit (16) set. */
static const uint8_t q5_qh[4] = { 0x01, 0x80, 0x00, 0xff };

static int q5_expected(int j)
{
	int nibble = j < 16 ? j : 15 - (j - 16); /* qs[j] = j | (15 - j) << 4 */
	return nibble + (j == 0 || j == 15 || j >= 24 ? 16 : 0);
}

static void test_q5(void)
{
	struct block_q5_0 b0 = { .d = 0x4000 };             /* 2.0 */
	struct block_q5_1 b1 = { .d = 0x3400, .m = 0x3c00 }; /* 0.25, 1.0 */
	for (int j = 0; j < 16; j++)
		b0.qs[j] = b1.qs[j] = (uint8_t)(j | (15 - j) << 4);
	memcpy(b0.qh, q5_qh, 4);
	memcpy(b1.qh, q5_qh, 4);
	float y0[32], y1[32];
	quant_dequantize(GGML_TYPE_Q5_0, &b0, y0, 32);
	quant_dequantize(GGML_TYPE_Q5_1, &b1, y1, 32);
	int bad0 = 0, bad1 = 0;
	for (int j = 0; j < 32; j++) {
		bad0 += y0[j] != 2.0f * (q5_expected(j) - 16);
		bad1 += y1[j] != 0.25f * q5_expected(j) + 1.0f;
	}
	ok(bad0 == 0 && y0[0] == 0.0f && y0[1] == -30.0f && y0[31] == 0.0f,
	   "Q5_0 block: fifth bits from qh as a little-endian word, weight = d * (q - 16)");
	ok(bad1 == 0 && y1[0] == 5.0f && y1[16] == 4.75f && y1[24] == 6.75f, "Q5_1 block: weight = d * q + m");
}

static void test_iq4_nl(void)
{
	static const int8_t table[16] = { -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113 };
	struct block_iq4_nl b = { .d = 0x3800 }; /* 0.5 */
	for (int j = 0; j < 16; j++)
		b.qs[j] = (uint8_t)(j | (15 - j) << 4);
	float y[32];
	quant_dequantize(GGML_TYPE_IQ4_NL, &b, y, 32);
	int bad = 0;
	for (int j = 0; j < 16; j++)
		bad += y[j] != 0.5f * table[j] || y[j + 16] != 0.5f * table[15 - j];
	ok(bad == 0 && y[0] == -63.5f && y[16] == 56.5f, "IQ4_NL block: nibbles index the value table");
}

static void test_q8_1(void)
{
	struct block_q8_1 b = { .d = 0x3800, .s = 0x4000 };
	for (int j = 0; j < 32; j++)
		b.qs[j] = (int8_t)(j * 8 - 128);
	float y[32];
	quant_dequantize(GGML_TYPE_Q8_1, &b, y, 32);
	int bad = 0;
	for (int j = 0; j < 32; j++)
		bad += y[j] != 0.5f * (j * 8 - 128);
	ok(bad == 0, "Q8_1 block dequantizes to d * q");

	/* x = j - 16: max |x| = 16, so d = 16/127 and q = round(x * 127/16);
	 * the quants of -15..15 cancel, leaving q(-16) = -127: s = d * -127 = -16. */
	float x[32];
	for (int j = 0; j < 32; j++)
		x[j] = (float)(j - 16);
	quant_quantize(GGML_TYPE_Q8_1, x, &b, 32);
	ok(b.s == 0xcc00 && b.d == f32_to_fp16(16.0f / 127) && b.qs[0] == -127 && b.qs[16] == 0 && b.qs[17] == 8 &&
		   b.qs[31] == 119,
	   "Q8_1 quantizes to round(x / d) with s = d * sum(q)");
}

/* Weight i of a Q6_K block, read straight from the layout description:
 * each 128-weight half has 64 ql bytes, 32 qh bytes and 8 scales; its
 * quarter q (32 weights) takes low nibbles of ql[0..31] / ql[32..63], then
 * high nibbles, and bits 2q..2q+1 of qh; a scale covers 16 weights. */
static float q6_k_weight(const struct block_q6_k *b, int i)
{
	int half = i / 128, q = i % 128 / 32, l = i % 32;
	uint8_t lo_byte = b->ql[64 * half + 32 * (q & 1) + l];
	int lo = q < 2 ? lo_byte & 15 : lo_byte >> 4;
	int hi = b->qh[32 * half + l] >> (2 * q) & 3;
	int scale = b->scales[8 * half + 2 * q + l / 16];
	return fp16_to_f32(b->d) * scale * ((lo | hi << 4) - 32);
}

static void test_q6_k(void)
{
	int bad = 0;
	for (int trial = 0; trial < 20; trial++) {
		struct block_q6_k b;
		uint8_t *raw = (uint8_t *)&b;
		for (size_t i = 0; i < sizeof b; i++)
			raw[i] = (uint8_t)next_u32();
		b.d = f32_to_fp16(0.01f * (trial + 1));
		float y[256];
		quant_dequantize(GGML_TYPE_Q6_K, &b, y, 256);
		for (int i = 0; i < 256; i++)
			bad += y[i] != q6_k_weight(&b, i);
	}
	ok(bad == 0, "Q6_K random blocks match the layout description (%d differ)", bad);
}

/* Weight i of a Q2_K block from the layout description: a 128-weight half
 * has 32 qs bytes; its quarter q (32 weights) takes bits 2q, 2q+1 of them;
 * scales[i / 16] holds the group's scale (low nibble, times d) and minimum
 * (high nibble, times dmin, subtracted). */
static float q2_k_weight(const struct block_q2_k *b, int i)
{
	int half = i / 128, q = i % 128 / 32, l = i % 32;
	int v = b->qs[32 * half + l] >> (2 * q) & 3;
	uint8_t sm = b->scales[i / 16];
	return fp16_to_f32(b->d) * (sm & 15) * v - fp16_to_f32(b->dmin) * (sm >> 4);
}

/* Weight i of a Q3_K block: 2 low bits as in Q2_K, the third is bit i / 32
 * of hmask[i % 32], and a clear bit means 4 less; the 16 scales are 6-bit
 * values stored plus 32, low 4 bits in the nibbles of bytes 0-7 (scales
 * 0-7 low nibbles, 8-15 high nibbles), top 2 bits in bytes 8-11 (scale g
 * in byte 8 + g % 4 at bit 2 (g / 4)). */
static float q3_k_weight(const struct block_q3_k *b, int i)
{
	int half = i / 128, q = i % 128 / 32, l = i % 32, g = i / 16;
	int low = b->qs[32 * half + l] >> (2 * q) & 3;
	int high = b->hmask[l] >> (4 * half + q) & 1;
	int sc_lo = g < 8 ? b->scales[g] & 15 : b->scales[g - 8] >> 4;
	int sc_hi = b->scales[8 + g % 4] >> (2 * (g / 4)) & 3;
	return fp16_to_f32(b->d) * ((sc_lo | sc_hi << 4) - 32) * (low + 4 * high - 4);
}

/* Scale and minimum of group j of a Q4_K/Q5_K block: groups 0-3 in the low
 * 6 bits of bytes j and j + 4; groups 4-7 take 4 bits from byte j + 4 (low
 * nibble: scale, high: minimum) and their top 2 bits from the top bits of
 * bytes j - 4 (scale) and j (minimum). */
static void k4_scale_min(const uint8_t *s, int j, int *sc, int *m)
{
	if (j < 4) {
		*sc = s[j] & 63;
		*m = s[j + 4] & 63;
	} else {
		*sc = (s[j + 4] & 15) | (s[j - 4] >> 6) << 4;
		*m = (s[j + 4] >> 4) | (s[j] >> 6) << 4;
	}
}

/* Weight i of a Q4_K block: 64-weight chunk c has 32 bytes, its first 32
 * weights in the low nibbles, the next 32 in the high nibbles. */
static float q4_k_weight(const struct block_q4_k *b, int i)
{
	int c = i / 64, l = i % 32, sc, m;
	int v = i % 64 < 32 ? b->qs[32 * c + l] & 15 : b->qs[32 * c + l] >> 4;
	k4_scale_min(b->scales, i / 32, &sc, &m);
	return fp16_to_f32(b->d) * sc * v - fp16_to_f32(b->dmin) * m;
}

/* Weight i of a Q5_K block: as Q4_K, plus 16 when bit i / 32 of qh[i % 32]
 * is set. */
static float q5_k_weight(const struct block_q5_k *b, int i)
{
	int c = i / 64, l = i % 32, sc, m;
	int v = i % 64 < 32 ? b->qs[32 * c + l] & 15 : b->qs[32 * c + l] >> 4;
	v += 16 * (b->qh[l] >> (i / 32) & 1);
	k4_scale_min(b->scales, i / 32, &sc, &m);
	return fp16_to_f32(b->d) * sc * v - fp16_to_f32(b->dmin) * m;
}

/* Weight i of an IQ4_XS block: group g = i / 32 has 16 qs bytes, weights
 * 0-15 in the low nibbles and 16-31 in the high ones, each indexing the
 * IQ4_NL table; its scale (stored plus 32) has 4 bits in nibble g % 2 of
 * scales_l[g / 2] and 2 bits at bit 2g of scales_h. */
static float iq4_xs_weight(const struct block_iq4_xs *b, int i)
{
	static const int table[16] = { -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113 };
	int g = i / 32, j = i % 32;
	uint8_t byte = b->qs[16 * g + j % 16];
	int idx = j < 16 ? byte & 15 : byte >> 4;
	int ls = (b->scales_l[g / 2] >> (4 * (g % 2)) & 15) | (b->scales_h >> (2 * g) & 3) << 4;
	return fp16_to_f32(b->d) * (ls - 32) * table[idx];
}

/* Random blocks of each type dequantize to what its layout reader says
 * (the readers' float expressions need not round like the code's, so
 * allow a few ulps). */
static void test_k_layouts(void)
{
	static const uint32_t types[] = { GGML_TYPE_Q2_K, GGML_TYPE_Q3_K, GGML_TYPE_Q4_K, GGML_TYPE_Q5_K,
					  GGML_TYPE_IQ4_XS };
	for (size_t t = 0; t < ARRAY_LEN(types); t++) {
		int bad = 0;
		for (int trial = 0; trial < 20; trial++) {
			uint8_t raw[256];
			for (size_t i = 0; i < sizeof raw; i++)
				raw[i] = (uint8_t)next_u32();
			uint16_t d = f32_to_fp16(0.01f * (trial + 1)), dmin = f32_to_fp16(0.003f * (trial + 1));
			float y[256], want = 0;
			switch (types[t]) { /* sane fp16 scales where the layout keeps them */
			case GGML_TYPE_Q2_K:
				((struct block_q2_k *)raw)->d = d;
				((struct block_q2_k *)raw)->dmin = dmin;
				break;
			case GGML_TYPE_Q3_K:
				((struct block_q3_k *)raw)->d = d;
				break;
			case GGML_TYPE_Q4_K:
				((struct block_q4_k *)raw)->d = d;
				((struct block_q4_k *)raw)->dmin = dmin;
				break;
			case GGML_TYPE_Q5_K:
				((struct block_q5_k *)raw)->d = d;
				((struct block_q5_k *)raw)->dmin = dmin;
				break;
			default:
				((struct block_iq4_xs *)raw)->d = d;
			}
			quant_dequantize(types[t], raw, y, 256);
			for (int i = 0; i < 256; i++) {
				switch (types[t]) {
				case GGML_TYPE_Q2_K:
					want = q2_k_weight((const struct block_q2_k *)raw, i);
					break;
				case GGML_TYPE_Q3_K:
					want = q3_k_weight((const struct block_q3_k *)raw, i);
					break;
				case GGML_TYPE_Q4_K:
					want = q4_k_weight((const struct block_q4_k *)raw, i);
					break;
				case GGML_TYPE_Q5_K:
					want = q5_k_weight((const struct block_q5_k *)raw, i);
					break;
				default:
					want = iq4_xs_weight((const struct block_iq4_xs *)raw, i);
				}
				bad += fabsf(y[i] - want) > 1e-6f * (fabsf(want) + 1e-3f);
			}
		}
		ok(bad == 0, "%s random blocks match the layout description (%d differ)", quant_name(types[t]), bad);
	}
}

/* A few weights worked out by hand from the layouts. */
static void test_k_by_hand(void)
{
	float y[256];
	/* Q4_K: d = 0.5, dmin = 0.25; group 0: scale 3, minimum 2; group 5:
	 * scale 0x2a (low 4 bits 0xa in byte 9, top bits 0b10 in byte 1),
	 * minimum 0x11 (0x1 in byte 9's high nibble, 0b01 in byte 5's top). */
	struct block_q4_k k4 = { .d = 0x3800, .dmin = 0x3400 };
	k4.scales[0] = 3;
	k4.scales[4] = 2;
	k4.scales[1] = 0x80;
	k4.scales[5] = 0x40;
	k4.scales[9] = 0x1a;
	k4.qs[0] = 0x07;       /* weight 0: q 7 */
	k4.qs[64 + 5] = 0xc0;  /* weight 2 * 64 + 32 + 5 = 165 (group 5): q 12 */
	quant_dequantize(GGML_TYPE_Q4_K, &k4, y, 256);
	ok(y[0] == 0.5f * 3 * 7 - 0.25f * 2 && y[165] == 0.5f * 42 * 12 - 0.25f * 17 && y[160] == -0.25f * 17,
	   "Q4_K block worked by hand (10, 247.75, -4.25: got %g, %g, %g)", y[0], y[165], y[160]);
	/* Q3_K: d = 2; scale 15 (stored 47 = 0b10'1111: low nibble 0xf of
	 * byte 15 % 8 = 7's high half, top bits 0b10 at bit 2 * 3 of byte
	 * 8 + 15 % 4 = 11); weight 255: quarter 3 of half 1, l = 31: low bits
	 * 6-7 of qs[63] = 0b01, high bit 7 of hmask[31] clear: 1 - 4 = -3. */
	struct block_q3_k k3 = { .d = 0x4000 };
	k3.scales[7] = 0xf0;
	k3.scales[11] = 0x80;
	k3.qs[63] = 0x40;
	quant_dequantize(GGML_TYPE_Q3_K, &k3, y, 256);
	ok(y[255] == 2.0f * 15 * -3 && y[254] == 2.0f * 15 * -4 && y[0] == 2.0f * -32 * -4,
	   "Q3_K block worked by hand (-90, -120, 256: got %g, %g, %g)", y[255], y[254], y[0]);
	/* IQ4_XS: d = 0.5, group 3 scale 40 (stored 8 + 32 = 0b10'1000: 0x8 in
	 * scales_l[1]'s high nibble, 0b10 at bits 6-7 of scales_h); weight
	 * 3 * 32 + 16 + 2 = 114 is the high nibble of qs[3 * 16 + 2] = 0xf0:
	 * table[15] = 113. */
	struct block_iq4_xs x4 = { .d = 0x3800, .scales_h = 0x80 };
	x4.scales_l[1] = 0x80;
	x4.qs[50] = 0xf0;
	quant_dequantize(GGML_TYPE_IQ4_XS, &x4, y, 256);
	ok(y[114] == 0.5f * 8 * 113 && y[98] == 0.5f * 8 * -127 && y[0] == 0.5f * -32 * -127,
	   "IQ4_XS block worked by hand (452, -508, 2032: got %g, %g, %g)", y[114], y[98], y[0]);
}

/* Random blocks of a type: random bytes with sane fp16 scales (every
 * 16-bit word is a finite value below 1 when read as fp16 or bf16). */
static void random_blocks(uint32_t type, uint8_t *raw, int64_t n)
{
	if (type == GGML_TYPE_F32) {
		for (int64_t i = 0; i < n; i++) {
			float f = (float)next_u32() / 4294967296.0f - 0.5f;
			memcpy(raw + 4 * i, &f, 4);
		}
		return;
	}
	uint64_t bytes = quant_row_bytes(type, n);
	const struct type_traits *t = quant_traits(type);
	if (t->block_size == 32) {
		/* every bit pattern in the quants; d (and m) start the block */
		for (uint64_t i = 0; i < bytes; i++)
			raw[i] = (uint8_t)next_u32();
		int n_scales = type == GGML_TYPE_Q4_1 || type == GGML_TYPE_Q5_1 ? 2 : 1;
		for (uint64_t b = 0; b < bytes; b += t->type_size)
			for (int k = 0; k < n_scales; k++) {
				uint16_t v = (uint16_t)(next_u32() & 0x3bff);
				memcpy(raw + b + 2 * k, &v, 2);
			}
		return;
	}
	for (uint64_t i = 0; i + 1 < bytes; i += 2) {
		uint16_t v = (uint16_t)(next_u32() & 0x3bff);
		memcpy(raw + i, &v, 2);
	}
}

static void random_floats(float *x, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		x[i] = (float)next_u32() / 4294967296.0f - 0.5f;
}

static const uint32_t compute_types[] = { GGML_TYPE_F32,  GGML_TYPE_F16,  GGML_TYPE_BF16, GGML_TYPE_Q8_0,
					  GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0, GGML_TYPE_Q5_1,
					  GGML_TYPE_IQ4_NL, GGML_TYPE_Q2_K, GGML_TYPE_Q3_K, GGML_TYPE_Q4_K,
					  GGML_TYPE_Q5_K, GGML_TYPE_Q6_K, GGML_TYPE_IQ4_XS };

/* The dot product against quantized activations equals the dot product of
 * the dequantized weights with the dequantized activations. */
static void test_vec_dot(void)
{
	enum { N = 512 };
	for (size_t t = 0; t < ARRAY_LEN(compute_types); t++) {
		uint32_t type = compute_types[t], act_type = quant_traits(type)->vec_dot_type;
		static uint8_t raw[N * 4], act[N * 4];
		float w[N], x[N], xq[N];
		random_blocks(type, raw, N);
		random_floats(x, N);
		quant_quantize(act_type, x, act, N);
		quant_dequantize(type, raw, w, N);
		quant_dequantize(act_type, act, xq, N);
		double want = 0, mag = 0;
		for (int i = 0; i < N; i++) {
			want += (double)w[i] * xq[i];
			mag += fabs((double)w[i] * xq[i]);
		}
		double slack = 0;
		if (act_type == GGML_TYPE_Q8_1) {
			/* a block's minimum m meets the activations through s, d * sum(q)
			 * rounded to fp16: up to |m * s| / 2048 off */
			const uint8_t *b = raw;
			for (int i = 0; i < N / 32; i++, b += quant_traits(type)->type_size) {
				const struct block_q8_1 *y = (const struct block_q8_1 *)act + i;
				uint16_t m;
				memcpy(&m, b + 2, 2);
				slack += fabs((double)fp16_to_f32(m) * fp16_to_f32(y->s)) / 2048;
			}
		}
		float got = quant_vec_dot(type, raw, act, N);
		ok(fabs(got - want) <= 1e-5 * mag + slack + 1e-30, "%s dot product equals dequantize-then-multiply",
		   quant_name(type));
	}
}

/* Quantizing and dequantizing loses at most: half a step plus the rounding
 * of the fp16 scale (Q8_0), one step at the clamped end of the range (Q4_0,
 * Q5_0, whose largest value sets the scale by its sign), half a step (Q8_K,
 * whose float scale maps the largest magnitude to -127), half an ulp (F16).
 * Types with a minimum split max - min into steps and lose half of one, plus
 * the fp16 rounding of d (q * d / 2048) and of m (|m| / 2048). */
static void test_round_trip(void)
{
	enum { N = 512 };
	static const struct {
		uint32_t type;
		int levels;
		float steps;
		bool with_min;
	} cases[] = {
		{ GGML_TYPE_Q8_0, 127, 0.57f, false }, { GGML_TYPE_Q4_0, 8, 1.0f, false },
		{ GGML_TYPE_Q8_K, 127, 0.5f, false },  { GGML_TYPE_Q5_0, 16, 1.01f, false },
		{ GGML_TYPE_Q8_1, 127, 0.57f, false }, { GGML_TYPE_Q4_1, 15, 0.51f, true },
		{ GGML_TYPE_Q5_1, 31, 0.52f, true },
	};
	for (size_t t = 0; t < ARRAY_LEN(cases); t++) {
		float x[N], y[N];
		static uint8_t q[N * 4];
		random_floats(x, N);
		quant_quantize(cases[t].type, x, q, N);
		quant_dequantize(cases[t].type, q, y, N);
		int bs = (int)quant_traits(cases[t].type)->block_size, bad = 0;
		for (int b = 0; b < N / bs; b++) {
			float amax = 0, min = INFINITY, max = -INFINITY;
			for (int j = 0; j < bs; j++) {
				amax = fmaxf(amax, fabsf(x[b * bs + j]));
				min = fminf(min, x[b * bs + j]);
				max = fmaxf(max, x[b * bs + j]);
			}
			float bound = amax / cases[t].levels * cases[t].steps * 1.001f;
			if (cases[t].with_min)
				bound = (max - min) / cases[t].levels * cases[t].steps * 1.001f + fabsf(min) / 2048;
			for (int j = 0; j < bs; j++)
				bad += fabsf(x[b * bs + j] - y[b * bs + j]) > bound;
		}
		ok(bad == 0, "%s quantization loses at most %.2f steps (%d values more)", quant_name(cases[t].type),
		   cases[t].steps, bad);
	}
	float x[N], y[N];
	uint16_t h[N];
	random_floats(x, N);
	quant_quantize(GGML_TYPE_F16, x, h, N);
	quant_dequantize(GGML_TYPE_F16, h, y, N);
	int bad = 0;
	for (int i = 0; i < N; i++)
		bad += fabsf(x[i] - y[i]) > fabsf(x[i]) * 0x1p-11f + 0x1p-25f;
	ok(bad == 0, "F16 conversion is within half an ulp (%d values more)", bad);
}

/* Standard normal numbers (Box-Muller over the test's generator). */
static void gaussian_floats(float *x, int64_t n)
{
	for (int64_t i = 0; i < n; i += 2) {
		double u = (next_u32() + 1.0) / 4294967297.0, v = next_u32() / 4294967296.0;
		double r = sqrt(-2 * log(u));
		x[i] = (float)(r * cos(2 * M_PI * v));
		if (i + 1 < n)
			x[i + 1] = (float)(r * sin(2 * M_PI * v));
	}
}

/* The reference quantizers on Gaussian data: the RMS error relative to the
 * data's RMS must stay at what llama.cpp's reference quantizers reach.
 * Their level: on the tiny256 test model's weights, whose llama.cpp files
 * our quantizers reproduce block for block, the k-quants lose 0.296 (Q2_K),
 * 0.151 (Q3_K), 0.0713 (Q4_K), 0.0360 (Q5_K), 0.0177 (Q6_K), and IQ4_XS
 * 0.0768.  On 65536 Gaussian values (enough that the stream of random
 * numbers does not matter) they land within 2% of those; the bounds allow 3%. */
static void test_k_quantize(void)
{
	enum { N = 256 * QK_K };
	static const struct {
		uint32_t type;
		double bound;
	} cases[] = {
		{ GGML_TYPE_Q2_K, 0.305 }, { GGML_TYPE_Q3_K, 0.156 }, { GGML_TYPE_Q4_K, 0.0734 },
		{ GGML_TYPE_Q5_K, 0.0371 }, { GGML_TYPE_Q6_K, 0.0182 }, { GGML_TYPE_IQ4_XS, 0.0791 },
	};
	static float x[N], y[N];
	static uint8_t q[N];
	gaussian_floats(x, N);
	for (size_t t = 0; t < ARRAY_LEN(cases); t++) {
		quant_quantize(cases[t].type, x, q, N);
		quant_dequantize(cases[t].type, q, y, N);
		double err = 0, sum = 0;
		for (int i = 0; i < N; i++) {
			err += (double)(y[i] - x[i]) * (y[i] - x[i]);
			sum += (double)x[i] * x[i];
		}
		double rel = sqrt(err / sum);
		ok(rel <= cases[t].bound, "%s quantizes Gaussian data with relative RMS error %.4f <= %.4f",
		   quant_name(cases[t].type), rel, cases[t].bound);
	}
}

/* The kernels in use (AVX2 on most machines) against the scalar reference. */
static void test_kernels_match(void)
{
	const struct quant_kernels *ref = quant_kernels_scalar(), *k = quant_kernels_active();
	diag("kernels in use: %s", quant_kernels_name());
	enum { N = 1024 };
	for (size_t t = 0; t < ARRAY_LEN(compute_types); t++) {
		uint32_t type = compute_types[t], act_type = quant_traits(type)->vec_dot_type;
		static uint8_t raw[N * 4], act[N * 4];
		float x[N], w[N], xq[N];
		double worst = 0;
		for (int trial = 0; trial < 50; trial++) {
			random_blocks(type, raw, N);
			random_floats(x, N);
			ref->from_float[act_type](x, act, N);
			float a = ref->vec_dot[type](raw, act, N), b = k->vec_dot[type](raw, act, N);
			/* relative to the sum of |products|: sums that nearly cancel
			 * differ by more than their own size allows */
			ref->to_float[type](raw, w, N);
			ref->to_float[act_type](act, xq, N);
			double mag = 1e-30;
			for (int i = 0; i < N; i++)
				mag += fabs((double)w[i] * xq[i]);
			worst = fmax(worst, fabs(a - b) / mag);
		}
		ok(worst < 1e-5, "%s: %s kernel matches the scalar reference (worst relative difference %.2g)",
		   quant_name(type), k->name, worst);
	}
	float x[N];
	static uint8_t a[N * 2], b[N * 2];
	random_floats(x, N);
	ref->from_float[GGML_TYPE_Q8_0](x, a, N);
	k->from_float[GGML_TYPE_Q8_0](x, b, N);
	ok(!memcmp(a, b, quant_row_bytes(GGML_TYPE_Q8_0, N)), "Q8_0 activations quantize the same with %s", k->name);
	ref->from_float[GGML_TYPE_Q8_K](x, a, N);
	k->from_float[GGML_TYPE_Q8_K](x, b, N);
	ok(!memcmp(a, b, quant_row_bytes(GGML_TYPE_Q8_K, N)), "Q8_K activations quantize the same with %s", k->name);
	/* ties: with max |x| = 127 the scale is 1 and x / d = x exactly; roundf
	 * takes halves away from zero, as the fast kernels must too */
	static const float ties[8] = { 127, 2.5f, -2.5f, 0.5f, -0.5f, 1.5f, -126.5f, 3.25f };
	for (int j = 0; j < N; j++)
		if (j % 64 < 8)
			x[j] = ties[j % 8];
	ref->from_float[GGML_TYPE_Q8_1](x, a, N);
	k->from_float[GGML_TYPE_Q8_1](x, b, N);
	const struct block_q8_1 *tie = (const struct block_q8_1 *)b;
	ok(!memcmp(a, b, quant_row_bytes(GGML_TYPE_Q8_1, N)) && tie->qs[1] == 3 && tie->qs[2] == -3 &&
		   tie->qs[3] == 1 && tie->qs[4] == -1 && tie->qs[6] == -127,
	   "Q8_1 activations quantize the same with %s, halves rounded away from zero", k->name);
	ref->from_float[GGML_TYPE_Q8_0](x, a, N);
	k->from_float[GGML_TYPE_Q8_0](x, b, N);
	ok(!memcmp(a, b, quant_row_bytes(GGML_TYPE_Q8_0, N)), "Q8_0 activations of ties quantize the same with %s",
	   k->name);
}

/* One weight row against several activation rows (with padding between
 * them, results to a strided output) equals one dot product per row: the
 * kernels that decode a weight block once for several rows only add in
 * another order. */
static void test_vec_dot_rows(void)
{
	enum { N = 288, ROWS = 9, STRIDE = N * 4 + 64 };
	for (size_t t = 0; t < ARRAY_LEN(compute_types); t++) {
		uint32_t type = compute_types[t], act_type = quant_traits(type)->vec_dot_type;
		/* the float types take any length: 263 leaves a tail of 7 */
		int64_t n = quant_traits(type)->block_size == 1 ? 263 : N;
		if (quant_traits(type)->block_size > N)
			n = 2 * quant_traits(type)->block_size;
		static uint8_t raw[2 * 256 * 4], act[ROWS * (2 * 256 * 4 + 64)];
		size_t stride = (size_t)quant_row_bytes(act_type, n) + 64;
		float x[2 * 256], w[2 * 256], xq[2 * 256];
		random_blocks(type, raw, n);
		quant_dequantize(type, raw, w, n);
		double mag[ROWS];
		for (int r = 0; r < ROWS; r++) {
			random_floats(x, n);
			quant_quantize(act_type, x, act + r * stride, n);
			quant_dequantize(act_type, act + r * stride, xq, n);
			mag[r] = 0;
			for (int64_t i = 0; i < n; i++)
				mag[r] += fabs((double)w[i] * xq[i]);
		}
		int bad = 0, exact = 1;
		for (int n_rows = 1; n_rows <= ROWS; n_rows++) {
			float out[3 * ROWS];
			quant_vec_dot_rows(type, raw, act, stride, n_rows, n, out, 3);
			for (int r = 0; r < n_rows; r++) {
				float one = quant_vec_dot(type, raw, act + r * stride, n);
				bad += fabs(out[3 * r] - one) > 1e-6 * mag[r];
				if (n_rows == 1)
					exact = out[0] == one;
			}
		}
		ok(bad == 0 && exact, "%s: vec_dot_rows of 1..%d rows equals vec_dot of each (%d differ)",
		   quant_name(type), ROWS, bad);
	}
}

/* A tile of the matrix product (weight rows x activation rows, sizes around
 * the kernels' groups of 8 and their remainders) equals one dot product per
 * pair: what matmul computes, whichever way a kernel splits the tile. */
static void test_vec_dot_tile(void)
{
	enum { N = 512, WROWS = 19, AROWS = 11 };
	static uint8_t raw[WROWS * N * 4], act[AROWS * N * 4];
	static float x[N], out[AROWS * WROWS];
	for (size_t t = 0; t < ARRAY_LEN(compute_types); t++) {
		uint32_t type = compute_types[t], act_type = quant_traits(type)->vec_dot_type;
		size_t w_row = (size_t)quant_row_bytes(type, N), a_row = (size_t)quant_row_bytes(act_type, N);
		for (int j = 0; j < WROWS; j++)
			random_blocks(type, raw + j * w_row, N);
		for (int a = 0; a < AROWS; a++) {
			random_floats(x, N);
			quant_quantize(act_type, x, act + a * a_row, N);
		}
		int bad = 0;
		static const int n_ws[] = { 1, 7, 8, 9, 16, 19 }, n_as[] = { 1, 3, 4, 5, 8, 11 };
		for (size_t i = 0; i < ARRAY_LEN(n_ws); i++)
			for (size_t k = 0; k < ARRAY_LEN(n_as); k++) {
				int n_w = n_ws[i], n_a = n_as[k];
				quant_vec_dot_tile(type, raw, w_row, n_w, act, a_row, n_a, N, out, WROWS);
				for (int a = 0; a < n_a; a++)
					for (int j = 0; j < n_w; j++) {
						float want = quant_vec_dot(type, raw + j * w_row, act + a * a_row, N);
						bad += fabsf(out[a * WROWS + j] - want) > 1e-5f * (fabsf(want) + 1);
					}
			}
		ok(bad == 0, "%s: tiles of the matrix product equal one vec_dot per pair (%d differ)", quant_name(type),
		   bad);
	}
}

/* Sums of four uniform numbers: roughly normal, like trained weights. */
static void normal_floats(float *x, int64_t n)
{
	for (int64_t i = 0; i < n; i++) {
		float s = 0;
		for (int k = 0; k < 4; k++)
			s += (float)next_u32() / 4294967296.0f;
		x[i] = s - 2;
	}
}

/* IQ4_NL's table is dense near zero, so on bell-shaped data it must beat
 * Q4_0 (the same size); its scale search must beat the first guess (the
 * largest value at the end of the table) by a clear margin. */
static void test_iq4_nl_quality(void)
{
	static const int8_t table[16] = { -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113 };
	enum { N = 32 * 256 };
	static float x[N], y[N];
	static uint8_t q[N];
	normal_floats(x, N);
	double err_nl = 0, err_q4 = 0, err_guess = 0;
	quant_quantize(GGML_TYPE_IQ4_NL, x, q, N);
	quant_dequantize(GGML_TYPE_IQ4_NL, q, y, N);
	for (int i = 0; i < N; i++)
		err_nl += (double)(x[i] - y[i]) * (x[i] - y[i]);
	quant_quantize(GGML_TYPE_Q4_0, x, q, N);
	quant_dequantize(GGML_TYPE_Q4_0, q, y, N);
	for (int i = 0; i < N; i++)
		err_q4 += (double)(x[i] - y[i]) * (x[i] - y[i]);
	for (int b = 0; b < N / 32; b++) {
		float max = 0;
		for (int j = 0; j < 32; j++)
			if (fabsf(x[32 * b + j]) > fabsf(max))
				max = x[32 * b + j];
		float d = max / table[0];
		for (int j = 0; j < 32; j++) {
			float best = INFINITY;
			for (int k = 0; k < 16; k++)
				best = fminf(best, fabsf(x[32 * b + j] - d * table[k]));
			err_guess += (double)best * best;
		}
	}
	diag("squared error: IQ4_NL %.4g, first guess %.4g, Q4_0 %.4g", err_nl, err_guess, err_q4);
	ok(err_nl < 0.85 * err_q4 && err_nl < 0.95 * err_guess, "IQ4_NL's scale search beats Q4_0 and its first guess");
}

/* The shared fixtures directory, or NULL (after a skipped or, when
 * NIBBLE_REQUIRE_FIXTURES=1, failed point for each of n checks). */
static const char *fixtures_or_skip(int n)
{
	const char *dir = getenv("NIBBLE_TEST_DATA"), *req = getenv("NIBBLE_REQUIRE_FIXTURES");
	struct stat st;
	if (dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return dir;
	for (int i = 0; i < n; i++)
		if (req && !strcmp(req, "1"))
			ok(0, "fixtures found");
		else
			skip("fixtures not found (set NIBBLE_TEST_DATA)");
	return NULL;
}

/* tiny256 as llama.cpp quantized it: our reference quantizers turn the F32
 * file's weights into the very same blocks. */
static void test_llama_cpp_blocks(void)
{
	static const char *const types[] = { "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "IQ4_NL" };
	const char *dir = fixtures_or_skip(ARRAY_LEN(types));
	if (!dir)
		return;
	char path[4096];
	snprintf(path, sizeof path, "%s/models/tiny256-F32.gguf", dir);
	struct gguf *f32 = gguf_open(path);
	for (size_t i = 0; i < ARRAY_LEN(types); i++) {
		snprintf(path, sizeof path, "%s/models/tiny256-%s.gguf", dir, types[i]);
		struct gguf *q = gguf_open(path);
		const struct gguf_tensor *src = f32 ? gguf_find_tensor(f32, "blk.1.ffn_down.weight") : NULL;
		const struct gguf_tensor *want = q ? gguf_find_tensor(q, "blk.1.ffn_down.weight") : NULL;
		bool same = false;
		if (src && want && !strcmp(quant_name(want->type), types[i])) {
			uint8_t *buf = xmalloc(want->n_bytes);
			quant_quantize(want->type, src->data, buf, (int64_t)src->n_elements);
			same = !memcmp(buf, want->data, want->n_bytes);
			free(buf);
		}
		ok(same, "%s: quantizing tiny256's F32 weights gives llama.cpp's blocks", types[i]);
		gguf_close(q);
	}
	gguf_close(f32);
}

/* tiny256 in Q4_1 and Q5_1 (no golden logits exist for them): they load
 * and a prompt gives finite logits. */
static void test_models(void)
{
	static const char *const names[] = { "tiny256-Q4_1.gguf", "tiny256-Q5_1.gguf" };
	const char *dir = fixtures_or_skip(ARRAY_LEN(names));
	if (!dir)
		return;
	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/models/%s", dir, names[i]);
		struct model *m = model_load(path, MODEL_LOAD_FULL);
		struct context_params cp = { .n_ctx = 64, .n_threads = 2 };
		struct context *ctx = m ? context_init(m, &cp) : NULL;
		static const int32_t prompt[] = { 1, 100, 200, 300, 400, 17 };
		int finite = 0;
		if (ctx && context_eval(ctx, prompt, ARRAY_LEN(prompt)) == 0)
			for (uint32_t v = 0; v < m->hp.n_vocab; v++)
				finite += isfinite(ctx->logits[v]) != 0;
		if (!ok(ctx && finite == (int)m->hp.n_vocab && finite > 0, "%s loads and gives finite logits", names[i]))
			diag("%s", error_message());
		context_free(ctx);
		model_free(m);
	}
}

int main(void)
{
	test_half();
	test_traits();
	test_q8_0();
	test_q4_0();
	test_q4_1();
	test_q5();
	test_iq4_nl();
	test_q8_1();
	test_q6_k();
	test_k_layouts();
	test_k_by_hand();
	test_vec_dot();
	test_round_trip();
	test_iq4_nl_quality();
	test_k_quantize();
	test_kernels_match();
	test_vec_dot_rows();
	test_vec_dot_tile();
	test_llama_cpp_blocks();
	test_models();
	return tap_done();
}
