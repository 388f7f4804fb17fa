/* cpu_avx2.h - helpers shared by the AVX2 kernel files (cpu_avx2*.c, which
 * alone are compiled with -mavx2 -mfma -mf16c). */
#ifndef NIBBLE_CPU_AVX2_H
#define NIBBLE_CPU_AVX2_H

#include <immintrin.h>

#include "quant_impl.h"

/* Horizontal sum of 8 floats. */
static inline float hsum_ps(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* Kernels written once for any number of activation rows R: inlined where
 * R is a constant, so each R gets its own straight-line code. */
#define AVX2_INLINE static inline __attribute__((always_inline))

/* Defines NAME_vec_dot (one activation row) and NAME_vec_dot_rows (tiles of
 * 4 activation rows, then the 1-3 left) from TILE(w, act, act_stride, R, n,
 * out, out_stride), an AVX2_INLINE function that dots one weight row with R
 * activation rows, reading each weight block once for all of them. */
#define AVX2_DOT_KERNELS(name, tile)                                                                       \
	static float name##_vec_dot(const void *w, const void *act, int64_t n)                             \
	{                                                                                                  \
		float out;                                                                                 \
		tile(w, act, 0, 1, n, &out, 1);                                                            \
		return out;                                                                                \
	}                                                                                                  \
	static void name##_vec_dot_rows(const void *w, const void *act, size_t act_stride, int n_rows,     \
					int64_t n, float *out, size_t out_stride)                          \
	{                                                                                                  \
		const uint8_t *a = act;                                                                    \
		int r = 0;                                                                                 \
		for (; r + 4 <= n_rows; r += 4)                                                            \
			tile(w, a + r * act_stride, act_stride, 4, n, out + r * out_stride, out_stride);   \
		if (n_rows - r == 3)                                                                       \
			tile(w, a + r * act_stride, act_stride, 3, n, out + r * out_stride, out_stride);   \
		else if (n_rows - r == 2)                                                                  \
			tile(w, a + r * act_stride, act_stride, 2, n, out + r * out_stride, out_stride);   \
		else if (n_rows - r == 1)                                                                  \
			tile(w, a + r * act_stride, act_stride, 1, n, out + r * out_stride, out_stride);   \
	}

/* The families' kernels (cpu_avx2_legacy.c, cpu_avx2_kquants.c). */
void quant_register_avx2_legacy(struct quant_kernels *k);
void quant_register_avx2_kquants(struct quant_kernels *k);

#endif
