/* cpu_avx2.h - helpers shared by the AVX2 kernel files (cpu_avx2*.c, which
 * alone are compiled with -mavx2 -mfma -mf16c). */
#ifndef NIBBLE_CPU_AVX2_H
#define NIBBLE_CPU_AVX2_H

#include <immintrin.h>

#include "quant/kernels.h"

/* Horizontal sum of 8 floats. */
static inline float hsum_ps(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

/* The kernels' building blocks, inlined so that arguments known at the
 * call (a block type, a number of rows) become straight-line code. */
#define AVX2_INLINE static inline __attribute__((always_inline))

/* Largest of 8 floats. */
static inline float hmax_ps(__m256 v)
{
	__m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	m = _mm_max_ps(m, _mm_movehl_ps(m, m));
	m = _mm_max_ss(m, _mm_movehdup_ps(m));
	return _mm_cvtss_f32(m);
}

/* 32 int32 (each in -128..127) as 32 bytes in order: the packs interleave
 * 128-bit lanes, the permute restores the order. */
static inline __m256i pack_epi32_epi8(__m256i q0, __m256i q1, __m256i q2, __m256i q3)
{
	__m256i q = _mm256_packs_epi16(_mm256_packs_epi32(q0, q1), _mm256_packs_epi32(q2, q3));
	return _mm256_permutevar8x32_epi32(q, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* The families' kernels (cpu_avx2_legacy.c, cpu_avx2_kquants.c). */
void quant_register_avx2_legacy(struct quant_kernels *k);
void quant_register_avx2_kquants(struct quant_kernels *k);

#endif
