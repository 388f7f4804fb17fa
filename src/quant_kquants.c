/* quant_kquants.c - the scalar reference of the 256-weight "k-quant" types
 * and their 8-bit activations (Q8_K). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "quant_impl.h"

/* ---- Q8_K: the activations of the k-quants ------------------------------ */

static void q8_k_to_float(const void *src, float *y, int64_t n)
{
	const struct block_q8_k *b = src;
	for (int64_t i = 0; i < n / QK_K; i++, b++, y += QK_K)
		for (int j = 0; j < QK_K; j++)
			y[j] = b->d * b->qs[j];
}

/* The value of largest magnitude maps to -128 (so the other sign reaches at
 * most 127); bsums hold the sums of each 16 quants for the minima terms. */
static void q8_k_from_float(const float *x, void *dst, int64_t n)
{
	struct block_q8_k *b = dst;
	for (int64_t i = 0; i < n / QK_K; i++, b++, x += QK_K) {
		float amax = 0, max = 0;
		for (int j = 0; j < QK_K; j++)
			if (fabsf(x[j]) > amax) {
				amax = fabsf(x[j]);
				max = x[j];
			}
		if (amax == 0) {
			memset(b, 0, sizeof *b);
			continue;
		}
		float iscale = -128.0f / max;
		for (int j = 0; j < QK_K; j++) {
			long q = lrintf(iscale * x[j]);
			b->qs[j] = (int8_t)(q > 127 ? 127 : q);
		}
		for (int g = 0; g < QK_K / 16; g++) {
			int sum = 0;
			for (int j = 0; j < 16; j++)
				sum += b->qs[g * 16 + j];
			b->bsums[g] = (int16_t)sum;
		}
		b->d = 1 / iscale;
	}
}

/* ---- Q6_K -------------------------------------------------------------- */

/* The 256 quants of a block, centred (q - 32), in weight order: each half
 * of 128 weights takes its low 4 bits from 64 ql bytes (low nibbles, then
 * high) and its top 2 bits from 32 qh bytes (bits 0-1, 2-3, 4-5, 6-7). */
static void q6_k_unpack(const struct block_q6_k *b, int8_t q[QK_K])
{
	for (int half = 0; half < 2; half++) {
		const uint8_t *ql = b->ql + 64 * half, *qh = b->qh + 32 * half;
		int8_t *y = q + 128 * half;
		for (int l = 0; l < 32; l++) {
			y[l] = (int8_t)(((ql[l] & 0xf) | (qh[l] >> 0 & 3) << 4) - 32);
			y[l + 32] = (int8_t)(((ql[l + 32] & 0xf) | (qh[l] >> 2 & 3) << 4) - 32);
			y[l + 64] = (int8_t)(((ql[l] >> 4) | (qh[l] >> 4 & 3) << 4) - 32);
			y[l + 96] = (int8_t)(((ql[l + 32] >> 4) | (qh[l] >> 6 & 3) << 4) - 32);
		}
	}
}

static void q6_k_to_float(const void *src, float *y, int64_t n)
{
	const struct block_q6_k *b = src;
	int8_t q[QK_K];
	for (int64_t i = 0; i < n / QK_K; i++, b++, y += QK_K) {
		float d = FP16(b->d);
		q6_k_unpack(b, q);
		for (int j = 0; j < QK_K; j++)
			y[j] = d * b->scales[j / 16] * q[j];
	}
}

static float q6_k_vec_dot(const void *w, const void *act, int64_t n)
{
	const struct block_q6_k *a = w;
	const struct block_q8_k *x = act;
	int8_t q[QK_K];
	float sum = 0;
	for (int64_t i = 0; i < n / QK_K; i++) {
		q6_k_unpack(&a[i], q);
		int isum = 0;
		for (int g = 0; g < QK_K / 16; g++) {
			int s = 0;
			for (int j = 0; j < 16; j++)
				s += q[g * 16 + j] * x[i].qs[g * 16 + j];
			isum += a[i].scales[g] * s;
		}
		sum += FP16(a[i].d) * x[i].d * (float)isum;
	}
	return sum;
}

void quant_register_kquants(struct quant_kernels *k)
{
	k->to_float[GGML_TYPE_Q8_K] = q8_k_to_float;
	k->from_float[GGML_TYPE_Q8_K] = q8_k_from_float;
	k->to_float[GGML_TYPE_Q6_K] = q6_k_to_float;
	k->vec_dot[GGML_TYPE_Q6_K] = q6_k_vec_dot;
}
