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

/* The families' kernels (cpu_avx2_legacy.c, cpu_avx2_kquants.c). */
void quant_register_avx2_legacy(struct quant_kernels *k);
void quant_register_avx2_kquants(struct quant_kernels *k);

#endif
