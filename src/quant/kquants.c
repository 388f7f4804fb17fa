/* quant_kquants.c - the scalar reference of the 256-weight "k-quant" types
 * (Q2_K ... Q6_K, IQ4_XS) and their 8-bit activations (Q8_K): what each
 * block means and dot products against Q8_K.  The quantizers are in
 * quant_kquants_quantize.c. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "quant/kernels.h"

/* ---- Q8_K: the activations of the k-quants ------------------------------ */

static void q8_k_to_float(const void *src, float *y, int64_t n)
{
	const struct block_q8_k *b = src;
	for (int64_t i = 0; i < n / QK_K; i++, b++, y += QK_K)
		for (int j = 0; j < QK_K; j++)
			y[j] = b->d * b->qs[j];
}

/* The value of largest magnitude maps to -127, as in llama.cpp (whose
 * logits the goldens hold, and -128 would round differently): quants stay
 * in [-127, 127], so kernels may negate them.  bsums hold the sums of each
 * 16 quants for the minima terms. */
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
		float iscale = -127.0f / max;
		for (int j = 0; j < QK_K; j++)
			b->qs[j] = (int8_t)lrintf(iscale * x[j]);
		for (int g = 0; g < QK_K / 16; g++) {
			int sum = 0;
			for (int j = 0; j < 16; j++)
				sum += b->qs[g * 16 + j];
			b->bsums[g] = (int16_t)sum;
		}
		b->d = 1 / iscale;
	}
}

/* ---- shared pieces ------------------------------------------------------ */

/* The sum of n products of quants with activations. */
static int dot_i8(const int8_t *q, const int8_t *x, int n)
{
	int s = 0;
	for (int j = 0; j < n; j++)
		s += q[j] * x[j];
	return s;
}

/* Q2_K and Q3_K keep 2 bits of weight 128 h + 32 j + l in bits 2j, 2j+1
 * of qs[32 h + l]: each 128-weight half has its own 32 bytes, and the four
 * 32-weight quarters of the half share them by bit position. */
static void unpack_2bit(const uint8_t qs[QK_K / 4], int8_t q[QK_K])
{
	for (int h = 0; h < 2; h++)
		for (int j = 0; j < 4; j++)
			for (int l = 0; l < 32; l++)
				q[128 * h + 32 * j + l] = (int8_t)(qs[32 * h + l] >> 2 * j & 3);
}

/* Q4_K and Q5_K: 4 bits of weight 64 c + l in the low nibble of
 * qs[32 c + l], of weight 64 c + 32 + l in its high nibble. */
static void unpack_4bit(const uint8_t qs[QK_K / 2], int8_t q[QK_K])
{
	for (int c = 0; c < 4; c++)
		for (int l = 0; l < 32; l++) {
			q[64 * c + l] = (int8_t)(qs[32 * c + l] & 15);
			q[64 * c + 32 + l] = (int8_t)(qs[32 * c + l] >> 4);
		}
}

/* The 6-bit scales and minima of Q4_K and Q5_K's eight groups of 32: those
 * of groups 0-3 are the low 6 bits of bytes 0-3 and 4-7; groups 4-7 take
 * their low 4 bits from the nibbles of bytes 8-11 and their top 2 bits
 * from the spare top bits of bytes 0-3 (scales) and 4-7 (minima). */
static void k4_scales(const uint8_t s[K_SCALE_SIZE], uint8_t sc[8], uint8_t mn[8])
{
	for (int j = 0; j < 4; j++) {
		sc[j] = s[j] & 63;
		mn[j] = s[j + 4] & 63;
		sc[j + 4] = (uint8_t)((s[j + 8] & 15) | (s[j] >> 6) << 4);
		mn[j + 4] = (uint8_t)((s[j + 8] >> 4) | (s[j + 4] >> 6) << 4);
	}
}

/* ---- Q2_K: weight = d * scale * q - dmin * min, q in 0..3 ---------------- */

static void q2_k_to_float(const void *src, float *y, int64_t n)
{
	const struct block_q2_k *b = src;
	int8_t q[QK_K];
	for (int64_t i = 0; i < n / QK_K; i++, b++, y += QK_K) {
		float d = FP16(b->d), dmin = FP16(b->dmin);
		unpack_2bit(b->qs, q);
		for (int j = 0; j < QK_K; j++) {
			uint8_t sm = b->scales[j / 16];
			y[j] = d * (sm & 15) * q[j] - dmin * (sm >> 4);
		}
	}
}

static float q2_k_vec_dot(const void *w, const void *act, int64_t n)
{
	const struct block_q2_k *a = w;
	const struct block_q8_k *x = act;
	int8_t q[QK_K];
	float sum = 0;
	for (int64_t i = 0; i < n / QK_K; i++) {
		unpack_2bit(a[i].qs, q);
		int isum = 0, msum = 0;
		for (int g = 0; g < QK_K / 16; g++) {
			isum += (a[i].scales[g] & 15) * dot_i8(q + 16 * g, x[i].qs + 16 * g, 16);
			msum += (a[i].scales[g] >> 4) * x[i].bsums[g];
		}
		sum += x[i].d * (FP16(a[i].d) * (float)isum - FP16(a[i].dmin) * (float)msum);
	}
	return sum;
}

