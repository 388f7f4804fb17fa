/* quant.c - the scalar reference for every tensor type the CPU computes with.
 * These loops are the specification; faster kernels are checked against them. */
#include "config.h"

#include "quant.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define TYPE(id, nm, bs, ts, c) [GGML_TYPE_##id] = { nm, bs, ts, c }
static const struct type_traits traits[GGML_TYPE_COUNT] = {
	TYPE(F32, "F32", 1, 4, true),
	TYPE(F16, "F16", 1, 2, true),
	TYPE(Q4_0, "Q4_0", 32, 18, true),
	TYPE(Q4_1, "Q4_1", 32, 20, false),
	TYPE(Q5_0, "Q5_0", 32, 22, false),
	TYPE(Q5_1, "Q5_1", 32, 24, false),
	TYPE(Q8_0, "Q8_0", 32, 34, true),
	TYPE(Q8_1, "Q8_1", 32, 36, false),
	TYPE(Q2_K, "Q2_K", 256, 84, false),
	TYPE(Q3_K, "Q3_K", 256, 110, false),
	TYPE(Q4_K, "Q4_K", 256, 144, false),
	TYPE(Q5_K, "Q5_K", 256, 176, false),
	TYPE(Q6_K, "Q6_K", 256, 210, true),
	TYPE(Q8_K, "Q8_K", 256, 292, false),
	TYPE(IQ2_XXS, "IQ2_XXS", 256, 66, false),
	TYPE(IQ2_XS, "IQ2_XS", 256, 74, false),
	TYPE(IQ3_XXS, "IQ3_XXS", 256, 98, false),
	TYPE(IQ1_S, "IQ1_S", 256, 50, false),
	TYPE(IQ4_NL, "IQ4_NL", 32, 18, false),
	TYPE(IQ3_S, "IQ3_S", 256, 110, false),
	TYPE(IQ2_S, "IQ2_S", 256, 82, false),
	TYPE(IQ4_XS, "IQ4_XS", 256, 136, false),
	TYPE(I8, "I8", 1, 1, false),
	TYPE(I16, "I16", 1, 2, false),
	TYPE(I32, "I32", 1, 4, false),
	TYPE(I64, "I64", 1, 8, false),
	TYPE(F64, "F64", 1, 8, false),
	TYPE(IQ1_M, "IQ1_M", 256, 56, false),
	TYPE(BF16, "BF16", 1, 2, true),
	TYPE(TQ1_0, "TQ1_0", 256, 54, false),
	TYPE(TQ2_0, "TQ2_0", 256, 66, false),
	TYPE(MXFP4, "MXFP4", 32, 17, false),
};
#undef TYPE

const struct type_traits *quant_traits(uint32_t type)
{
	if (type >= GGML_TYPE_COUNT || !traits[type].name)
		return NULL;
	return &traits[type];
}

const char *quant_name(uint32_t type)
{
	static _Thread_local char buf[32];
	const struct type_traits *t = quant_traits(type);
	if (t)
		return t->name;
	snprintf(buf, sizeof buf, "type %u", type);
	return buf;
}

const char *quant_file_type_name(uint32_t ftype)
{
	static const char *const names[] = {
		[0] = "F32", [1] = "F16", [2] = "Q4_0", [3] = "Q4_1", [7] = "Q8_0", [8] = "Q5_0", [9] = "Q5_1",
		[10] = "Q2_K", [11] = "Q3_K_S", [12] = "Q3_K_M", [13] = "Q3_K_L", [14] = "Q4_K_S", [15] = "Q4_K_M",
		[16] = "Q5_K_S", [17] = "Q5_K_M", [18] = "Q6_K", [19] = "IQ2_XXS", [20] = "IQ2_XS", [21] = "Q2_K_S",
		[22] = "IQ3_XS", [23] = "IQ3_XXS", [24] = "IQ1_S", [25] = "IQ4_NL", [26] = "IQ3_S", [27] = "IQ3_M",
		[28] = "IQ2_S", [29] = "IQ2_M", [30] = "IQ4_XS", [31] = "IQ1_M", [32] = "BF16", [36] = "TQ1_0",
		[37] = "TQ2_0", [38] = "MXFP4",
	};
	return ftype < sizeof names / sizeof names[0] ? names[ftype] : NULL;
}

