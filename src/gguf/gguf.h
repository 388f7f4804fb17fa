/* gguf.h - read-only access to GGUF files (v2 and v3): metadata, tensor infos
 * and tensor data, all validated against the mapped file.  Knows nothing of
 * LLMs. */
#ifndef NIBBLE_GGUF_H
#define NIBBLE_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/strmap.h"

enum gguf_value_type {
	GGUF_TYPE_UINT8 = 0,
	GGUF_TYPE_INT8 = 1,
	GGUF_TYPE_UINT16 = 2,
	GGUF_TYPE_INT16 = 3,
	GGUF_TYPE_UINT32 = 4,
	GGUF_TYPE_INT32 = 5,
	GGUF_TYPE_FLOAT32 = 6,
	GGUF_TYPE_BOOL = 7,
	GGUF_TYPE_STRING = 8,
	GGUF_TYPE_ARRAY = 9,
	GGUF_TYPE_UINT64 = 10,
	GGUF_TYPE_INT64 = 11,
	GGUF_TYPE_FLOAT64 = 12,
	GGUF_TYPE_COUNT
};

#define GGUF_MAX_DIMS 4
#define GGUF_DEFAULT_ALIGNMENT 32

/* A string inside the mapping: not NUL-terminated. */
struct gguf_str {
	const char *ptr;
	uint64_t len;
};

struct gguf_value {
	uint32_t type; /* enum gguf_value_type */
	union {
		uint64_t u;           /* unsigned integers and bool */
		int64_t i;            /* signed integers */
		double f;             /* FLOAT32, FLOAT64 */
		struct gguf_str str;  /* STRING */
		struct gguf_array {
			uint32_t type;            /* element type */
			uint64_t count;
			const uint8_t *data;      /* scalar elements, little-endian, unaligned */
			struct gguf_str *strs;    /* STRING elements */
			struct gguf_value *items; /* ARRAY elements (nested arrays) */
		} arr;
	};
};

struct gguf_kv {
	struct gguf_str key;
	struct gguf_value value;
};

struct gguf_tensor {
	struct gguf_str name;
	uint32_t n_dims;
	int64_t ne[GGUF_MAX_DIMS]; /* ne[0] is the contiguous dimension; unused dims are 1 */
	uint32_t type;             /* enum ggml_type */
	uint64_t offset;           /* from the start of the data section */
	uint64_t n_elements;
	uint64_t n_bytes;
	const void *data;          /* inside the mapping */
};

struct gguf {
	char *path;
	const uint8_t *map;
	size_t size;
	uint32_t version;
	uint32_t alignment;
	uint64_t data_offset;
	uint64_t n_kv;
	struct gguf_kv *kvs;
	uint64_t n_tensors;
	struct gguf_tensor *tensors;
	struct strmap kv_index, tensor_index;
};

/* Maps and validates PATH.  Returns NULL with error() set on any problem;
 * the message names the file's problem but not the path. */
struct gguf *gguf_open(const char *path);
void gguf_close(struct gguf *g);

/* Size in bytes of one scalar value type, 0 for STRING/ARRAY/unknown. */
size_t gguf_type_size(uint32_t type);
const char *gguf_type_name(uint32_t type);

/* Metadata lookup; NULL when absent. */
const struct gguf_kv *gguf_find(const struct gguf *g, const char *key);
const struct gguf_tensor *gguf_find_tensor(const struct gguf *g, const char *name);

/* Typed getters.  Return 1 when found and converted, 0 when absent, and -1
 * (with error()) when present with a type or value that does not fit. */
int gguf_get_u32(const struct gguf *g, const char *key, uint32_t *out);
int gguf_get_i64(const struct gguf *g, const char *key, int64_t *out);
int gguf_get_f32(const struct gguf *g, const char *key, float *out);
int gguf_get_bool(const struct gguf *g, const char *key, bool *out);
int gguf_get_str(const struct gguf *g, const char *key, struct gguf_str *out);
/* An array whose elements have type elem_type (any type: pass GGUF_TYPE_COUNT). */
int gguf_get_arr(const struct gguf *g, const char *key, uint32_t elem_type,
		 const struct gguf_array **out);

/* Element i of a scalar array, converted. */
double gguf_arr_f64(const struct gguf_array *a, uint64_t i);
int64_t gguf_arr_i64(const struct gguf_array *a, uint64_t i);

/* true when s equals the C string c. */
bool gguf_str_eq(struct gguf_str s, const char *c);

#endif
