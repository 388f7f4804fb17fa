/* quant_impl.h - the kernel table behind quant.h, private to the quant*.c
 * and cpu_avx2*.c files.  Each file registers the kernels of one family;
 * the AVX2 files then replace what they do faster. */
#ifndef NIBBLE_QUANT_IMPL_H
#define NIBBLE_QUANT_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "quant/quant.h"

typedef void quant_to_float_fn(const void *src, float *dst, int64_t n);
typedef void quant_from_float_fn(const float *src, void *dst, int64_t n);
typedef float quant_vec_dot_fn(const void *w, const void *act, int64_t n);
typedef void quant_vec_dot_rows_fn(const void *w, const void *act, size_t act_stride, int n_rows, int64_t n,
				   float *out, size_t out_stride);
typedef void quant_vec_dot_tile_fn(const void *w, size_t w_stride, int n_w, const void *act, size_t act_stride,
				   int n_act, int64_t n, float *out, size_t out_stride);

struct quant_kernels {
	quant_to_float_fn *to_float[GGML_TYPE_COUNT];
	quant_from_float_fn *from_float[GGML_TYPE_COUNT];
	quant_vec_dot_fn *vec_dot[GGML_TYPE_COUNT];
	quant_vec_dot_rows_fn *vec_dot_rows[GGML_TYPE_COUNT]; /* optional: NULL loops over vec_dot */
	quant_vec_dot_tile_fn *vec_dot_tile[GGML_TYPE_COUNT]; /* optional: NULL loops over vec_dot_rows */
	const char *name;
};

/* The scalar reference (quant.c, quant_legacy.c, quant_kquants.c). */
void quant_register_float(struct quant_kernels *k);
void quant_register_legacy(struct quant_kernels *k);
void quant_register_kquants(struct quant_kernels *k);
/* The k-quants' reference quantizers (quant_kquants_quantize.c). */
void quant_register_kquants_quantize(struct quant_kernels *k);
/* The AVX2/FMA/F16C kernels (cpu_avx2*.c), when built. */
void quant_register_avx2(struct quant_kernels *k);

/* The scalar reference and the kernels in use, for tests that compare them. */
const struct quant_kernels *quant_kernels_scalar(void);
const struct quant_kernels *quant_kernels_active(void);

/* The 16 values an IQ4_NL or IQ4_XS quant stands for (times the scale). */
static const int8_t quant_iq4nl_values[16] = { -127, -104, -83, -65, -49, -35, -22, -10,
					       1,    13,   25,  38,  53,  69,  89,  113 };

/* Every fp16 value as float, filled before any kernel runs. */
extern float quant_fp16_table[1 << 16];
#define FP16(h) (quant_fp16_table[(uint16_t)(h)])

#endif
