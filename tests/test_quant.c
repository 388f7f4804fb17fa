/* test_quant.c - half-precision conversions and the scalar block formats
 * against values computed by hand or from an independent reading of the
 * layouts; dot products against dequantize-then-multiply. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "quant.h"
#include "quant_impl.h"
#include "util.h"
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
					  GGML_TYPE_Q4_0, GGML_TYPE_Q2_K, GGML_TYPE_Q3_K, GGML_TYPE_Q4_K,
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
		float got = quant_vec_dot(type, raw, act, N);
		ok(fabs(got - want) <= 1e-5 * mag + 1e-30, "%s dot product equals dequantize-then-multiply",
		   quant_name(type));
	}
}

/* Quantizing and dequantizing loses at most: half a step plus the rounding
 * of the fp16 scale (Q8_0), one step at the clamped end of the range (Q4_0,
 * whose largest value sets the scale by its sign), half a step (Q8_K, whose
 * float scale maps the largest magnitude to -127), half an ulp (F16). */
static void test_round_trip(void)
{
	enum { N = 512 };
	static const struct {
		uint32_t type;
		int levels;
		float steps;
	} cases[] = { { GGML_TYPE_Q8_0, 127, 0.57f }, { GGML_TYPE_Q4_0, 8, 1.0f }, { GGML_TYPE_Q8_K, 127, 0.5f } };
	for (size_t t = 0; t < ARRAY_LEN(cases); t++) {
		float x[N], y[N];
		static uint8_t q[N * 4];
		random_floats(x, N);
		quant_quantize(cases[t].type, x, q, N);
		quant_dequantize(cases[t].type, q, y, N);
		int bs = (int)quant_traits(cases[t].type)->block_size, bad = 0;
		for (int b = 0; b < N / bs; b++) {
			float amax = 0;
			for (int j = 0; j < bs; j++)
				amax = fmaxf(amax, fabsf(x[b * bs + j]));
			float bound = amax / cases[t].levels * cases[t].steps * 1.001f;
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
 * 0.0768.  Gaussian data lands within 1% of those; the bounds allow 2%. */
static void test_k_quantize(void)
{
	enum { N = 16 * QK_K };
	static const struct {
		uint32_t type;
		double bound;
	} cases[] = {
		{ GGML_TYPE_Q2_K, 0.300 }, { GGML_TYPE_Q3_K, 0.154 }, { GGML_TYPE_Q4_K, 0.0730 },
		{ GGML_TYPE_Q5_K, 0.0371 }, { GGML_TYPE_Q6_K, 0.0181 }, { GGML_TYPE_IQ4_XS, 0.0777 },
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

/* One weight row against several activation rows gives what one dot
 * product per row gives, with both the kernels in use and the scalar ones
 * (row counts around the kernels' tile sizes; results strided). */
static void test_vec_dot_rows(void)
{
	enum { N = 1024, ROWS = 9 };
	const struct quant_kernels *ks[] = { quant_kernels_scalar(), quant_kernels_active() };
	for (size_t t = 0; t < ARRAY_LEN(compute_types); t++) {
		uint32_t type = compute_types[t], act_type = quant_traits(type)->vec_dot_type;
		size_t row = (size_t)quant_row_bytes(act_type, N);
		static uint8_t raw[N * 4], act[ROWS * N * 4];
		static float x[ROWS * N];
		random_blocks(type, raw, N);
		random_floats(x, ROWS * N);
		for (int r = 0; r < ROWS; r++)
			quant_quantize(act_type, x + r * N, act + r * row, N);
		int bad = 0;
		for (size_t k = 0; k < ARRAY_LEN(ks); k++)
			for (int n_rows = 1; n_rows <= ROWS; n_rows++) {
				float out[3 * ROWS];
				if (ks[k]->vec_dot_rows[type])
					ks[k]->vec_dot_rows[type](raw, act, row, n_rows, N, out, 3);
				else if (ks[k] == quant_kernels_active())
					quant_vec_dot_rows(type, raw, act, row, n_rows, N, out, 3); /* the fallback loop */
				else
					continue;
				for (int r = 0; r < n_rows; r++) {
					float want = ks[k]->vec_dot[type](raw, act + r * row, N);
					bad += fabsf(out[3 * r] - want) > 1e-6f * fabsf(want) + 1e-30f;
				}
			}
		ok(bad == 0, "%s: vec_dot_rows equals one vec_dot per row (%d differ)", quant_name(type), bad);
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
		float x[N];
		double worst = 0;
		for (int trial = 0; trial < 50; trial++) {
			random_blocks(type, raw, N);
			random_floats(x, N);
			ref->from_float[act_type](x, act, N);
			float a = ref->vec_dot[type](raw, act, N), b = k->vec_dot[type](raw, act, N);
			worst = fmax(worst, fabs(a - b) / (fabs(a) + 1e-3));
		}
		ok(worst < 1e-4, "%s: %s kernel matches the scalar reference (worst relative difference %.2g)",
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
}

int main(void)
{
	test_half();
	test_traits();
	test_q8_0();
	test_q4_0();
	test_q6_k();
	test_k_layouts();
	test_k_by_hand();
	test_vec_dot();
	test_round_trip();
	test_k_quantize();
	test_vec_dot_rows();
	test_kernels_match();
	return tap_done();
}
