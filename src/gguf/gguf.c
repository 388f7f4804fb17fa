/* gguf.c - map a GGUF file and parse it without trusting a single byte:
 * every count, length, dimension and offset is checked for overflow and
 * against the file size before it is used. */
#include "config.h"

#include "gguf/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "quant/quant.h"
#include "base/util.h"

#define GGUF_MAGIC 0x46554747u /* "GGUF" read as a little-endian u32 */
#define MAX_ARRAY_DEPTH 8
#define MAX_KEY_LEN 65535
#define MAX_NAME_LEN 255

struct cursor {
	const uint8_t *base;
	size_t pos, size;
};

static int need(struct cursor *c, uint64_t n, const char *what)
{
	if (n > c->size - c->pos)
		return error("truncated file: %s at offset %zu needs %" PRIu64 " bytes, %zu left",
			     what, c->pos, n, c->size - c->pos);
	return 0;
}

static int read_raw(struct cursor *c, void *out, size_t n, const char *what)
{
	if (need(c, n, what) < 0)
		return -1;
	memcpy(out, c->base + c->pos, n); /* files are little-endian, as are we */
	c->pos += n;
	return 0;
}

static int read_u32(struct cursor *c, uint32_t *v, const char *what)
{
	return read_raw(c, v, sizeof *v, what);
}

static int read_u64(struct cursor *c, uint64_t *v, const char *what)
{
	return read_raw(c, v, sizeof *v, what);
}

static int read_str(struct cursor *c, struct gguf_str *s, const char *what)
{
	uint64_t len;
	if (read_u64(c, &len, what) < 0)
		return -1;
	if (len > c->size - c->pos)
		return error("%s: length %" PRIu64 " runs past end of file (%zu bytes left)",
			     what, len, c->size - c->pos);
	s->ptr = (const char *)c->base + c->pos;
	s->len = len;
	c->pos += len;
	return 0;
}

static const char *const type_names[GGUF_TYPE_COUNT] = {
	"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
	"bool", "string", "array", "uint64", "int64", "float64",
};

size_t gguf_type_size(uint32_t type)
{
	static const size_t sizes[GGUF_TYPE_COUNT] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };
	return type < GGUF_TYPE_COUNT ? sizes[type] : 0;
}

const char *gguf_type_name(uint32_t type)
{
	return type < GGUF_TYPE_COUNT ? type_names[type] : "unknown";
}

static void decode_scalar(uint32_t type, const uint8_t *p, struct gguf_value *v)
{
	uint8_t u8;
	int8_t i8;
	uint16_t u16;
	int16_t i16;
	uint32_t u32;
	int32_t i32;
	float f32;
	v->type = type;
	switch (type) {
	case GGUF_TYPE_UINT8: memcpy(&u8, p, 1); v->u = u8; break;
	case GGUF_TYPE_BOOL: memcpy(&u8, p, 1); v->u = u8 != 0; break;
	case GGUF_TYPE_INT8: memcpy(&i8, p, 1); v->i = i8; break;
	case GGUF_TYPE_UINT16: memcpy(&u16, p, 2); v->u = u16; break;
	case GGUF_TYPE_INT16: memcpy(&i16, p, 2); v->i = i16; break;
	case GGUF_TYPE_UINT32: memcpy(&u32, p, 4); v->u = u32; break;
	case GGUF_TYPE_INT32: memcpy(&i32, p, 4); v->i = i32; break;
	case GGUF_TYPE_FLOAT32: memcpy(&f32, p, 4); v->f = f32; break;
	case GGUF_TYPE_UINT64: memcpy(&v->u, p, 8); break;
	case GGUF_TYPE_INT64: memcpy(&v->i, p, 8); break;
	case GGUF_TYPE_FLOAT64: memcpy(&v->f, p, 8); break;
	}
}

static void free_value(struct gguf_value *v)
{
	if (v->type != GGUF_TYPE_ARRAY)
		return;
	free(v->arr.strs);
	if (v->arr.items) {
		for (uint64_t i = 0; i < v->arr.count; i++)
			free_value(&v->arr.items[i]);
		free(v->arr.items);
	}
}

static int read_value(struct cursor *c, uint32_t type, struct gguf_value *v, int depth);

