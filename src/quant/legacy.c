/* quant_legacy.c - the scalar reference of the 32-weight block types and
 * their 8-bit activations: what each block means, how floats become blocks,
 * and dot products against quantized activations. */
#include "config.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "quant/kernels.h"

/* The fifth bits of a Q5_0/Q5_1 block: bit j is weight j's. */
static uint32_t q5_high_bits(const uint8_t qh[4])
{
	return (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 | (uint32_t)qh[3] << 24;
}

/* 8-bit quants of 32 values: d = max|x| / 127, q = round(x / d).  Returns d
 * (unrounded: Q8_1's s is computed from it). */
static float q8_quantize_block(const float *x, int8_t *qs)
{
	float amax = 0;
	for (int j = 0; j < 32; j++)
		amax = fmaxf(amax, fabsf(x[j]));
	float d = amax / 127, id = d ? 1 / d : 0;
	for (int j = 0; j < 32; j++)
		qs[j] = (int8_t)roundf(x[j] * id);
	return d;
}

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

static void q8_0_from_float(const float *x, void *dst, int64_t n)
{
	struct block_q8_0 *b = dst;
	for (int64_t i = 0; i < n / QK8_0; i++, b++, x += QK8_0)
		b->d = f32_to_fp16(q8_quantize_block(x, b->qs));
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

/* ---- Q8_1: the activations of Q4_1, Q5_1 -------------------------------- */

static void q8_1_to_float(const void *src, float *y, int64_t n)
{
	const struct block_q8_1 *b = src;
	for (int64_t i = 0; i < n / QK8_1; i++, b++, y += QK8_1) {
		float d = FP16(b->d);
		for (int j = 0; j < QK8_1; j++)
			y[j] = d * b->qs[j];
	}
}

/* Q8_0's quants plus s = d * sum(q), so that a weight block's minimum m
 * contributes m * s to a dot product without touching the quants. */
static void q8_1_from_float(const float *x, void *dst, int64_t n)
{
	struct block_q8_1 *b = dst;
	for (int64_t i = 0; i < n / QK8_1; i++, b++, x += QK8_1) {
		float d = q8_quantize_block(x, b->qs);
		int sum = 0;
		for (int j = 0; j < QK8_1; j++)
			sum += b->qs[j];
		b->d = f32_to_fp16(d);
		b->s = f32_to_fp16((float)sum * d);
	}
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

/* ---- Q4_1 -------------------------------------------------------------- */

static void q4_1_to_float(const void *src, float *y, int64_t n)
{
	const struct block_q4_1 *b = src;
	for (int64_t i = 0; i < n / QK4_1; i++, b++, y += QK4_1) {
		float d = FP16(b->d), m = FP16(b->m);
		for (int j = 0; j < QK4_1 / 2; j++) {
			y[j] = d * (b->qs[j] & 0x0f) + m;
			y[j + QK4_1 / 2] = d * (b->qs[j] >> 4) + m;
		}
	}
}

/* The block's range in 15 steps from its minimum: d = (max - min) / 15,
 * q = round((x - min) / d). */
static void q4_1_from_float(const float *x, void *dst, int64_t n)
{
	struct block_q4_1 *b = dst;
	for (int64_t i = 0; i < n / QK4_1; i++, b++, x += QK4_1) {
		float min = FLT_MAX, max = -FLT_MAX;
		for (int j = 0; j < QK4_1; j++) {
			min = fminf(min, x[j]);
			max = fmaxf(max, x[j]);
		}
		float d = (max - min) / 15, id = d ? 1 / d : 0;
		b->d = f32_to_fp16(d);
		b->m = f32_to_fp16(min);
		for (int j = 0; j < QK4_1 / 2; j++) {
			int q0 = (int)fminf(15, (x[j] - min) * id + 0.5f);
			int q1 = (int)fminf(15, (x[j + QK4_1 / 2] - min) * id + 0.5f);
			b->qs[j] = (uint8_t)(q0 | q1 << 4);
		}
	}
}

static float q4_1_vec_dot(const void *w, const void *act, int64_t n)
{
	const struct block_q4_1 *a = w;
	const struct block_q8_1 *x = act;
	float sum = 0;
	for (int64_t i = 0; i < n / QK4_1; i++) {
		int isum = 0;
		for (int j = 0; j < QK4_1 / 2; j++)
			isum += (a[i].qs[j] & 0x0f) * x[i].qs[j] + (a[i].qs[j] >> 4) * x[i].qs[j + QK4_1 / 2];
		sum += FP16(a[i].d) * FP16(x[i].d) * (float)isum + FP16(a[i].m) * FP16(x[i].s);
	}
	return sum;
}

/* ---- Q5_0 -------------------------------------------------------------- */

/* The 32 quants of a Q5_0/Q5_1 block, 0..31: low nibbles of qs are weights
 * 0..15, high nibbles 16..31, each with its fifth bit from qh. */
static void q5_unpack(const uint8_t qs[16], const uint8_t qh[4], int q[32])
{
	uint32_t h = q5_high_bits(qh);
	for (int j = 0; j < 16; j++) {
		q[j] = (qs[j] & 0x0f) | (int)(h >> j & 1) << 4;
		q[j + 16] = (qs[j] >> 4) | (int)(h >> (j + 16) & 1) << 4;
	}
}

/* Stores 32 quants 0..31 as a Q5_0/Q5_1 block's qs and qh. */
static void q5_pack(const int q[32], uint8_t qs[16], uint8_t qh[4])
{
	uint32_t h = 0;
	for (int j = 0; j < 16; j++) {
		qs[j] = (uint8_t)((q[j] & 0x0f) | (q[j + 16] & 0x0f) << 4);
		h |= (uint32_t)(q[j] >> 4) << j | (uint32_t)(q[j + 16] >> 4) << (j + 16);
	}
	for (int k = 0; k < 4; k++)
		qh[k] = (uint8_t)(h >> 8 * k);
}

static void q5_0_to_float(const void *src, float *y, int64_t n)
{
	const struct block_q5_0 *b = src;
	int q[QK5_0];
	for (int64_t i = 0; i < n / QK5_0; i++, b++, y += QK5_0) {
		float d = FP16(b->d);
		q5_unpack(b->qs, b->qh, q);
		for (int j = 0; j < QK5_0; j++)
			y[j] = d * (q[j] - 16);
	}
}

/* As Q4_0 with 32 levels: d = max / -16, q = round(x / d) + 16. */
static void q5_0_from_float(const float *x, void *dst, int64_t n)
{
	struct block_q5_0 *b = dst;
	int q[QK5_0];
	for (int64_t i = 0; i < n / QK5_0; i++, b++, x += QK5_0) {
		float amax = 0, max = 0;
		for (int j = 0; j < QK5_0; j++)
			if (fabsf(x[j]) > amax) {
				amax = fabsf(x[j]);
				max = x[j];
			}
		float d = max / -16, id = d ? 1 / d : 0;
		b->d = f32_to_fp16(d);
		for (int j = 0; j < QK5_0; j++)
			q[j] = (int)fminf(31, x[j] * id + 16.5f);
		q5_pack(q, b->qs, b->qh);
	}
}

static float q5_0_vec_dot(const void *w, const void *act, int64_t n)
{
	const struct block_q5_0 *a = w;
	const struct block_q8_0 *x = act;
	int q[QK5_0];
	float sum = 0;
	for (int64_t i = 0; i < n / QK5_0; i++) {
		q5_unpack(a[i].qs, a[i].qh, q);
		int isum = 0;
		for (int j = 0; j < QK5_0; j++)
			isum += (q[j] - 16) * x[i].qs[j];
		sum += FP16(a[i].d) * FP16(x[i].d) * (float)isum;
	}
	return sum;
}

/* ---- Q5_1 -------------------------------------------------------------- */

static void q5_1_to_float(const void *src, float *y, int64_t n)
{
	const struct block_q5_1 *b = src;
	int q[QK5_1];
	for (int64_t i = 0; i < n / QK5_1; i++, b++, y += QK5_1) {
		float d = FP16(b->d), m = FP16(b->m);
		q5_unpack(b->qs, b->qh, q);
		for (int j = 0; j < QK5_1; j++)
			y[j] = d * q[j] + m;
	}
}

/* As Q4_1 with 31 steps. */
static void q5_1_from_float(const float *x, void *dst, int64_t n)
{
	struct block_q5_1 *b = dst;
	int q[QK5_1];
	for (int64_t i = 0; i < n / QK5_1; i++, b++, x += QK5_1) {
		float min = FLT_MAX, max = -FLT_MAX;
		for (int j = 0; j < QK5_1; j++) {
			min = fminf(min, x[j]);
			max = fmaxf(max, x[j]);
		}
		float d = (max - min) / 31, id = d ? 1 / d : 0;
		b->d = f32_to_fp16(d);
		b->m = f32_to_fp16(min);
		for (int j = 0; j < QK5_1; j++)
			q[j] = (int)fminf(31, (x[j] - min) * id + 0.5f);
		q5_pack(q, b->qs, b->qh);
	}
}

static float q5_1_vec_dot(const void *w, const void *act, int64_t n)
{
	const struct block_q5_1 *a = w;
	const struct block_q8_1 *x = act;
	int q[QK5_1];
	float sum = 0;
	for (int64_t i = 0; i < n / QK5_1; i++) {
		q5_unpack(a[i].qs, a[i].qh, q);
		int isum = 0;
		for (int j = 0; j < QK5_1; j++)
			isum += q[j] * x[i].qs[j];
		sum += FP16(a[i].d) * FP16(x[i].d) * (float)isum + FP16(a[i].m) * FP16(x[i].s);
	}
	return sum;
}

/* ---- IQ4_NL ------------------------------------------------------------ */

static void iq4_nl_to_float(const void *src, float *y, int64_t n)
{
	const struct block_iq4_nl *b = src;
	for (int64_t i = 0; i < n / QK4_NL; i++, b++, y += QK4_NL) {
		float d = FP16(b->d);
		for (int j = 0; j < QK4_NL / 2; j++) {
			y[j] = d * quant_iq4nl_values[b->qs[j] & 0x0f];
			y[j + QK4_NL / 2] = d * quant_iq4nl_values[b->qs[j] >> 4];
		}
	}
}

/* The index of the table value nearest to v (ties go up): a binary search
 * over the midpoints, compared doubled so that they stay integers. */
static int iq4_nl_nearest(float v)
{
	float v2 = v + v;
	int idx = 0;
	for (int step = 8; step > 0; step /= 2)
		if (v2 >= (float)(quant_iq4nl_values[idx + step - 1] + quant_iq4nl_values[idx + step]))
			idx += step;
	return idx;
}

/* For the quants the inverse scale id picks, the sums that give the best
 * scale by least squares (weighted by x^2, so large values count most):
 * sumqx = sum(w q x), sumq2 = sum(w q^2); the best scale is sumqx / sumq2
 * and it removes sumqx^2 / sumq2 of the error. */
static void iq4_nl_fit(const float *x, float id, float *sumqx, float *sumq2)
{
	float qx = 0, q2 = 0;
	for (int j = 0; j < QK4_NL; j++) {
		float q = quant_iq4nl_values[iq4_nl_nearest(id * x[j])], w = x[j] * x[j];
		qx += w * q * x[j];
		q2 += w * q * q;
	}
	*sumqx = qx;
	*sumq2 = q2;
}

/* The table is not linear, so the scale is searched: the value of largest
 * magnitude is tried at +127 and at each of -134..-120 (the far end of the
 * table and around it), each fitted by least squares; the scale that
 * removes the most error wins. */
static void iq4_nl_from_float(const float *x, void *dst, int64_t n)
{
	struct block_iq4_nl *b = dst;
	for (int64_t i = 0; i < n / QK4_NL; i++, b++, x += QK4_NL) {
		float amax = 0, max = 0;
		for (int j = 0; j < QK4_NL; j++)
			if (fabsf(x[j]) > amax) {
				amax = fabsf(x[j]);
				max = x[j];
			}
		float d = 0;
		if (amax >= 1e-15f) {
			float sumqx, sumq2;
			iq4_nl_fit(x, -quant_iq4nl_values[0] / max, &sumqx, &sumq2);
			d = sumqx / sumq2;
			float best = d * sumqx;
			for (int t = -7; t <= 7; t++) {
				iq4_nl_fit(x, (t + quant_iq4nl_values[0]) / max, &sumqx, &sumq2);
				if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
					d = sumqx / sumq2;
					best = d * sumqx;
				}
			}
		}
		b->d = f32_to_fp16(d);
		float id = d ? 1 / d : 0;
		for (int j = 0; j < QK4_NL / 2; j++)
			b->qs[j] = (uint8_t)(iq4_nl_nearest(id * x[j]) | iq4_nl_nearest(id * x[j + QK4_NL / 2]) << 4);
	}
}

static float iq4_nl_vec_dot(const void *w, const void *act, int64_t n)
{
	const struct block_iq4_nl *a = w;
	const struct block_q8_0 *x = act;
	float sum = 0;
	for (int64_t i = 0; i < n / QK4_NL; i++) {
		int isum = 0;
		for (int j = 0; j < QK4_NL / 2; j++)
			isum += quant_iq4nl_values[a[i].qs[j] & 0x0f] * x[i].qs[j] +
				quant_iq4nl_values[a[i].qs[j] >> 4] * x[i].qs[j + QK4_NL / 2];
		sum += FP16(a[i].d) * FP16(x[i].d) * (float)isum;
	}
	return sum;
}

void quant_register_legacy(struct quant_kernels *k)
{
	k->to_float[GGML_TYPE_Q8_0] = q8_0_to_float;
	k->from_float[GGML_TYPE_Q8_0] = q8_0_from_float;
	k->vec_dot[GGML_TYPE_Q8_0] = q8_0_vec_dot;
	k->to_float[GGML_TYPE_Q8_1] = q8_1_to_float;
	k->from_float[GGML_TYPE_Q8_1] = q8_1_from_float;
	k->to_float[GGML_TYPE_Q4_0] = q4_0_to_float;
	k->from_float[GGML_TYPE_Q4_0] = q4_0_from_float;
	k->vec_dot[GGML_TYPE_Q4_0] = q4_0_vec_dot;
	k->to_float[GGML_TYPE_Q4_1] = q4_1_to_float;
	k->from_float[GGML_TYPE_Q4_1] = q4_1_from_float;
	k->vec_dot[GGML_TYPE_Q4_1] = q4_1_vec_dot;
	k->to_float[GGML_TYPE_Q5_0] = q5_0_to_float;
	k->from_float[GGML_TYPE_Q5_0] = q5_0_from_float;
	k->vec_dot[GGML_TYPE_Q5_0] = q5_0_vec_dot;
	k->to_float[GGML_TYPE_Q5_1] = q5_1_to_float;
	k->from_float[GGML_TYPE_Q5_1] = q5_1_from_float;
	k->vec_dot[GGML_TYPE_Q5_1] = q5_1_vec_dot;
	k->to_float[GGML_TYPE_IQ4_NL] = iq4_nl_to_float;
	k->from_float[GGML_TYPE_IQ4_NL] = iq4_nl_from_float;
	k->vec_dot[GGML_TYPE_IQ4_NL] = iq4_nl_vec_dot;
}
