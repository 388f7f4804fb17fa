/* cpu_avx2_kquants.c - AVX2 kernels of the k-quants (Q2_K ... Q6_K,
 * IQ4_XS) and their Q8_K activations. */
#include "config.h"

#include "cpu_avx2.h"

void quant_register_avx2_kquants(struct quant_kernels *k)
{
	(void)k; /* none yet: the scalar reference serves */
}