static int read_array(struct cursor *c, struct gguf_value *v, int depth)
{
	struct gguf_array *a = &v->arr;
	v->type = GGUF_TYPE_ARRAY;
	memset(a, 0, sizeof *a);
	if (depth >= MAX_ARRAY_DEPTH)
		return error("arrays nested deeper than %d levels", MAX_ARRAY_DEPTH);
	if (read_u32(c, &a->type, "array element type") < 0 ||
	    read_u64(c, &a->count, "array length") < 0)
		return -1;
	if (a->type >= GGUF_TYPE_COUNT)
		return error("unknown array element type %u", a->type);
	/* Smallest possible encoding of one element, to bound the count by the
	 * bytes left before anything is allocated. */
	size_t min_size = a->type == GGUF_TYPE_STRING ? 8 :
			  a->type == GGUF_TYPE_ARRAY ? 12 : gguf_type_size(a->type);
	if (a->count > (c->size - c->pos) / min_size)
		return error("array of %" PRIu64 " %s elements runs past end of file (%zu bytes left)",
			     a->count, type_names[a->type], c->size - c->pos);
	if (a->type == GGUF_TYPE_STRING) {
		a->strs = xmalloc(a->count * sizeof *a->strs);
		for (uint64_t i = 0; i < a->count; i++)
			if (read_str(c, &a->strs[i], "array string") < 0)
				return error_prefix("element %" PRIu64, i);
	} else if (a->type == GGUF_TYPE_ARRAY) {
		a->items = xcalloc(a->count, sizeof *a->items);
		for (uint64_t i = 0; i < a->count; i++) {
			a->items[i].type = GGUF_TYPE_ARRAY;
			if (read_array(c, &a->items[i], depth + 1) < 0) {
				a->count = i + 1; /* free what was read so far */
				return error_prefix("element %" PRIu64, i);
			}
		}
	} else {
		a->data = c->base + c->pos;
		c->pos += a->count * min_size;
	}
	return 0;
}

static int read_value(struct cursor *c, uint32_t type, struct gguf_value *v, int depth)
{
	if (type == GGUF_TYPE_STRING) {
		v->type = type;
		return read_str(c, &v->str, "string value");
	}
	if (type == GGUF_TYPE_ARRAY)
		return read_array(c, v, depth);
	if (type >= GGUF_TYPE_COUNT) {
		v->type = GGUF_TYPE_UINT8; /* nothing to free */
		return error("unknown value type %u", type);
	}
	size_t n = gguf_type_size(type);
	if (need(c, n, "value") < 0)
		return -1;
	decode_scalar(type, c->base + c->pos, v);
	c->pos += n;
	return 0;
}

static int parse_kvs(struct gguf *g, struct cursor *c)
{
	/* Each entry takes at least 8 (key length) + 4 (type) + 1 (value) bytes. */
	if (g->n_kv > (c->size - c->pos) / 13)
		return error("metadata count %" PRIu64 " is impossible for a file of %zu bytes",
			     g->n_kv, c->size);
	g->kvs = xcalloc(g->n_kv, sizeof *g->kvs);
	strmap_init(&g->kv_index, g->n_kv);
	for (uint64_t i = 0; i < g->n_kv; i++) {
		struct gguf_kv *kv = &g->kvs[i];
		uint32_t type;
		kv->value.type = GGUF_TYPE_UINT8;
		if (read_str(c, &kv->key, "metadata key") < 0)
			return error_prefix("metadata entry %" PRIu64, i);
		if (kv->key.len == 0 || kv->key.len > MAX_KEY_LEN)
			return error("metadata entry %" PRIu64 ": key length %" PRIu64 " is not in 1..%d",
				     i, kv->key.len, MAX_KEY_LEN);
		if (read_u32(c, &type, "value type") < 0 || read_value(c, type, &kv->value, 0) < 0)
			return error_prefix("metadata entry %" PRIu64 " ('%.*s')", i,
					    (int)(kv->key.len > 64 ? 64 : kv->key.len), kv->key.ptr);
		if (strmap_put(&g->kv_index, kv->key.ptr, kv->key.len, (int32_t)i) >= 0)
			return error("duplicate metadata key '%.*s'", (int)kv->key.len, kv->key.ptr);
	}
	return 0;
}

