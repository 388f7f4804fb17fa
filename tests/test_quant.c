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

static const uint32_t compute_types[] = { GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_BF16, GGML_TYPE_Q8_0,
					  GGML_TYPE_Q4_0, GGML_TYPE_Q6_K };

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
 * Q8_K, whose largest value sets the scale by its sign), half an ulp (F16). */
static void test_round_trip(void)
{
	enum { N = 512 };
	static const struct {
		uint32_t type;
		int levels;
		float steps;
	} cases[] = { { GGML_TYPE_Q8_0, 127, 0.57f }, { GGML_TYPE_Q4_0, 8, 1.0f }, { GGML_TYPE_Q8_K, 128, 1.0f } };
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
	test_vec_dot();
	test_round_trip();
	test_kernels_match();
	return tap_done();
}
