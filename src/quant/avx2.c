/* cpu_avx2.c - AVX2/FMA/F16C kernels for the float types, and the table
 * of all AVX2 kernels.  These files are compiled on their own with those
 * instruction sets enabled and chosen at run time only on CPUs that have
 * them.  Each kernel replaces its scalar reference in the kernel table;
 * tests compare the two on random blocks. */
#include "config.h"

#include "quant/avx2.h"

static float f32_vec_dot(const void *w, const void *act, int64_t n)
{
	const float *a = w, *x = act;
	__m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
	int64_t i = 0;
	for (; i + 16 <= n; i += 16) {
		acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(x + i), acc0);
		acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(x + i + 8), acc1);
	}
	float sum = hsum_ps(_mm256_add_ps(acc0, acc1));
	for (; i < n; i++)
		sum += a[i] * x[i];
	return sum;
}

static float f16_vec_dot(const void *w, const void *act, int64_t n)
{
	const uint16_t *a = w;
	const float *x = act;
	__m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
	int64_t i = 0;
	for (; i + 16 <= n; i += 16) {
		__m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(a + i)));
		__m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(a + i + 8)));
		acc0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + i), acc0);
		acc1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + i + 8), acc1);
	}
	float sum = hsum_ps(_mm256_add_ps(acc0, acc1));
	for (; i < n; i++)
		sum += FP16(a[i]) * x[i];
	return sum;
}

static void f16_to_float(const void *src, float *dst, int64_t n)
{
	const uint16_t *h = src;
	int64_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))));
	for (; i < n; i++)
		dst[i] = FP16(h[i]);
}

void quant_register_avx2(struct quant_kernels *k)
{
	k->name = "AVX2";
	k->vec_dot[GGML_TYPE_F32] = f32_vec_dot;
	k->vec_dot[GGML_TYPE_F16] = f16_vec_dot;
	k->to_float[GGML_TYPE_F16] = f16_to_float;
	quant_register_avx2_legacy(k);
	quant_register_avx2_kquants(k);
}