static int parse_alignment(struct gguf *g)
{
	const struct gguf_kv *kv = gguf_find(g, "general.alignment");
	g->alignment = GGUF_DEFAULT_ALIGNMENT;
	if (!kv)
		return 0;
	if (kv->value.type != GGUF_TYPE_UINT32)
		return error("general.alignment has type %s, expected uint32",
			     gguf_type_name(kv->value.type));
	uint64_t a = kv->value.u;
	if (a == 0 || (a & (a - 1)) != 0)
		return error("general.alignment %" PRIu64 " is not a power of two", a);
	g->alignment = (uint32_t)a;
	return 0;
}

static int parse_tensor_info(struct cursor *c, struct gguf_tensor *t)
{
	if (read_str(c, &t->name, "tensor name") < 0)
		return -1;
	if (t->name.len == 0 || t->name.len > MAX_NAME_LEN)
		return error("tensor name length %" PRIu64 " is not in 1..%d", t->name.len, MAX_NAME_LEN);
	int nlen = (int)t->name.len;
	const char *name = t->name.ptr;
	if (read_u32(c, &t->n_dims, "tensor dimension count") < 0)
		return error_prefix("tensor '%.*s'", nlen, name);
	if (t->n_dims == 0 || t->n_dims > GGUF_MAX_DIMS)
		return error("tensor '%.*s': %u dimensions, expected 1..%d", nlen, name, t->n_dims, GGUF_MAX_DIMS);
	uint64_t n_elements = 1;
	for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
		uint64_t ne = 1;
		if (d < t->n_dims && read_u64(c, &ne, "tensor dimension") < 0)
			return error_prefix("tensor '%.*s'", nlen, name);
		if (ne == 0 || ne > INT64_MAX)
			return error("tensor '%.*s': dimension %u has invalid size %" PRIu64, nlen, name, d, ne);
		if (!mul_u64(n_elements, ne, &n_elements) || n_elements > INT64_MAX)
			return error("tensor '%.*s': element count overflows", nlen, name);
		t->ne[d] = (int64_t)ne;
	}
	t->n_elements = n_elements;
	if (read_u32(c, &t->type, "tensor type") < 0 || read_u64(c, &t->offset, "tensor offset") < 0)
		return error_prefix("tensor '%.*s'", nlen, name);
	const struct type_traits *tt = quant_traits(t->type);
	if (!tt)
		return error("tensor '%.*s': unknown tensor type id %u", nlen, name, t->type);
	if (t->ne[0] % tt->block_size != 0)
		return error("tensor '%.*s': row length %" PRId64 " is not a multiple of the %s block size %u",
			     nlen, name, t->ne[0], tt->name, tt->block_size);
	if (!mul_u64(n_elements / tt->block_size, tt->type_size, &t->n_bytes))
		return error("tensor '%.*s': byte size overflows", nlen, name);
	return 0;
}

static int parse_tensors(struct gguf *g, struct cursor *c)
{
	/* Each tensor info takes at least 8 (name) + 1 + 4 + 8 + 4 + 8 bytes. */
	if (g->n_tensors > (c->size - c->pos) / 33)
		return error("tensor count %" PRIu64 " is impossible for a file of %zu bytes",
			     g->n_tensors, c->size);
	g->tensors = xcalloc(g->n_tensors, sizeof *g->tensors);
	strmap_init(&g->tensor_index, g->n_tensors);
	for (uint64_t i = 0; i < g->n_tensors; i++) {
		struct gguf_tensor *t = &g->tensors[i];
		if (parse_tensor_info(c, t) < 0)
			return error_prefix("tensor info %" PRIu64, i);
		if (strmap_put(&g->tensor_index, t->name.ptr, t->name.len, (int32_t)i) >= 0)
			return error("duplicate tensor name '%.*s'", (int)t->name.len, t->name.ptr);
	}

	uint64_t pad = (g->alignment - c->pos % g->alignment) % g->alignment;
	g->data_offset = c->pos + pad;
	uint64_t data_size = g->data_offset <= c->size ? c->size - g->data_offset : 0;
	for (uint64_t i = 0; i < g->n_tensors; i++) {
		struct gguf_tensor *t = &g->tensors[i];
		int nlen = (int)t->name.len;
		if (t->offset % g->alignment != 0)
			return error("tensor '%.*s': data offset %" PRIu64 " is not a multiple of the alignment %u",
				     nlen, t->name.ptr, t->offset, g->alignment);
		if (t->offset > data_size || t->n_bytes > data_size - t->offset)
			return error("tensor '%.*s': data (offset %" PRIu64 ", %" PRIu64
				     " bytes) extends past end of file", nlen, t->name.ptr, t->offset, t->n_bytes);
		t->data = g->map + g->data_offset + t->offset;
	}
	return 0;
}

