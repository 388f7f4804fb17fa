/* quant.h - GGML tensor types: block layouts, per-type traits, half-precision
 * conversions, and the kernels that (de)quantize and take dot products,
 * chosen at run time (AVX2 when the CPU has it, the scalar reference
 * otherwise). */
#ifndef NIBBLE_QUANT_H
#define NIBBLE_QUANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Type ids as stored in GGUF tensor infos. */
enum ggml_type {
	GGML_TYPE_F32 = 0,
	GGML_TYPE_F16 = 1,
	GGML_TYPE_Q4_0 = 2,
	GGML_TYPE_Q4_1 = 3,
	GGML_TYPE_Q5_0 = 6,
	GGML_TYPE_Q5_1 = 7,
	GGML_TYPE_Q8_0 = 8,
	GGML_TYPE_Q8_1 = 9,
	GGML_TYPE_Q2_K = 10,
	GGML_TYPE_Q3_K = 11,
	GGML_TYPE_Q4_K = 12,
	GGML_TYPE_Q5_K = 13,
	GGML_TYPE_Q6_K = 14,
	GGML_TYPE_Q8_K = 15,
	GGML_TYPE_IQ2_XXS = 16,
	GGML_TYPE_IQ2_XS = 17,
	GGML_TYPE_IQ3_XXS = 18,
	GGML_TYPE_IQ1_S = 19,
	GGML_TYPE_IQ4_NL = 20,
	GGML_TYPE_IQ3_S = 21,
	GGML_TYPE_IQ2_S = 22,
	GGML_TYPE_IQ4_XS = 23,
	GGML_TYPE_I8 = 24,
	GGML_TYPE_I16 = 25,
	GGML_TYPE_I32 = 26,
	GGML_TYPE_I64 = 27,
	GGML_TYPE_F64 = 28,
	GGML_TYPE_IQ1_M = 29,
	GGML_TYPE_BF16 = 30,
	GGML_TYPE_TQ1_0 = 34,
	GGML_TYPE_TQ2_0 = 35,
	GGML_TYPE_MXFP4 = 39,
	GGML_TYPE_COUNT = 40,
};

#define QK4_0 32
#define QK4_1 32
#define QK5_0 32
#define QK5_1 32
#define QK8_0 32
#define QK8_1 32
#define QK4_NL 32
#define QK_K 256
#define K_SCALE_SIZE 12

/* The block layouts, as GGUF files store them.  d, m, dmin: fp16. */

/* 4-bit: weight = d * (q - 8); low nibbles are weights 0..15, high 16..31 */
struct block_q4_0 {
	uint16_t d;
	uint8_t qs[QK4_0 / 2];
};
_Static_assert(sizeof(struct block_q4_0) == 18, "block_q4_0 layout");

/* 4-bit with a minimum: weight = d * q + m */
struct block_q4_1 {
	uint16_t d, m;
	uint8_t qs[QK4_1 / 2];
};
_Static_assert(sizeof(struct block_q4_1) == 20, "block_q4_1 layout");

/* 5-bit: weight = d * (q - 16); qh holds the fifth bit of each weight */
struct block_q5_0 {
	uint16_t d;
	uint8_t qh[4];
	uint8_t qs[QK5_0 / 2];
};
_Static_assert(sizeof(struct block_q5_0) == 22, "block_q5_0 layout");

/* 5-bit with a minimum: weight = d * q + m */
struct block_q5_1 {
	uint16_t d, m;
	uint8_t qh[4];
	uint8_t qs[QK5_1 / 2];
};
_Static_assert(sizeof(struct block_q5_1) == 24, "block_q5_1 layout");

/* 8-bit: weight = d * q */
struct block_q8_0 {
	uint16_t d;
	int8_t qs[QK8_0];
};
_Static_assert(sizeof(struct block_q8_0) == 34, "block_q8_0 layout");

/* 8-bit activations for Q4_1/Q5_1 dot products: s = d * sum(qs) */
struct block_q8_1 {
	uint16_t d, s;
	int8_t qs[QK8_1];
};
_Static_assert(sizeof(struct block_q8_1) == 36, "block_q8_1 layout");

/* 2-bit k-quant: 16 groups of 16, 4-bit scale and min per group */
struct block_q2_k {
	uint8_t scales[QK_K / 16];
	uint8_t qs[QK_K / 4];
	uint16_t d, dmin;
};
_Static_assert(sizeof(struct block_q2_k) == 84, "block_q2_k layout");

/* 3-bit k-quant: 16 groups of 16, 6-bit scales; hmask holds the high bit */
struct block_q3_k {
	uint8_t hmask[QK_K / 8];
	uint8_t qs[QK_K / 4];
	uint8_t scales[K_SCALE_SIZE];
	uint16_t d;
};
_Static_assert(sizeof(struct block_q3_k) == 110, "block_q3_k layout");

/* 4-bit k-quant: 8 groups of 32, 6-bit scale and min per group */
struct block_q4_k {
	uint16_t d, dmin;
	uint8_t scales[K_SCALE_SIZE];
	uint8_t qs[QK_K / 2];
};
_Static_assert(sizeof(struct block_q4_k) == 144, "block_q4_k layout");

