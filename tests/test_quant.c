/* test_quant.c - half-precision conversions and the scalar block formats
 * against values computed by hand or from an independent reading of the
 * layouts; dot products against dequantize-then-multiply. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "quant.h"
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

static void test_dot(void)
{
	static const uint32_t types[] = { GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_BF16, GGML_TYPE_Q8_0, GGML_TYPE_Q4_0,
					  GGML_TYPE_Q6_K };
	enum { N = 512 };
	for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
		const struct type_traits *tt = quant_traits(types[t]);
		static uint8_t raw[N * 4];
		size_t bytes = N / tt->block_size * tt->type_size;
		for (size_t i = 0; i < bytes; i += 2) {
			uint16_t v = (uint16_t)(next_u32() & 0x3bff); /* finite, |v| < 1 as fp16/bf16 scales */
			memcpy(raw + i, &v, 2);
		}
		if (types[t] == GGML_TYPE_F32)
			for (size_t i = 0; i < N; i++) {
				float f = (float)next_u32() / 4294967296.0f - 0.5f;
				memcpy(raw + 4 * i, &f, 4);
			}
		float w[N], x[N];
		for (int i = 0; i < N; i++)
			x[i] = (float)next_u32() / 4294967296.0f - 0.5f;
		quant_dequantize(types[t], raw, w, N);
		double want = 0, mag = 0;
		for (int i = 0; i < N; i++) {
			want += (double)w[i] * x[i];
			mag += fabs((double)w[i] * x[i]);
		}
		float got = quant_dot(types[t], raw, x, N);
		ok(fabs(got - want) <= 1e-5 * mag + 1e-30, "%s dot product equals dequantize-then-multiply", tt->name);
	}
}

int main(void)
{
	test_half();
	test_traits();
	test_q8_0();
	test_q4_0();
	test_q6_k();
	test_dot();
	return tap_done();
}
