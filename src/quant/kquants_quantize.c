/* quant_kquants_quantize.c - the reference quantizers of the k-quants and
 * IQ4_XS, which `nibble quantize` uses without an importance matrix.  Each
 * group of 16 or 32 weights gets the scale (and minimum) that minimizes a
 * weighted error over a small search, the group scales are then quantized
 * against one fp16 super-scale, and the weights are quantized again with
 * the scales the file will actually hold.  The searches and their weights
 * are llama.cpp's reference quantizers', so our files are as good as
 * theirs. */
#include "config.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "quant/kernels.h"

/* Groups whose largest magnitude is below this are all zero. */
#define GROUP_EPS 1e-15f

/* Round to nearest, ties to even: adding 1.5 * 2^23 leaves the rounded
 * integer in the low mantissa bits.  The clamp keeps it exact (and nan,
 * which fmaxf drops, harmless); lrintf is a library call and these run
 * billions of times when a model is quantized. */
static int nearest(float f)
{
	f = fminf(fmaxf(f, -4194303.0f), 4194303.0f) + 12582912.0f;
	int32_t i;
	memcpy(&i, &f, sizeof i);
	return (i & 0x007fffff) - 0x00400000;
}

static int clamp_int(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* ---- searches for one group's scale ------------------------------------- */

/* Unsigned quants L in [0, nmax] with x ≈ scale * L - *neg_min: starting
 * from the range [min(x, 0), max(x)], tries nstep + 1 scales that map it
 * onto nmax + rmin + k * rdelta levels, solves each for the least-squares
 * scale and minimum under weights w, and keeps the one of least weighted
 * error (absolute when use_mad, squared otherwise).  Returns the scale. */
static float scale_min_search(int n, int nmax, const float *x, const float *w, uint8_t *L, float *neg_min,
			      float rmin, float rdelta, int nstep, bool use_mad)
{
	float min = x[0], max = x[0], sum_w = w[0], sum_x = w[0] * x[0];
	for (int i = 1; i < n; i++) {
		if (x[i] < min)
			min = x[i];
		if (x[i] > max)
			max = x[i];
		sum_w += w[i];
		sum_x += w[i] * x[i];
	}
	if (min > 0)
		min = 0; /* a positive minimum would need negative levels */
	if (max == min) {
		memset(L, 0, (size_t)n);
		*neg_min = -min;
		return 0;
	}
	float iscale = nmax / (max - min), scale = 1 / iscale, best = 0;
	for (int i = 0; i < n; i++) {
		L[i] = (uint8_t)clamp_int(nearest(iscale * (x[i] - min)), 0, nmax);
		float diff = scale * L[i] + min - x[i];
		best += w[i] * (use_mad ? fabsf(diff) : diff * diff);
	}
	for (int is = 0; is <= nstep; is++) {
		uint8_t trial[32];
		float sum_l = 0, sum_l2 = 0, sum_xl = 0;
		iscale = (rmin + rdelta * is + nmax) / (max - min);
		for (int i = 0; i < n; i++) {
			int l = clamp_int(nearest(iscale * (x[i] - min)), 0, nmax);
			trial[i] = (uint8_t)l;
			sum_l += w[i] * l;
			sum_l2 += w[i] * l * l;
			sum_xl += w[i] * l * x[i];
		}
		float det = sum_w * sum_l2 - sum_l * sum_l;
		if (det <= 0)
			continue;
		float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
		float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
		if (this_min > 0) {
			this_min = 0;
			this_scale = sum_xl / sum_l2;
		}
		float err = 0;
		for (int i = 0; i < n; i++) {
			float diff = this_scale * trial[i] + this_min - x[i];
			err += w[i] * (use_mad ? fabsf(diff) : diff * diff);
		}
		if (err < best) {
			memcpy(L, trial, (size_t)n);
			best = err;
			scale = this_scale;
			min = this_min;
		}
	}
	*neg_min = -min;
	return scale;
}

/* For signed quants in [-nmax, nmax - 1] at 1 / iscale: the weighted sums
 * sum(w x l) and sum(w l^2), w = x^2, that give the best scale for those
 * quants (sum_lx / sum_l2) and its gain (sum_lx^2 / sum_l2). */
static void signed_sums(int n, int nmax, const float *x, float iscale, float *sum_lx, float *sum_l2)
{
	float slx = 0, sl2 = 0;
	for (int i = 0; i < n; i++) {
		int l = clamp_int(nearest(iscale * x[i]), -nmax, nmax - 1);
		float w = x[i] * x[i];
		slx += w * x[i] * l;
		sl2 += w * l * l;
	}
	*sum_lx = slx;
	*sum_l2 = sl2;
}

static void signed_levels(int n, int nmax, const float *x, float iscale, int8_t *L)
{
	for (int i = 0; i < n; i++)
		L[i] = (int8_t)(nmax + clamp_int(nearest(iscale * x[i]), -nmax, nmax - 1));
}

/* The largest magnitude of x, returned with its sign. */
static float signed_amax(int n, const float *x)
{
	float amax = 0, max = 0;
	for (int i = 0; i < n; i++)
		if (fabsf(x[i]) > amax) {
			amax = fabsf(x[i]);
			max = x[i];
		}
	return max;
}

/* Signed quants (stored plus nmax in L) for Q6_K: the value of largest
 * magnitude maps to -nmax, then 18 nearby scales are tried and the one of
 * least x^2-weighted squared error is kept.  Returns the scale. */
static float signed_scale_search(int n, int nmax, const float *x, int8_t *L)
{
	float max = signed_amax(n, x);
	if (fabsf(max) < GROUP_EPS) {
		memset(L, 0, (size_t)n);
		return 0;
	}
	float sum_lx, sum_l2, iscale = -nmax / max;
	signed_sums(n, nmax, x, iscale, &sum_lx, &sum_l2);
	signed_levels(n, nmax, x, iscale, L);
	float scale = sum_l2 ? sum_lx / sum_l2 : 0, best = scale * sum_lx;
	for (int is = -9; is <= 9; is++) {
		if (is == 0)
			continue;
		iscale = -(nmax + 0.1f * is) / max;
		signed_sums(n, nmax, x, iscale, &sum_lx, &sum_l2);
		if (sum_l2 > 0 && sum_lx * sum_lx > best * sum_l2) {
			signed_levels(n, nmax, x, iscale, L);
			scale = sum_lx / sum_l2;
			best = scale * sum_lx;
		}
	}
	return scale;
}

/* Signed quants (stored plus nmax in L) for Q3_K: from the rounding at the
 * largest magnitude, a few passes of coordinate descent move single quants
 * to the level the best scale of the others asks for when that improves
 * the x^2-weighted fit.  Returns the least-squares scale of the result. */
static float q3_scale_search(int n, int nmax, const float *x, int8_t *L)
{
	float max = signed_amax(n, x);
	if (fabsf(max) < GROUP_EPS) {
		memset(L, 0, (size_t)n);
		return 0;
	}
	float iscale = -nmax / max, sum_lx = 0, sum_l2 = 0;
	for (int i = 0; i < n; i++) {
		int l = clamp_int(nearest(iscale * x[i]), -nmax, nmax - 1);
		float w = x[i] * x[i];
		L[i] = (int8_t)l;
		sum_lx += w * x[i] * l;
		sum_l2 += w * l * l;
	}
	for (int pass = 0; pass < 5; pass++) {
		int changed = 0;
		for (int i = 0; i < n; i++) {
			float w = x[i] * x[i], slx = sum_lx - w * x[i] * L[i];
			if (slx <= 0)
				continue;
			float sl2 = sum_l2 - w * L[i] * L[i];
			int l = clamp_int(nearest(x[i] * sl2 / slx), -nmax, nmax - 1);
			if (l == L[i])
				continue;
			slx += w * x[i] * l;
			sl2 += w * l * l;
			if (sl2 > 0 && slx * slx * sum_l2 > sum_lx * sum_lx * sl2) {
				L[i] = (int8_t)l;
				sum_lx = slx;
				sum_l2 = sl2;
				changed++;
			}
		}
		if (!changed)
			break;
	}
	for (int i = 0; i < n; i++)
		L[i] = (int8_t)(L[i] + nmax);
	return sum_l2 > 0 ? sum_lx / sum_l2 : 0;
}

/* ---- packing ------------------------------------------------------------ */

/* Quants 0..3 of weight 128 h + 32 j + l into bits 2j of qs[32 h + l]. */
static void pack_2bit(const uint8_t L[QK_K], uint8_t qs[QK_K / 4])
{
	for (int h = 0; h < 2; h++)
		for (int l = 0; l < 32; l++) {
			const uint8_t *q = L + 128 * h + l;
			qs[32 * h + l] = (uint8_t)(q[0] | q[32] << 2 | q[64] << 4 | q[96] << 6);
		}
}

/* The low 4 bits of weight 64 c + l into the low nibble of qs[32 c + l],
 * of weight 64 c + 32 + l into its high nibble. */
static void pack_4bit(const uint8_t L[QK_K], uint8_t qs[QK_K / 2])
{
	for (int c = 0; c < 4; c++)
		for (int l = 0; l < 32; l++)
			qs[32 * c + l] = (uint8_t)((L[64 * c + l] & 15) | (L[64 * c + 32 + l] & 15) << 4);
}

/* Eight 6-bit scales and minima in Q4_K/Q5_K's 12 bytes (see
 * quant_kquants.c for the layout). */
static void pack_k4_scales(const uint8_t ls[8], const uint8_t lm[8], uint8_t s[K_SCALE_SIZE])
{
	for (int j = 0; j < 4; j++) {
		s[j] = (uint8_t)(ls[j] | (ls[j + 4] >> 4) << 6);
		s[j + 4] = (uint8_t)(lm[j] | (lm[j + 4] >> 4) << 6);
		s[j + 8] = (uint8_t)((ls[j + 4] & 15) | (lm[j + 4] & 15) << 4);
	}
}

/* ---- Q2_K --------------------------------------------------------------- */

static void q2_k_from_float(const float *x, void *dst, int64_t n)
{
	struct block_q2_k *b = dst;
	for (int64_t i = 0; i < n / QK_K; i++, b++, x += QK_K) {
		uint8_t L[QK_K];
		float scales[16], mins[16], w[16], max_scale = 0, max_min = 0;
		for (int g = 0; g < 16; g++) {
			const float *xg = x + 16 * g;
			for (int j = 0; j < 16; j++)
				w[j] = fabsf(xg[j]);
			scales[g] = scale_min_search(16, 3, xg, w, L + 16 * g, &mins[g], -0.5f, 0.1f, 15, true);
			max_scale = fmaxf(max_scale, scales[g]);
			max_min = fmaxf(max_min, mins[g]);
		}
		/* 4-bit scales and minima against d = max / 15 */
		float is = max_scale > 0 ? 15 / max_scale : 0, im = max_min > 0 ? 15 / max_min : 0;
		for (int g = 0; g < 16; g++)
			b->scales[g] = (uint8_t)(clamp_int(nearest(is * scales[g]), 0, 15) |
						 clamp_int(nearest(im * mins[g]), 0, 15) << 4);
		b->d = f32_to_fp16(max_scale / 15);
		b->dmin = f32_to_fp16(max_min / 15);
		for (int g = 0; g < 16; g++) {
			float d = FP16(b->d) * (b->scales[g] & 15), dm = FP16(b->dmin) * (b->scales[g] >> 4);
			if (!d)
				continue;
			for (int j = 0; j < 16; j++)
				L[16 * g + j] = (uint8_t)clamp_int(nearest((x[16 * g + j] + dm) / d), 0, 3);
		}
		pack_2bit(L, b->qs);
	}
}

/* ---- Q3_K --------------------------------------------------------------- */

static void q3_k_from_float(const float *x, void *dst, int64_t n)
{
	struct block_q3_k *b = dst;
	for (int64_t i = 0; i < n / QK_K; i++, b++, x += QK_K) {
		int8_t L[QK_K];
		float scales[16], max_scale = 0;
		for (int g = 0; g < 16; g++) {
			scales[g] = q3_scale_search(16, 4, x + 16 * g, L + 16 * g);
			if (fabsf(scales[g]) > fabsf(max_scale))
				max_scale = scales[g];
		}
		/* Signed 6-bit scales; the largest magnitude maps to -32. */
		memset(b->scales, 0, sizeof b->scales);
		int ls[16] = { 0 };
		if (max_scale) {
			float iscale = -32 / max_scale;
			for (int g = 0; g < 16; g++) {
				ls[g] = clamp_int(nearest(iscale * scales[g]), -32, 31);
				int u = ls[g] + 32;
				b->scales[g % 8] |= (uint8_t)((u & 15) << 4 * (g / 8));
				b->scales[8 + g % 4] |= (uint8_t)((u >> 4) << 2 * (g / 4));
			}
			b->d = f32_to_fp16(1 / iscale);
		} else {
			b->d = 0;
		}
		for (int g = 0; g < 16; g++) {
			float d = FP16(b->d) * ls[g];
			if (!d)
				continue;
			for (int j = 0; j < 16; j++)
				L[16 * g + j] = (int8_t)(clamp_int(nearest(x[16 * g + j] / d), -4, 3) + 4);
		}
		/* The high bit of weight j goes to bit j / 32 of hmask[j % 32]. */
		uint8_t low[QK_K];
		memset(b->hmask, 0, sizeof b->hmask);
		for (int j = 0; j < QK_K; j++) {
			b->hmask[j % 32] |= (uint8_t)((L[j] >> 2 & 1) << j / 32);
			low[j] = (uint8_t)(L[j] & 3);
		}
		pack_2bit(low, b->qs);
	}
}

/* ---- Q4_K and Q5_K ------------------------------------------------------ */

/* The shared part of Q4_K and Q5_K: per group of 32 a scale and minimum
 * searched with weights rms(x) + |x|, 6-bit scales and minima against
 * d = max / 63, then quants 0..nmax in L. */
static void k4_quantize(const float *x, int nmax, float rmin, int nstep, uint16_t *d16, uint16_t *dmin16,
			uint8_t scales[K_SCALE_SIZE], uint8_t L[QK_K])
{
	float sc[8], mn[8], w[32], max_scale = 0, max_min = 0;
	for (int g = 0; g < 8; g++) {
		const float *xg = x + 32 * g;
		float sum_x2 = 0;
		for (int j = 0; j < 32; j++)
			sum_x2 += xg[j] * xg[j];
		float rms = sqrtf(sum_x2 / 32);
		for (int j = 0; j < 32; j++)
			w[j] = rms + fabsf(xg[j]);
		sc[g] = scale_min_search(32, nmax, xg, w, L + 32 * g, &mn[g], rmin, 0.1f, nstep, false);
		max_scale = fmaxf(max_scale, sc[g]);
		max_min = fmaxf(max_min, mn[g]);
	}
	float is = max_scale > 0 ? 63 / max_scale : 0, im = max_min > 0 ? 63 / max_min : 0;
	uint8_t ls[8], lm[8];
	for (int g = 0; g < 8; g++) {
		ls[g] = (uint8_t)clamp_int(nearest(is * sc[g]), 0, 63);
		lm[g] = (uint8_t)clamp_int(nearest(im * mn[g]), 0, 63);
	}
	pack_k4_scales(ls, lm, scales);
	*d16 = f32_to_fp16(max_scale / 63);
	*dmin16 = f32_to_fp16(max_min / 63);
	for (int g = 0; g < 8; g++) {
		float d = FP16(*d16) * ls[g], dm = FP16(*dmin16) * lm[g];
		if (!d)
			continue;
		for (int j = 0; j < 32; j++)
			L[32 * g + j] = (uint8_t)clamp_int(nearest((x[32 * g + j] + dm) / d), 0, nmax);
	}
}

static void q4_k_from_float(const float *x, void *dst, int64_t n)
{
	struct block_q4_k *b = dst;
	for (int64_t i = 0; i < n / QK_K; i++, b++, x += QK_K) {
		uint8_t L[QK_K];
		k4_quantize(x, 15, -1.0f, 20, &b->d, &b->dmin, b->scales, L);
		pack_4bit(L, b->qs);
	}
}

static void q5_k_from_float(const float *x, void *dst, int64_t n)
{
	struct block_q5_k *b = dst;
	for (int64_t i = 0; i < n / QK_K; i++, b++, x += QK_K) {
		uint8_t L[QK_K];
		k4_quantize(x, 31, -0.5f, 15, &b->d, &b->dmin, b->scales, L);
		pack_4bit(L, b->qs);
		/* The fifth bit of weight j goes to bit j / 32 of qh[j % 32]. */
		memset(b->qh, 0, sizeof b->qh);
		for (int j = 0; j < QK_K; j++)
			b->qh[j % 32] |= (uint8_t)((L[j] >> 4) << j / 32);
	}
}

/* ---- Q6_K --------------------------------------------------------------- */

static void q6_k_from_float(const float *x, void *dst, int64_t n)
{
	struct block_q6_k *b = dst;
	for (int64_t i = 0; i < n / QK_K; i++, b++, x += QK_K) {
		int8_t L[QK_K];
		float scales[16], max_scale = 0;
		for (int g = 0; g < 16; g++) {
			scales[g] = signed_scale_search(16, 32, x + 16 * g, L + 16 * g);
			if (fabsf(scales[g]) > fabsf(max_scale))
				max_scale = scales[g];
		}
		memset(b, 0, sizeof *b);
		if (fabsf(max_scale) < GROUP_EPS)
			continue;
		/* int8 scales; the largest magnitude maps to -128. */
		float iscale = -128 / max_scale;
		b->d = f32_to_fp16(1 / iscale);
		for (int g = 0; g < 16; g++)
			b->scales[g] = (int8_t)clamp_int(nearest(iscale * scales[g]), -128, 127);
		for (int g = 0; g < 16; g++) {
			float d = FP16(b->d) * b->scales[g];
			if (!d)
				continue;
			for (int j = 0; j < 16; j++)
				L[16 * g + j] = (int8_t)(clamp_int(nearest(x[16 * g + j] / d), -32, 31) + 32);
		}
		/* Layout: see q6_k_unpack in quant_kquants.c. */
		for (int h = 0; h < 2; h++) {
			const int8_t *q = L + 128 * h;
			uint8_t *ql = b->ql + 64 * h, *qh = b->qh + 32 * h;
			for (int l = 0; l < 32; l++) {
				ql[l] = (uint8_t)((q[l] & 15) | (q[l + 64] & 15) << 4);
				ql[l + 32] = (uint8_t)((q[l + 32] & 15) | (q[l + 96] & 15) << 4);
				qh[l] = (uint8_t)(q[l] >> 4 | (q[l + 32] >> 4) << 2 | (q[l + 64] >> 4) << 4 |
						  (q[l + 96] >> 4) << 6);
			}
		}
	}
}

/* ---- IQ4_XS ------------------------------------------------------------- */

/* The index of the IQ4_NL value nearest to v (ties to the larger). */
static int iq4nl_index(float v)
{
	const int8_t *t = quant_iq4nl_values;
	if (v <= t[0])
		return 0;
	if (v >= t[15])
		return 15;
	int lo = 0, hi = 15; /* t[lo] <= v < t[hi] */
	while (hi - lo > 1) {
		int mid = (lo + hi) / 2;
		if (v < t[mid])
			hi = mid;
		else
			lo = mid;
	}
	return v - t[lo] < t[hi] - v ? lo : hi;
}

/* The x^2-weighted sums sum(w q x) and sum(w q^2) over the table values q
 * nearest to x * id. */
static void iq4_sums(const float *x, float id, float *sum_qx, float *sum_q2)
{
	float sqx = 0, sq2 = 0;
	for (int j = 0; j < 32; j++) {
		float q = quant_iq4nl_values[iq4nl_index(id * x[j])], w = x[j] * x[j];
		sqx += w * q * x[j];
		sq2 += w * q * q;
	}
	*sum_qx = sqx;
	*sum_q2 = sq2;
}

/* One group's scale d, x ≈ d * table[q]: the largest magnitude at the
 * table's end (-127), then 15 nearby scales, keeping the best fit. */
static float iq4_group_scale(const float *x)
{
	float max = signed_amax(32, x);
	if (fabsf(max) < GROUP_EPS)
		return 0;
	const int8_t t0 = quant_iq4nl_values[0];
	float sum_qx, sum_q2;
	iq4_sums(x, 1 / (-max / t0), &sum_qx, &sum_q2);
	float d = sum_q2 > 0 ? sum_qx / sum_q2 : 0, best = d * sum_qx;
	for (int t = -7; t <= 7; t++) {
		iq4_sums(x, (t + t0) / max, &sum_qx, &sum_q2);
		if (sum_q2 > 0 && sum_qx * sum_qx > best * sum_q2) {
			d = sum_qx / sum_q2;
			best = d * sum_qx;
		}
	}
	return d;
}

static void iq4_xs_from_float(const float *x, void *dst, int64_t n)
{
	struct block_iq4_xs *b = dst;
	for (int64_t i = 0; i < n / QK_K; i++, b++, x += QK_K) {
		float scales[8], max_scale = 0;
		for (int g = 0; g < 8; g++) {
			scales[g] = iq4_group_scale(x + 32 * g);
			if (fabsf(scales[g]) > fabsf(max_scale))
				max_scale = scales[g];
		}
		/* Signed 6-bit scales; the largest magnitude maps to -32. */
		float d = -max_scale / 32, id = d ? 1 / d : 0;
		b->d = f32_to_fp16(d);
		b->scales_h = 0;
		memset(b->scales_l, 0, sizeof b->scales_l);
		for (int g = 0; g < 8; g++) {
			int l = clamp_int(nearest(id * scales[g]), -32, 31);
			float dl = FP16(b->d) * l, idl = dl ? 1 / dl : 0;
			const float *xg = x + 32 * g;
			for (int j = 0; j < 16; j++)
				b->qs[16 * g + j] = (uint8_t)(iq4nl_index(idl * xg[j]) | iq4nl_index(idl * xg[j + 16]) << 4);
			b->scales_l[g / 2] |= (uint8_t)(((l + 32) & 15) << 4 * (g % 2));
			b->scales_h |= (uint16_t)(((l + 32) >> 4) << 2 * g);
		}
	}
}

void quant_register_kquants_quantize(struct quant_kernels *k)
{
	k->from_float[GGML_TYPE_Q2_K] = q2_k_from_float;
	k->from_float[GGML_TYPE_Q3_K] = q3_k_from_float;
	k->from_float[GGML_TYPE_Q4_K] = q4_k_from_float;
	k->from_float[GGML_TYPE_Q5_K] = q5_k_from_float;
	k->from_float[GGML_TYPE_Q6_K] = q6_k_from_float;
	k->from_float[GGML_TYPE_IQ4_XS] = iq4_xs_from_float;
}