/* 5-bit k-quant: like Q4_K plus a high bit per weight in qh */
struct block_q5_k {
	uint16_t d, dmin;
	uint8_t scales[K_SCALE_SIZE];
	uint8_t qh[QK_K / 8];
	uint8_t qs[QK_K / 2];
};
_Static_assert(sizeof(struct block_q5_k) == 176, "block_q5_k layout");

/* 6-bit k-quant: 16 groups of 16 with int8 scales; weight = d * scale *
 * (q - 32), q = 4 low bits from ql, 2 high bits from qh */
struct block_q6_k {
	uint8_t ql[QK_K / 2];
	uint8_t qh[QK_K / 4];
	int8_t scales[QK_K / 16];
	uint16_t d;
};
_Static_assert(sizeof(struct block_q6_k) == 210, "block_q6_k layout");

/* 8-bit activations for k-quant dot products; bsums: sums of 16 qs each */
struct block_q8_k {
	float d;
	int8_t qs[QK_K];
	int16_t bsums[QK_K / 16];
};
_Static_assert(sizeof(struct block_q8_k) == 292, "block_q8_k layout");

/* 4-bit non-linear: q indexes a fixed table of 16 values; weight = d * table[q] */
struct block_iq4_nl {
	uint16_t d;
	uint8_t qs[QK4_NL / 2];
};
_Static_assert(sizeof(struct block_iq4_nl) == 18, "block_iq4_nl layout");

/* IQ4_NL values in 8 groups of 32 with 6-bit scales (4 low bits in
 * scales_l, 2 high bits in scales_h) */
struct block_iq4_xs {
	uint16_t d;
	uint16_t scales_h;
	uint8_t scales_l[QK_K / 64];
	uint8_t qs[QK_K / 2];
};
_Static_assert(sizeof(struct block_iq4_xs) == 136, "block_iq4_xs layout");

struct type_traits {
	const char *name;      /* NULL: no such type id */
	uint32_t block_size;   /* weights per block */
	uint32_t type_size;    /* bytes per block */
	uint32_t vec_dot_type; /* what activations are quantized to for quant_vec_dot */
};

/* Traits of a type id, or NULL when the id is unknown. */
const struct type_traits *quant_traits(uint32_t type);
/* The type's name ("Q4_0"), or "type N" for unknown ids (static buffer). */
const char *quant_name(uint32_t type);

/* The name of a file type (general.file_type, llama.cpp's "ftype", e.g.
 * 15 = "Q4_K_M"), or NULL when unknown. */
const char *quant_file_type_name(uint32_t ftype);

float fp16_to_f32(uint16_t h);
uint16_t f32_to_fp16(float f); /* round to nearest even */
float bf16_to_f32(uint16_t h);

/* Whether the CPU computes with this type. */
bool quant_supported(uint32_t type);
/* Whether this build has the type's reference quantizer, which `nibble
 * quantize` needs to make tensors of that type. */
bool quant_can_quantize(uint32_t type);
/* The names of the types the CPU computes with, comma-separated. */
const char *quant_supported_list(void);
/* "AVX2" or "scalar": the kernels in use (NIBBLE_KERNELS=scalar forces the
 * scalar reference). */
const char *quant_kernels_name(void);

/* In all of these, n is a multiple of the type's block size and data starts
 * at a block boundary; the type must be supported. */

/* n weights as floats. */
void quant_dequantize(uint32_t type, const void *src, float *dst, int64_t n);
/* n floats as blocks of type (the reference quantizer: activations, and
 * `nibble quantize` without an importance matrix). */
void quant_quantize(uint32_t type, const float *src, void *dst, int64_t n);
/* The dot product of n weights of type with n activations already
 * quantized to the type's vec_dot_type. */
float quant_vec_dot(uint32_t type, const void *w, const void *act, int64_t n);
/* out[r * out_stride] = quant_vec_dot(type, w, act + r * act_stride, n) for
 * r < n_rows: one weight row against several activation rows, which lets a
 * kernel decode the weights once. */
void quant_vec_dot_rows(uint32_t type, const void *w, const void *act, size_t act_stride, int n_rows, int64_t n,
			float *out, size_t out_stride);
/* out[a * out_stride + j] = quant_vec_dot(type, w + j * w_stride, act +
 * a * act_stride, n) for j < n_w, a < n_act: a tile of the matrix product,
 * which lets a kernel share work between weight rows too (the scales of
 * several rows in one register, one activation block for all of them). */
void quant_vec_dot_tile(uint32_t type, const void *w, size_t w_stride, int n_w, const void *act, size_t act_stride,
			int n_act, int64_t n, float *out, size_t out_stride);

/* Bytes of n values of type. */
static inline uint64_t quant_row_bytes(uint32_t type, int64_t n)
{
	const struct type_traits *t = quant_traits(type);
	return (uint64_t)n / t->block_size * t->type_size;
}

#endif