static int parse(struct gguf *g)
{
	struct cursor c = { g->map, 0, g->size };
	uint32_t magic;
	if (read_u32(&c, &magic, "magic") < 0 || magic != GGUF_MAGIC)
		return error("not a GGUF file (bad magic)");
	if (read_u32(&c, &g->version, "version") < 0)
		return -1;
	if (g->version == 0x02000000u || g->version == 0x03000000u)
		return error("big-endian GGUF files are not supported");
	if (g->version == 1)
		return error("GGUF version 1 is obsolete and not supported; convert the model again");
	if (g->version != 2 && g->version != 3)
		return error("unsupported GGUF version %u (expected 2 or 3)", g->version);
	if (read_u64(&c, &g->n_tensors, "tensor count") < 0 ||
	    read_u64(&c, &g->n_kv, "metadata count") < 0)
		return -1;
	/* Bound both counts by the file size before anything is allocated. */
	if (g->n_tensors > (c.size - c.pos) / 33 || g->n_tensors > INT32_MAX)
		return error("tensor count %" PRIu64 " is impossible for a file of %zu bytes", g->n_tensors, c.size);
	if (g->n_kv > (c.size - c.pos) / 13 || g->n_kv > INT32_MAX)
		return error("metadata count %" PRIu64 " is impossible for a file of %zu bytes", g->n_kv, c.size);
	if (parse_kvs(g, &c) < 0 || parse_alignment(g) < 0 || parse_tensors(g, &c) < 0)
		return -1;
	return 0;
}

struct gguf *gguf_open(const char *path)
{
	struct gguf *g = xcalloc(1, sizeof *g);
	g->path = xstrdup(path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		error("cannot open: %s", strerror(errno));
		goto fail;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		error("cannot stat: %s", strerror(errno));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		error("is a directory, not a GGUF file");
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		error("not a regular file");
		goto fail;
	}
	if (st.st_size == 0) {
		error("empty file, not a GGUF model");
		goto fail;
	}
	if ((uint64_t)st.st_size > SIZE_MAX) {
		error("file too large to map");
		goto fail;
	}
	g->size = (size_t)st.st_size;
	void *map = mmap(NULL, g->size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		error("cannot map %zu bytes: %s", g->size, strerror(errno));
		goto fail;
	}
	g->map = map;
	close(fd);
	fd = -1;
	if (parse(g) < 0)
		goto fail;
	return g;
fail:
	if (fd >= 0)
		close(fd);
	gguf_close(g);
	return NULL;
}

void gguf_close(struct gguf *g)
{
	if (!g)
		return;
	if (g->kvs) {
		for (uint64_t i = 0; i < g->n_kv; i++)
			free_value(&g->kvs[i].value);
		free(g->kvs);
	}
	free(g->tensors);
	strmap_free(&g->kv_index);
	strmap_free(&g->tensor_index);
	if (g->map)
		munmap((void *)g->map, g->size);
	free(g->path);
	free(g);
}

const struct gguf_kv *gguf_find(const struct gguf *g, const char *key)
{
	int32_t i = strmap_get(&g->kv_index, key, strlen(key));
	return i >= 0 ? &g->kvs[i] : NULL;
}

const struct gguf_tensor *gguf_find_tensor(const struct gguf *g, const char *name)
{
	int32_t i = strmap_get(&g->tensor_index, name, strlen(name));
	return i >= 0 ? &g->tensors[i] : NULL;
}

static bool is_unsigned(uint32_t t)
{
	return t == GGUF_TYPE_UINT8 || t == GGUF_TYPE_UINT16 || t == GGUF_TYPE_UINT32 ||
	       t == GGUF_TYPE_UINT64 || t == GGUF_TYPE_BOOL;
}

