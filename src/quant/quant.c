/* quant.c - type traits, half-precision conversions, the float types'
 * kernels, and the choice of kernels at run time.  The scalar kernels (here,
 * quant_legacy.c and quant_kquants.c) are the specification; faster ones are
 * checked against them. */
#include "config.h"

#include "quant/quant.h"
#include "quant/kernels.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TYPE(id, nm, bs, ts, act) [GGML_TYPE_##id] = { nm, bs, ts, GGML_TYPE_##act }
static const struct type_traits traits[GGML_TYPE_COUNT] = {
	TYPE(F32, "F32", 1, 4, F32),
	TYPE(F16, "F16", 1, 2, F32),
	TYPE(Q4_0, "Q4_0", 32, 18, Q8_0),
	TYPE(Q4_1, "Q4_1", 32, 20, Q8_1),
	TYPE(Q5_0, "Q5_0", 32, 22, Q8_0),
	TYPE(Q5_1, "Q5_1", 32, 24, Q8_1),
	TYPE(Q8_0, "Q8_0", 32, 34, Q8_0),
	TYPE(Q8_1, "Q8_1", 32, 36, Q8_1),
	TYPE(Q2_K, "Q2_K", 256, 84, Q8_K),
	TYPE(Q3_K, "Q3_K", 256, 110, Q8_K),
	TYPE(Q4_K, "Q4_K", 256, 144, Q8_K),
	TYPE(Q5_K, "Q5_K", 256, 176, Q8_K),
	TYPE(Q6_K, "Q6_K", 256, 210, Q8_K),
	TYPE(Q8_K, "Q8_K", 256, 292, Q8_K),
	TYPE(IQ2_XXS, "IQ2_XXS", 256, 66, F32),
	TYPE(IQ2_XS, "IQ2_XS", 256, 74, F32),
	TYPE(IQ3_XXS, "IQ3_XXS", 256, 98, F32),
	TYPE(IQ1_S, "IQ1_S", 256, 50, F32),
	TYPE(IQ4_NL, "IQ4_NL", 32, 18, Q8_0),
	TYPE(IQ3_S, "IQ3_S", 256, 110, F32),
	TYPE(IQ2_S, "IQ2_S", 256, 82, F32),
	TYPE(IQ4_XS, "IQ4_XS", 256, 136, Q8_K),
	TYPE(I8, "I8", 1, 1, F32),
	TYPE(I16, "I16", 1, 2, F32),
	TYPE(I32, "I32", 1, 4, F32),
	TYPE(I64, "I64", 1, 8, F32),
	TYPE(F64, "F64", 1, 8, F32),
	TYPE(IQ1_M, "IQ1_M", 256, 56, F32),
	TYPE(BF16, "BF16", 1, 2, F32),
	TYPE(TQ1_0, "TQ1_0", 256, 54, F32),
	TYPE(TQ2_0, "TQ2_0", 256, 66, F32),
	TYPE(MXFP4, "MXFP4", 32, 17, F32),
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

float quant_fp16_table[1 << 16];

/* ---- the float types ---------------------------------------------------- */

/* Sums of products in 8 independent lanes, which compilers turn into SIMD
 * without reassociating a single running sum. */
#define DOT8(out, n, weight_at, x)                                            \
	do {                                                                  \
		float lane_[8] = { 0 };                                       \
		int64_t i_ = 0;                                               \
		for (; i_ + 8 <= (n); i_ += 8)                                \
			for (int k_ = 0; k_ < 8; k_++)                        \
				lane_[k_] += (weight_at(i_ + k_)) * (x)[i_ + k_]; \
		for (; i_ < (n); i_++)                                        \
			lane_[0] += (weight_at(i_)) * (x)[i_];                \
		out = ((lane_[0] + lane_[4]) + (lane_[1] + lane_[5])) +       \
		      ((lane_[2] + lane_[6]) + (lane_[3] + lane_[7]));        \
	} while (0)

static void f32_to_float(const void *src, float *dst, int64_t n)
{
	memcpy(dst, src, (size_t)n * sizeof *dst);
}

static void f16_to_float(const void *src, float *dst, int64_t n)
{
	const uint16_t *h = src;
	for (int64_t i = 0; i < n; i++)
		dst[i] = FP16(h[i]);
}

static void bf16_to_float(const void *src, float *dst, int64_t n)
{
	const uint16_t *h = src;
	for (int64_t i = 0; i < n; i++)
		dst[i] = bf16_to_f32(h[i]);
}

static void f32_from_float(const float *src, void *dst, int64_t n)
{
	memcpy(dst, src, (size_t)n * sizeof *src);
}

static void f16_from_float(const float *src, void *dst, int64_t n)
{
	uint16_t *h = dst;
	for (int64_t i = 0; i < n; i++)
		h[i] = f32_to_fp16(src[i]);
}

static void bf16_from_float(const float *src, void *dst, int64_t n)
{
	uint16_t *h = dst;
	for (int64_t i = 0; i < n; i++) {
		uint32_t u = f32_to_bits(src[i]);
		if ((u & 0x7fffffffu) > 0x7f800000u)
			h[i] = (uint16_t)(u >> 16 | 0x40); /* a quiet nan */
		else
			h[i] = (uint16_t)((u + 0x7fff + (u >> 16 & 1)) >> 16); /* round to nearest even */
	}
}

static float f32_vec_dot(const void *w, const void *act, int64_t n)
{
	const float *a = w, *x = act;
	float sum;
#define AT(i) a[i]
	DOT8(sum, n, AT, x);
#undef AT
	return sum;
}

static float f16_vec_dot(const void *w, const void *act, int64_t n)
{
	const uint16_t *a = w;
	const float *x = act;
	float sum;
#define AT(i) FP16(a[i])
	DOT8(sum, n, AT, x);
#undef AT
	return sum;
}

static float bf16_vec_dot(const void *w, const void *act, int64_t n)
{
	const uint16_t *a = w;
	const float *x = act;
	float sum;
#define AT(i) bf16_to_f32(a[i])
	DOT8(sum, n, AT, x);
#undef AT
	return sum;
}

void quant_register_float(struct quant_kernels *k)
{
	k->to_float[GGML_TYPE_F32] = f32_to_float;
	k->to_float[GGML_TYPE_F16] = f16_to_float;
	k->to_float[GGML_TYPE_BF16] = bf16_to_float;
	k->from_float[GGML_TYPE_F32] = f32_from_float;
	k->from_float[GGML_TYPE_F16] = f16_from_float;
	k->from_float[GGML_TYPE_BF16] = bf16_from_float;
	k->vec_dot[GGML_TYPE_F32] = f32_vec_dot;
	k->vec_dot[GGML_TYPE_F16] = f16_vec_dot;
	k->vec_dot[GGML_TYPE_BF16] = bf16_vec_dot;
}

/* ---- the choice of kernels ---------------------------------------------- */

static struct quant_kernels scalar, active;
static pthread_once_t kernels_once = PTHREAD_ONCE_INIT;
static char supported_list[256];

static bool computes(const struct quant_kernels *k, uint32_t type)
{
	return k->to_float[type] && k->vec_dot[type] && k->from_float[traits[type].vec_dot_type];
}

static void choose_kernels(void)
{
	for (uint32_t h = 0; h < 1u << 16; h++)
		quant_fp16_table[h] = fp16_to_f32((uint16_t)h);
	scalar.name = "scalar";
	quant_register_float(&scalar);
	quant_register_legacy(&scalar);
	quant_register_kquants(&scalar);
	active = scalar;
	for (uint32_t t = 0; t < GGML_TYPE_COUNT; t++) {
		size_t len = strlen(supported_list);
		if (traits[t].name && t != GGML_TYPE_Q8_1 && t != GGML_TYPE_Q8_K && computes(&scalar, t))
			snprintf(supported_list + len, sizeof supported_list - len, "%s%s", len ? ", " : "", traits[t].name);
	}
#ifdef HAVE_AVX2_KERNELS
	const char *want = getenv("NIBBLE_KERNELS");
	__builtin_cpu_init();
	if (!(want && !strcmp(want, "scalar")) && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
	    __builtin_cpu_supports("f16c"))
		quant_register_avx2(&active);
#endif
}

static const struct quant_kernels *kernels(void)
{
	pthread_once(&kernels_once, choose_kernels);
	return &active;
}

const struct quant_kernels *quant_kernels_scalar(void)
{
	pthread_once(&kernels_once, choose_kernels);
	return &scalar;
}

const struct quant_kernels *quant_kernels_active(void)
{
	return kernels();
}

const char *quant_kernels_name(void)
{
	return kernels()->name;
}

bool quant_supported(uint32_t type)
{
	return type < GGML_TYPE_COUNT && computes(kernels(), type);
}

bool quant_can_quantize(uint32_t type)
{
	return quant_traits(type) && kernels()->from_float[type];
}

const char *quant_supported_list(void)
{
	kernels();
	return supported_list;
}

void quant_dequantize(uint32_t type, const void *src, float *dst, int64_t n)
{
	kernels()->to_float[type](src, dst, n);
}

void quant_quantize(uint32_t type, const float *src, void *dst, int64_t n)
{
	kernels()->from_float[type](src, dst, n);
}

float quant_vec_dot(uint32_t type, const void *w, const void *act, int64_t n)
{
	return kernels()->vec_dot[type](w, act, n);
}

void quant_vec_dot_rows(uint32_t type, const void *w, const void *act, size_t act_stride, int n_rows, int64_t n,
			float *out, size_t out_stride)
{
	const struct quant_kernels *k = kernels();
	if (k->vec_dot_rows[type]) {
		k->vec_dot_rows[type](w, act, act_stride, n_rows, n, out, out_stride);
		return;
	}
	for (int r = 0; r < n_rows; r++)
		out[(size_t)r * out_stride] = k->vec_dot[type](w, (const uint8_t *)act + (size_t)r * act_stride, n);
}

void quant_vec_dot_tile(uint32_t type, const void *w, size_t w_stride, int n_w, const void *act, size_t act_stride,
			int n_act, int64_t n, float *out, size_t out_stride)
{
	const struct quant_kernels *k = kernels();
	if (k->vec_dot_tile[type]) {
		k->vec_dot_tile[type](w, w_stride, n_w, act, act_stride, n_act, n, out, out_stride);
		return;
	}
	for (int j = 0; j < n_w; j++)
		quant_vec_dot_rows(type, (const uint8_t *)w + (size_t)j * w_stride, act, act_stride, n_act, n, out + j,
				   out_stride);
}