/* ---- Q3_K: weight = d * (scale - 32) * (q - 4), q in 0..7 ---------------- */

/* The high bit of weight w is bit w / 32 of hmask[w % 32]. */
static void q3_k_unpack(const struct block_q3_k *b, int8_t q[QK_K])
{
	unpack_2bit(b->qs, q);
	for (int j = 0; j < QK_K; j++)
		q[j] = (int8_t)(q[j] + 4 * (b->hmask[j % 32] >> j / 32 & 1) - 4);
}

/* 16 signed 6-bit scales: the low 4 bits of scale g in the low (g < 8)
 * or high nibble of byte g % 8, the top 2 bits in bits 2 (g / 4) of byte
 * 8 + g % 4; stored plus 32. */
static void q3_k_scales(const uint8_t s[K_SCALE_SIZE], int sc[16])
{
	for (int g = 0; g < 16; g++) {
		int lo = (g < 8 ? s[g] : s[g - 8] >> 4) & 15;
		int hi = s[8 + g % 4] >> 2 * (g / 4) & 3;
		sc[g] = (lo | hi << 4) - 32;
	}
}

static void q3_k_to_float(const void *src, float *y, int64_t n)
{
	const struct block_q3_k *b = src;
	int8_t q[QK_K];
	int sc[16];
	for (int64_t i = 0; i < n / QK_K; i++, b++, y += QK_K) {
		float d = FP16(b->d);
		q3_k_unpack(b, q);
		q3_k_scales(b->scales, sc);
		for (int j = 0; j < QK_K; j++)
			y[j] = d * sc[j / 16] * q[j];
	}
}

static float q3_k_vec_dot(const void *w, const void *act, int64_t n)
{
	const struct block_q3_k *a = w;
	const struct block_q8_k *x = act;
	int8_t q[QK_K];
	int sc[16];
	float sum = 0;
	for (int64_t i = 0; i < n / QK_K; i++) {
		q3_k_unpack(&a[i], q);
		q3_k_scales(a[i].scales, sc);
		int isum = 0;
		for (int g = 0; g < QK_K / 16; g++)
			isum += sc[g] * dot_i8(q + 16 * g, x[i].qs + 16 * g, 16);
		sum += FP16(a[i].d) * x[i].d * (float)isum;
	}
	return sum;
}

/* ---- Q4_K and Q5_K: weight = d * scale * q - dmin * min, groups of 32 ---- */

/* The dot product of one block whose unsigned quants are q: the minima
 * multiply the activation sums of their groups (two bsums each). */
static float k4_block_dot(uint16_t d, uint16_t dmin, const uint8_t scales[K_SCALE_SIZE], const int8_t q[QK_K],
			  const struct block_q8_k *x)
{
	uint8_t sc[8], mn[8];
	k4_scales(scales, sc, mn);
	int isum = 0, msum = 0;
	for (int g = 0; g < 8; g++) {
		isum += sc[g] * dot_i8(q + 32 * g, x->qs + 32 * g, 32);
		msum += mn[g] * (x->bsums[2 * g] + x->bsums[2 * g + 1]);
	}
	return x->d * (FP16(d) * (float)isum - FP16(dmin) * (float)msum);
}

static void k4_block_to_float(uint16_t d16, uint16_t dmin16, const uint8_t scales[K_SCALE_SIZE],
			      const int8_t q[QK_K], float *y)
{
	uint8_t sc[8], mn[8];
	k4_scales(scales, sc, mn);
	float d = FP16(d16), dmin = FP16(dmin16);
	for (int j = 0; j < QK_K; j++)
		y[j] = d * sc[j / 32] * q[j] - dmin * mn[j / 32];
}

static void q4_k_to_float(const void *src, float *y, int64_t n)
{
	const struct block_q4_k *b = src;
	int8_t q[QK_K];
	for (int64_t i = 0; i < n / QK_K; i++, b++, y += QK_K) {
		unpack_4bit(b->qs, q);
		k4_block_to_float(b->d, b->dmin, b->scales, q, y);
	}
}

static float q4_k_vec_dot(const void *w, const void *act, int64_t n)
{
	const struct block_q4_k *a = w;
	const struct block_q8_k *x = act;
	int8_t q[QK_K];
	float sum = 0;
	for (int64_t i = 0; i < n / QK_K; i++) {
		unpack_4bit(a[i].qs, q);
		sum += k4_block_dot(a[i].d, a[i].dmin, a[i].scales, q, &x[i]);
	}
	return sum;
}

