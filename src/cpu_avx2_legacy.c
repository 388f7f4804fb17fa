/* cpu_avx2_legacy.c - AVX2 kernels of the 32-weight block types (Q4_0,
 * Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL) and their Q8_0/Q8_1 activations. */
#include "config.h"

#include "cpu_avx2.h"

void quant_register_avx2_legacy(struct quant_kernels *k)
{
	(void)k; /* none yet: the scalar reference serves */
}