static float bits_to_f32(uint32_t u)
{
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

static uint32_t f32_to_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u;
}

float fp16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f;
	uint32_t mant = h & 0x3ff;
	if (exp == 0x1f) /* inf / nan */
		return bits_to_f32(sign | 0x7f800000u | (mant << 13));
	if (exp == 0) { /* zero / subnormal: mant * 2^-24 */
		float v = (float)mant * 0x1p-24f;
		return sign ? -v : v;
	}
	return bits_to_f32(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t f32_to_fp16(float f)
{
	uint32_t x = f32_to_bits(f);
	uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
	uint32_t abs = x & 0x7fffffffu;
	if (abs >= 0x7f800000u) /* inf / nan */
		return sign | 0x7c00 | (abs > 0x7f800000u ? 0x200 : 0);
	if (abs >= 0x477ff000u) /* rounds to >= 65520: overflow to inf */
		return sign | 0x7c00;
	if (abs < 0x38800000u) { /* below the smallest normal half: subnormal */
		float v = bits_to_f32(abs) * 0x1p24f; /* in units of 2^-24 */
		return sign | (uint16_t)lrintf(v);    /* lrintf rounds to even */
	}
	uint32_t mant = abs & 0x7fffff;
	uint32_t exp = (abs >> 23) - 112;
	uint32_t h = (exp << 10) | (mant >> 13);
	uint32_t rest = mant & 0x1fff;
	if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
		h++; /* may carry into the exponent, which is still right */
	return sign | (uint16_t)h;
}

float bf16_to_f32(uint16_t h)
{
	return bits_to_f32((uint32_t)h << 16);
}

/* Every fp16 value as float: a load is much cheaper than the conversion on
 * CPUs compiled for without F16C. */
static float fp16_table[1 << 16];
static pthread_once_t fp16_table_once = PTHREAD_ONCE_INIT;

static void fill_fp16_table(void)
{
	for (uint32_t h = 0; h < 1u << 16; h++)
		fp16_table[h] = fp16_to_f32((uint16_t)h);
}

#define FP16(h) (fp16_table[(h)])

/* Sums of products in 8 independent lanes, which compilers turn into SIMD
 * without reassociating a single running sum. */
#define DOT8(out, n, weight_at, x)                                          \
	do {                                                             \
		float lane_[8] = { 0 };                                  \
		int64_t i_ = 0;                                          \
		for (; i_ + 8 <= (n); i_ += 8)                           \
			for (int k_ = 0; k_ < 8; k_++)                   \
				lane_[k_] += (weight_at(i_ + k_)) * (x)[i_ + k_]; \
		for (; i_ < (n); i_++)                                   \
			lane_[0] += (weight_at(i_)) * (x)[i_];           \
		out = ((lane_[0] + lane_[4]) + (lane_[1] + lane_[5])) +  \
		      ((lane_[2] + lane_[6]) + (lane_[3] + lane_[7]));   \
	} while (0)

static void dequantize_q4_0(const struct block_q4_0 *b, float *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++, b++, y += QK4_0) {
		float d = fp16_to_f32(b->d);
		for (int j = 0; j < QK4_0 / 2; j++) {
			y[j] = d * ((b->qs[j] & 0x0f) - 8);
			y[j + QK4_0 / 2] = d * ((b->qs[j] >> 4) - 8);
		}
	}
}

static void dequantize_q8_0(const struct block_q8_0 *b, float *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++, b++, y += QK8_0) {
		float d = fp16_to_f32(b->d);
		for (int j = 0; j < QK8_0; j++)
			y[j] = d * b->qs[j];
	}
}

