/* quant_legacy.c - the scalar reference of the 32-weight block types and
 * their 8-bit activations: what each block means, how floats become blocks,
 * and dot products against quantized activations. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "quant_impl.h"

/* ---- Q8_0: the activations of Q4_0, Q5_0, Q8_0, IQ4_NL ------------------ */

static void q8_0_to_float(const void *src, float *y, int64_t n)
{
	const struct block_q8_0 *b = src;
	for (int64_t i = 0; i < n / QK8_0; i++, b++, y += QK8_0) {
		float d = FP16(b->d);
		for (int j = 0; j < QK8_0; j++)
			y[j] = d * b->qs[j];
	}
}

/* d = max|x| / 127, q = round(x / d) */
static void q8_0_from_float(const float *x, void *dst, int64_t n)
{
	struct block_q8_0 *b = dst;
	for (int64_t i = 0; i < n / QK8_0; i++, b++, x += QK8_0) {
		float amax = 0;
		for (int j = 0; j < QK8_0; j++)
			amax = fmaxf(amax, fabsf(x[j]));
		float d = amax / 127, id = d ? 1 / d : 0;
		b->d = f32_to_fp16(d);
		for (int j = 0; j < QK8_0; j++)
			b->qs[j] = (int8_t)roundf(x[j] * id);
	}
}

static float q8_0_vec_dot(const void *w, const void *act, int64_t n)
{
	const struct block_q8_0 *a = w, *x = act;
	float sum = 0;
	for (int64_t i = 0; i < n / QK8_0; i++) {
		int isum = 0;
		for (int j = 0; j < QK8_0; j++)
			isum += a[i].qs[j] * x[i].qs[j];
		sum += FP16(a[i].d) * FP16(x[i].d) * (float)isum;
	}
	return sum;
}

/* ---- Q4_0 -------------------------------------------------------------- */

static void q4_0_to_float(const void *src, float *y, int64_t n)
{
	const struct block_q4_0 *b = src;
	for (int64_t i = 0; i < n / QK4_0; i++, b++, y += QK4_0) {
		float d = FP16(b->d);
		for (int j = 0; j < QK4_0 / 2; j++) {
			y[j] = d * ((b->qs[j] & 0x0f) - 8);
			y[j + QK4_0 / 2] = d * ((b->qs[j] >> 4) - 8);
		}
	}
}

/* The value of largest magnitude maps to -8: d = max / -8, q = round(x / d) + 8. */
static void q4_0_from_float(const float *x, void *dst, int64_t n)
{
	struct block_q4_0 *b = dst;
	for (int64_t i = 0; i < n / QK4_0; i++, b++, x += QK4_0) {
		float amax = 0, max = 0;
		for (int j = 0; j < QK4_0; j++)
			if (fabsf(x[j]) > amax) {
				amax = fabsf(x[j]);
				max = x[j];
			}
		float d = max / -8, id = d ? 1 / d : 0;
		b->d = f32_to_fp16(d);
		for (int j = 0; j < QK4_0 / 2; j++) {
			int q0 = (int)fminf(15, x[j] * id + 8.5f), q1 = (int)fminf(15, x[j + QK4_0 / 2] * id + 8.5f);
			b->qs[j] = (uint8_t)(q0 | q1 << 4);
		}
	}
}

static float q4_0_vec_dot(const void *w, const void *act, int64_t n)
{
	const struct block_q4_0 *a = w;
	const struct block_q8_0 *x = act;
	float sum = 0;
	for (int64_t i = 0; i < n / QK4_0; i++) {
		int isum = 0;
		for (int j = 0; j < QK4_0 / 2; j++)
			isum += ((a[i].qs[j] & 0x0f) - 8) * x[i].qs[j] + ((a[i].qs[j] >> 4) - 8) * x[i].qs[j + QK4_0 / 2];
		sum += FP16(a[i].d) * FP16(x[i].d) * (float)isum;
	}
	return sum;
}

void quant_register_legacy(struct quant_kernels *k)
{
	k->to_float[GGML_TYPE_Q8_0] = q8_0_to_float;
	k->from_float[GGML_TYPE_Q8_0] = q8_0_from_float;
	k->vec_dot[GGML_TYPE_Q8_0] = q8_0_vec_dot;
	k->to_float[GGML_TYPE_Q4_0] = q4_0_to_float;
	k->from_float[GGML_TYPE_Q4_0] = q4_0_from_float;
	k->vec_dot[GGML_TYPE_Q4_0] = q4_0_vec_dot;
}
