/* quant.h - GGML tensor types: block layouts, per-type traits, half-precision
 * conversions, and the scalar reference (de)quantization and dot products
 * that define what each type means. */
#ifndef NIBBLE_QUANT_H
#define NIBBLE_QUANT_H

#include <stdbool.h>
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
#define QK8_0 32
#define QK_K 256

/* 4-bit: 32 weights, one scale; weight = d * (q - 8). */
struct block_q4_0 {
	uint16_t d;           /* fp16 scale */
	uint8_t qs[QK4_0 / 2]; /* low nibbles: weights 0..15, high nibbles: 16..31 */
};
_Static_assert(sizeof(struct block_q4_0) == 18, "block_q4_0 layout");

/* 8-bit: 32 weights, one scale; weight = d * q. */
struct block_q8_0 {
	uint16_t d; /* fp16 scale */
	int8_t qs[QK8_0];
};
_Static_assert(sizeof(struct block_q8_0) == 34, "block_q8_0 layout");

/* 6-bit k-quant: 256 weights in 16 groups of 16, each with an int8 scale;
 * weight = d * scale * (q - 32), q = 4 low bits from ql, 2 high bits from qh. */
struct block_q6_k {
	uint8_t ql[QK_K / 2];
	uint8_t qh[QK_K / 4];
	int8_t scales[QK_K / 16];
	uint16_t d; /* fp16 super-block scale */
};
_Static_assert(sizeof(struct block_q6_k) == 210, "block_q6_k layout");

struct type_traits {
	const char *name;     /* NULL: no such type id */
	uint32_t block_size;  /* weights per block */
	uint32_t type_size;   /* bytes per block */
	bool cpu;             /* the CPU backend computes with it */
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

/* Dequantizes n weights (a multiple of the type's block size) starting at a
 * block boundary.  The type must have cpu traits. */
void quant_dequantize(uint32_t type, const void *src, float *dst, int64_t n);
/* Dot product of n quantized weights with the float vector x. */
float quant_dot(uint32_t type, const void *src, const float *x, int64_t n);

#endif