static void dequantize_q6_k(const struct block_q6_k *b, float *y, int64_t nb)
{
	for (int64_t i = 0; i < nb; i++, b++) {
		float d = fp16_to_f32(b->d);
		/* Two halves of 128 weights; in each, byte l of ql/qh feeds the
		 * weights l, l+32, l+64 and l+96. */
		for (int half = 0; half < 2; half++, y += 128) {
			const uint8_t *ql = b->ql + 64 * half;
			const uint8_t *qh = b->qh + 32 * half;
			const int8_t *sc = b->scales + 8 * half;
			for (int l = 0; l < 32; l++) {
				int g = l / 16;
				int q0 = (ql[l] & 0xf) | ((qh[l] >> 0 & 3) << 4);
				int q1 = (ql[l + 32] & 0xf) | ((qh[l] >> 2 & 3) << 4);
				int q2 = (ql[l] >> 4) | ((qh[l] >> 4 & 3) << 4);
				int q3 = (ql[l + 32] >> 4) | ((qh[l] >> 6 & 3) << 4);
				y[l] = d * sc[g] * (q0 - 32);
				y[l + 32] = d * sc[g + 2] * (q1 - 32);
				y[l + 64] = d * sc[g + 4] * (q2 - 32);
				y[l + 96] = d * sc[g + 6] * (q3 - 32);
			}
		}
	}
}

void quant_dequantize(uint32_t type, const void *src, float *dst, int64_t n)
{
	pthread_once(&fp16_table_once, fill_fp16_table);
	switch (type) {
	case GGML_TYPE_F32:
		memcpy(dst, src, (size_t)n * sizeof(float));
		break;
	case GGML_TYPE_F16: {
		const uint16_t *h = src;
		for (int64_t i = 0; i < n; i++)
			dst[i] = FP16(h[i]);
		break;
	}
	case GGML_TYPE_BF16: {
		const uint16_t *h = src;
		for (int64_t i = 0; i < n; i++)
			dst[i] = bf16_to_f32(h[i]);
		break;
	}
	case GGML_TYPE_Q4_0:
		dequantize_q4_0(src, dst, n / QK4_0);
		break;
	case GGML_TYPE_Q8_0:
		dequantize_q8_0(src, dst, n / QK8_0);
		break;
	case GGML_TYPE_Q6_K:
		dequantize_q6_k(src, dst, n / QK_K);
		break;
	default:
		memset(dst, 0, (size_t)n * sizeof(float)); /* unreachable: types are checked at load */
		break;
	}
}

float quant_dot(uint32_t type, const void *src, const float *x, int64_t n)
{
	pthread_once(&fp16_table_once, fill_fp16_table);
	float sum;
	switch (type) {
	case GGML_TYPE_F32: {
		const float *w = src;
#define AT(i) w[i]
		DOT8(sum, n, AT, x);
#undef AT
		return sum;
	}
	case GGML_TYPE_F16: {
		const uint16_t *w = src;
#define AT(i) FP16(w[i])
		DOT8(sum, n, AT, x);
#undef AT
		return sum;
	}
	case GGML_TYPE_BF16: {
		const uint16_t *w = src;
#define AT(i) bf16_to_f32(w[i])
		DOT8(sum, n, AT, x);
#undef AT
		return sum;
	}
	case GGML_TYPE_Q4_0: {
		const struct block_q4_0 *b = src;
		sum = 0;
		for (int64_t i = 0; i < n / QK4_0; i++, b++, x += QK4_0) {
			float lo[QK4_0 / 2] = { 0 }, s = 0;
			for (int j = 0; j < QK4_0 / 2; j++)
				lo[j] = ((b->qs[j] & 0x0f) - 8) * x[j] + ((b->qs[j] >> 4) - 8) * x[j + QK4_0 / 2];
			for (int j = 0; j < QK4_0 / 2; j++)
				s += lo[j];
			sum += FP16(b->d) * s;
		}
		return sum;
	}
	case GGML_TYPE_Q8_0: {
		const struct block_q8_0 *b = src;
		sum = 0;
		for (int64_t i = 0; i < n / QK8_0; i++, b++, x += QK8_0) {
			float s;
			const int8_t *q = b->qs;
#define AT(j) q[j]
			DOT8(s, QK8_0, AT, x);
#undef AT
			sum += FP16(b->d) * s;
		}
		return sum;
	}
	default: {
		/* Block types without a direct loop: dequantize a block at a time. */
		const struct type_traits *t = quant_traits(type);
		const uint8_t *p = src;
		float tmp[QK_K];
		sum = 0;
		for (int64_t i = 0; i < n; i += t->block_size, p += t->type_size) {
			quant_dequantize(type, p, tmp, t->block_size);
			for (uint32_t j = 0; j < t->block_size; j++)
				sum += tmp[j] * x[i + j];
		}
		return sum;
	}
	}
}