static bool is_signed(uint32_t t)
{
	return t == GGUF_TYPE_INT8 || t == GGUF_TYPE_INT16 || t == GGUF_TYPE_INT32 || t == GGUF_TYPE_INT64;
}

static bool is_float(uint32_t t)
{
	return t == GGUF_TYPE_FLOAT32 || t == GGUF_TYPE_FLOAT64;
}

int gguf_get_i64(const struct gguf *g, const char *key, int64_t *out)
{
	const struct gguf_kv *kv = gguf_find(g, key);
	if (!kv)
		return 0;
	const struct gguf_value *v = &kv->value;
	if (is_unsigned(v->type) && v->type != GGUF_TYPE_BOOL) {
		if (v->u > INT64_MAX)
			return error("%s: value %" PRIu64 " is too large", key, v->u);
		*out = (int64_t)v->u;
		return 1;
	}
	if (is_signed(v->type)) {
		*out = v->i;
		return 1;
	}
	return error("%s has type %s, expected an integer", key, gguf_type_name(v->type));
}

int gguf_get_u32(const struct gguf *g, const char *key, uint32_t *out)
{
	int64_t v;
	int r = gguf_get_i64(g, key, &v);
	if (r <= 0)
		return r;
	if (v < 0 || v > UINT32_MAX)
		return error("%s: value %" PRId64 " is out of range", key, v);
	*out = (uint32_t)v;
	return 1;
}

int gguf_get_f32(const struct gguf *g, const char *key, float *out)
{
	const struct gguf_kv *kv = gguf_find(g, key);
	if (!kv)
		return 0;
	const struct gguf_value *v = &kv->value;
	if (is_float(v->type))
		*out = (float)v->f;
	else if (is_signed(v->type))
		*out = (float)v->i;
	else if (is_unsigned(v->type) && v->type != GGUF_TYPE_BOOL)
		*out = (float)v->u;
	else
		return error("%s has type %s, expected a number", key, gguf_type_name(v->type));
	return 1;
}

int gguf_get_bool(const struct gguf *g, const char *key, bool *out)
{
	const struct gguf_kv *kv = gguf_find(g, key);
	if (!kv)
		return 0;
	if (kv->value.type != GGUF_TYPE_BOOL)
		return error("%s has type %s, expected bool", key, gguf_type_name(kv->value.type));
	*out = kv->value.u != 0;
	return 1;
}

int gguf_get_str(const struct gguf *g, const char *key, struct gguf_str *out)
{
	const struct gguf_kv *kv = gguf_find(g, key);
	if (!kv)
		return 0;
	if (kv->value.type != GGUF_TYPE_STRING)
		return error("%s has type %s, expected string", key, gguf_type_name(kv->value.type));
	*out = kv->value.str;
	return 1;
}

int gguf_get_arr(const struct gguf *g, const char *key, uint32_t elem_type, const struct gguf_array **out)
{
	const struct gguf_kv *kv = gguf_find(g, key);
	if (!kv)
		return 0;
	if (kv->value.type != GGUF_TYPE_ARRAY)
		return error("%s has type %s, expected array", key, gguf_type_name(kv->value.type));
	if (elem_type != GGUF_TYPE_COUNT && kv->value.arr.type != elem_type)
		return error("%s is an array of %s, expected %s", key,
			     gguf_type_name(kv->value.arr.type), gguf_type_name(elem_type));
	*out = &kv->value.arr;
	return 1;
}

double gguf_arr_f64(const struct gguf_array *a, uint64_t i)
{
	struct gguf_value v;
	decode_scalar(a->type, a->data + i * gguf_type_size(a->type), &v);
	if (is_float(a->type))
		return v.f;
	return is_signed(a->type) ? (double)v.i : (double)v.u;
}

int64_t gguf_arr_i64(const struct gguf_array *a, uint64_t i)
{
	struct gguf_value v;
	decode_scalar(a->type, a->data + i * gguf_type_size(a->type), &v);
	if (is_float(a->type))
		return v.f >= -9e18 && v.f <= 9e18 ? (int64_t)v.f : 0;
	return is_signed(a->type) ? v.i : (int64_t)v.u;
}

bool gguf_str_eq(struct gguf_str s, const char *c)
{
	size_t n = strlen(c);
	return s.len == n && memcmp(s.ptr, c, n) == 0;
}