/* Q5_K's fifth bit of weight w is bit w / 32 of qh[w % 32]. */
static void q5_k_unpack(const struct block_q5_k *b, int8_t q[QK_K])
{
	unpack_4bit(b->qs, q);
	for (int j = 0; j < QK_K; j++)
		q[j] = (int8_t)(q[j] | (b->qh[j % 32] >> j / 32 & 1) << 4);
}

static void q5_k_to_float(const void *src, float *y, int64_t n)
{
	const struct block_q5_k *b = src;
	int8_t q[QK_K];
	for (int64_t i = 0; i < n / QK_K; i++, b++, y += QK_K) {
		q5_k_unpack(b, q);
		k4_block_to_float(b->d, b->dmin, b->scales, q, y);
	}
}

static float q5_k_vec_dot(const void *w, const void *act, int64_t n)
{
	const struct block_q5_k *a = w;
	const struct block_q8_k *x = act;
	int8_t q[QK_K];
	float sum = 0;
	for (int64_t i = 0; i < n / QK_K; i++) {
		q5_k_unpack(&a[i], q);
		sum += k4_block_dot(a[i].d, a[i].dmin, a[i].scales, q, &x[i]);
	}
	return sum;
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
		for (int g = 0; g < QK_K / 16; g++)
			isum += a[i].scales[g] * dot_i8(q + 16 * g, x[i].qs + 16 * g, 16);
		sum += FP16(a[i].d) * x[i].d * (float)isum;
	}
	return sum;
}

/* ---- IQ4_XS: weight = d * (scale - 32) * table[q], groups of 32 ---------- */

/* Group g's 16 qs bytes hold its weights 0-15 in the low nibbles and 16-31
 * in the high ones; its 6-bit scale has 4 bits in nibble g % 2 of
 * scales_l[g / 2] and 2 in bits 2g, 2g+1 of scales_h. */
static void iq4_xs_unpack(const struct block_iq4_xs *b, int8_t v[QK_K], int sc[8])
{
	for (int g = 0; g < 8; g++) {
		sc[g] = ((b->scales_l[g / 2] >> 4 * (g % 2) & 15) | (b->scales_h >> 2 * g & 3) << 4) - 32;
		for (int j = 0; j < 16; j++) {
			v[32 * g + j] = quant_iq4nl_values[b->qs[16 * g + j] & 15];
			v[32 * g + 16 + j] = quant_iq4nl_values[b->qs[16 * g + j] >> 4];
		}
	}
}

static void iq4_xs_to_float(const void *src, float *y, int64_t n)
{
	const struct block_iq4_xs *b = src;
	int8_t v[QK_K];
	int sc[8];
	for (int64_t i = 0; i < n / QK_K; i++, b++, y += QK_K) {
		float d = FP16(b->d);
		iq4_xs_unpack(b, v, sc);
		for (int j = 0; j < QK_K; j++)
			y[j] = d * sc[j / 32] * v[j];
	}
}

static float iq4_xs_vec_dot(const void *w, const void *act, int64_t n)
{
	const struct block_iq4_xs *a = w;
	const struct block_q8_k *x = act;
	int8_t v[QK_K];
	int sc[8];
	float sum = 0;
	for (int64_t i = 0; i < n / QK_K; i++) {
		iq4_xs_unpack(&a[i], v, sc);
		int isum = 0;
		for (int g = 0; g < 8; g++)
			isum += sc[g] * dot_i8(v + 32 * g, x[i].qs + 32 * g, 32);
		sum += FP16(a[i].d) * x[i].d * (float)isum;
	}
	return sum;
}

void quant_register_kquants(struct quant_kernels *k)
{
	k->to_float[GGML_TYPE_Q8_K] = q8_k_to_float;
	k->from_float[GGML_TYPE_Q8_K] = q8_k_from_float;
	k->to_float[GGML_TYPE_Q2_K] = q2_k_to_float;
	k->vec_dot[GGML_TYPE_Q2_K] = q2_k_vec_dot;
	k->to_float[GGML_TYPE_Q3_K] = q3_k_to_float;
	k->vec_dot[GGML_TYPE_Q3_K] = q3_k_vec_dot;
	k->to_float[GGML_TYPE_Q4_K] = q4_k_to_float;
	k->vec_dot[GGML_TYPE_Q4_K] = q4_k_vec_dot;
	k->to_float[GGML_TYPE_Q5_K] = q5_k_to_float;
	k->vec_dot[GGML_TYPE_Q5_K] = q5_k_vec_dot;
	k->to_float[GGML_TYPE_Q6_K] = q6_k_to_float;
	k->vec_dot[GGML_TYPE_Q6_K] = q6_k_vec_dot;
	k->to_float[GGML_TYPE_IQ4_XS] = iq4_xs_to_float;
	k->vec_dot[GGML_TYPE_IQ4_XS] = iq4_xs_vec_dot;
	quant_register_kquants_quantize(k);
}
