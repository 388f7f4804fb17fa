/* quantize.c - `nibble quantize` below the command line: which type each
 * tensor gets (llama.cpp's presets and rules), and writing the new GGUF file
 * with the tensors converted in parallel. */
#include "config.h"

#include "model/quantize.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf/gguf.h"
#include "quant/quant.h"
#include "base/threadpool.h"
#include "base/util.h"

/* llama.cpp's llama_ftype values (general.file_type) of the presets. */
enum {
	FTYPE_Q4_0 = 2, FTYPE_Q4_1 = 3, FTYPE_Q8_0 = 7, FTYPE_Q5_0 = 8, FTYPE_Q5_1 = 9, FTYPE_Q2_K = 10,
	FTYPE_Q3_K_S = 11, FTYPE_Q3_K_M = 12, FTYPE_Q4_K_S = 14, FTYPE_Q4_K_M = 15, FTYPE_Q5_K_S = 16,
	FTYPE_Q5_K_M = 17, FTYPE_Q6_K = 18, FTYPE_IQ4_NL = 25, FTYPE_IQ4_XS = 30,
};

/* Each preset and what it makes of most tensors, in llama-quantize's names. */
static const struct quant_preset presets[] = {
	{ "Q8_0", FTYPE_Q8_0, GGML_TYPE_Q8_0 },       { "Q4_0", FTYPE_Q4_0, GGML_TYPE_Q4_0 },
	{ "Q4_1", FTYPE_Q4_1, GGML_TYPE_Q4_1 },       { "Q5_0", FTYPE_Q5_0, GGML_TYPE_Q5_0 },
	{ "Q5_1", FTYPE_Q5_1, GGML_TYPE_Q5_1 },       { "Q2_K", FTYPE_Q2_K, GGML_TYPE_Q2_K },
	{ "Q3_K_S", FTYPE_Q3_K_S, GGML_TYPE_Q3_K },   { "Q3_K_M", FTYPE_Q3_K_M, GGML_TYPE_Q3_K },
	{ "Q4_K_S", FTYPE_Q4_K_S, GGML_TYPE_Q4_K },   { "Q4_K_M", FTYPE_Q4_K_M, GGML_TYPE_Q4_K },
	{ "Q5_K_S", FTYPE_Q5_K_S, GGML_TYPE_Q5_K },   { "Q5_K_M", FTYPE_Q5_K_M, GGML_TYPE_Q5_K },
	{ "Q6_K", FTYPE_Q6_K, GGML_TYPE_Q6_K },       { "IQ4_NL", FTYPE_IQ4_NL, GGML_TYPE_IQ4_NL },
	{ "IQ4_XS", FTYPE_IQ4_XS, GGML_TYPE_IQ4_XS },
};

/* What llama.cpp writes as general.quantization_version (GGML_QNT_VERSION). */
#define QUANTIZATION_VERSION 2

const struct quant_preset *quantize_preset_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(presets); i++)
		if (!strcmp(presets[i].name, name))
			return &presets[i];
	return NULL;
}

const char *quantize_preset_names(void)
{
	static char names[256];
	if (!names[0])
		for (size_t i = 0; i < ARRAY_LEN(presets); i++) {
			size_t len = strlen(names);
			snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "", presets[i].name);
		}
	return names;
}

/* ---- the type rules ------------------------------------------------------ */

/* The tensor kinds llama.cpp's rules tell apart by name. */
enum category {
	CAT_OTHER,
	CAT_TOKEN_EMBD,
	CAT_OUTPUT,
	CAT_ATTN_V, /* attn_v, and the fused attn_qkv / attn_kv_b that hold it */
	CAT_ATTN_OUTPUT,
	CAT_FFN_DOWN,
};

static bool contains(const char *s, const char *part)
{
	return strstr(s, part) != NULL;
}

static enum category category_of(const char *name)
{
	if (!strcmp(name, "output.weight"))
		return CAT_OUTPUT;
	if (!strcmp(name, "token_embd.weight") || !strcmp(name, "per_layer_token_embd.weight"))
		return CAT_TOKEN_EMBD;
	if (contains(name, "attn_qkv.weight") || contains(name, "attn_kv_b.weight") || contains(name, "attn_v.weight"))
		return CAT_ATTN_V;
	/* before ffn_down: names are matched in llama.cpp's order */
	if (contains(name, "attn_k.weight") || contains(name, "attn_q.weight"))
		return CAT_OTHER;
	if (contains(name, "attn_output.weight"))
		return CAT_ATTN_OUTPUT;
	if (contains(name, "ffn_up") || contains(name, "ffn_gate"))
		return CAT_OTHER;
	if (contains(name, "ffn_down"))
		return CAT_FFN_DOWN;
	return CAT_OTHER;
}

/* Whether llama.cpp quantizes the tensor at all: matrices named *weight,
 * except norms and the small tensors it keeps as they are (those of its
 * exceptions that dense text models can have). */
static bool is_quantized(const struct quantize_tensor *t)
{
	static const char *const kept[] = { "_norm.weight", "ffn_gate_inp.weight", "position_embd.weight",
					    "token_types.weight", "ssm_conv1d", "attn_rel_b.weight" };
	size_t len = strlen(t->name);
	if (t->n_dims < 2 || len < 6 || strcmp(t->name + len - 6, "weight") != 0)
		return false;
	for (size_t i = 0; i < ARRAY_LEN(kept); i++)
		if (contains(t->name, kept[i]))
			return false;
	return true;
}

struct rules {
	uint32_t ftype;
	uint32_t n_layer, n_gqa;
	bool tied;       /* no output.weight: token_embd is also the output matrix */
	bool is_70b;     /* llama.cpp gives Llama 2/3 70B's small attn_v more bits */
	int n_attn_v, i_attn_v, i_ffn_down;
};

/* Llama.cpp's use_more_bits: the first and last eighth of the layers and
 * every third one between them. */
static bool more_bits(int i, int n)
{
	return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

/* llama_tensor_get_type_impl for the presets above, on a model without
 * experts (Falcon's own rules are left out: nibble does not run Falcon). */
static uint32_t mixture_type(struct rules *r, const struct quantize_tensor *t, uint32_t type)
{
	enum category c = category_of(t->name);
	/* a tied embedding is also the output matrix, and quantized as such */
	if (c == CAT_OUTPUT || (c == CAT_TOKEN_EMBD && r->tied)) {
		if (t->ne0 % quant_traits(type)->block_size != 0)
			return GGML_TYPE_Q8_0;
		return type == GGML_TYPE_Q8_0 ? type : GGML_TYPE_Q6_K;
	}
	switch (c) {
	case CAT_ATTN_V: {
		int i = r->i_attn_v++;
		if (r->ftype == FTYPE_Q2_K)
			type = r->n_gqa >= 4 ? GGML_TYPE_Q4_K : GGML_TYPE_Q3_K;
		else if (r->ftype == FTYPE_Q3_K_M)
			type = i < 2 ? GGML_TYPE_Q5_K : GGML_TYPE_Q4_K;
		else if ((r->ftype == FTYPE_IQ4_NL || r->ftype == FTYPE_IQ4_XS) && r->n_gqa >= 4)
			type = GGML_TYPE_Q5_K;
		else if ((r->ftype == FTYPE_Q4_K_M || r->ftype == FTYPE_Q5_K_M) && more_bits(i, r->n_attn_v))
			type = GGML_TYPE_Q6_K;
		else if (r->ftype == FTYPE_Q4_K_S && i < 4)
			type = GGML_TYPE_Q5_K;
		if (r->is_70b && (type == GGML_TYPE_Q3_K || type == GGML_TYPE_Q4_K))
			type = GGML_TYPE_Q5_K;
		return type;
	}
	case CAT_FFN_DOWN: {
		/* the layer is the count of ffn_down tensors seen, as in llama.cpp */
		int i = r->i_ffn_down++, n = (int)r->n_layer;
		if (r->ftype == FTYPE_Q2_K)
			type = GGML_TYPE_Q3_K;
		else if (r->ftype == FTYPE_Q3_K_M)
			type = i < n / 16 ? GGML_TYPE_Q5_K : GGML_TYPE_Q4_K;
		else if ((r->ftype == FTYPE_Q4_K_M || r->ftype == FTYPE_Q5_K_M) && more_bits(i, n))
			type = GGML_TYPE_Q6_K;
		else if ((r->ftype == FTYPE_IQ4_NL || r->ftype == FTYPE_IQ4_XS || r->ftype == FTYPE_Q4_K_S) && i < n / 8)
			type = GGML_TYPE_Q5_K;
		return type;
	}
	case CAT_ATTN_OUTPUT:
		if (r->ftype == FTYPE_Q2_K)
			return GGML_TYPE_Q3_K;
		if (r->ftype == FTYPE_Q3_K_M)
			return GGML_TYPE_Q4_K;
		return type;
	default:
		return type;
	}
}

/* A type whose blocks divide rows of ne0 weights (llama.cpp's
 * tensor_type_fallback).  Where llama.cpp defines no fallback it refuses
 * the file; here such a tensor is kept in F16, as llama.cpp does when even
 * its fallback does not fit. */
static uint32_t fitting_type(uint32_t type, int64_t ne0, bool *fell_back)
{
	if (ne0 % quant_traits(type)->block_size == 0)
		return type;
	*fell_back = true;
	switch (type) {
	case GGML_TYPE_Q2_K:
	case GGML_TYPE_Q3_K:
		type = GGML_TYPE_Q4_0;
		break;
	case GGML_TYPE_Q4_K:
		type = GGML_TYPE_Q5_0;
		break;
	case GGML_TYPE_Q5_K:
		type = GGML_TYPE_Q5_1;
		break;
	case GGML_TYPE_Q6_K:
		type = GGML_TYPE_Q8_0;
		break;
	case GGML_TYPE_IQ4_XS:
		type = GGML_TYPE_IQ4_NL;
		break;
	default:
		return GGML_TYPE_F16;
	}
	return ne0 % quant_traits(type)->block_size == 0 ? type : GGML_TYPE_F16;
}

static int layer_of(const char *name)
{
	int layer = -1;
	sscanf(name, "blk.%d.", &layer);
	return layer;
}

/* llama.cpp's weight_name_comparer. */
static int compare_tensors(const void *pa, const void *pb)
{
	const struct quantize_tensor *a = pa, *b = pb;
	int la = layer_of(a->name), lb = layer_of(b->name);
	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a->name, b->name);
}

void quantize_choose_types(const struct quantize_model *m, const struct quant_preset *p, bool pure,
			   struct quantize_tensor *t, size_t n)
{
	qsort(t, n, sizeof *t, compare_tensors);
	struct rules r = {
		.ftype = p->ftype,
		.n_layer = m->n_layer,
		.n_gqa = m->n_head_kv ? m->n_head / m->n_head_kv : 0,
		.tied = true,
		.is_70b = !strcmp(m->arch, "llama") && m->n_layer == 80 && m->n_head != m->n_head_kv,
	};
	for (size_t i = 0; i < n; i++) {
		enum category c = category_of(t[i].name);
		r.n_attn_v += c == CAT_ATTN_V;
		r.tied &= c != CAT_OUTPUT;
	}
	for (size_t i = 0; i < n; i++) {
		t[i].fallback = false;
		t[i].type = t[i].src_type;
		if (!is_quantized(&t[i]))
			continue;
		uint32_t type = pure ? p->type : mixture_type(&r, &t[i], p->type);
		t[i].type = fitting_type(type, t[i].ne0, &t[i].fallback);
	}
}

/* ---- writing the file ---------------------------------------------------- */

static void put_u32(struct strbuf *b, uint32_t v)
{
	strbuf_append(b, &v, sizeof v);
}

static void put_u64(struct strbuf *b, uint64_t v)
{
	strbuf_append(b, &v, sizeof v);
}

static void put_str(struct strbuf *b, const char *s, uint64_t len)
{
	put_u64(b, len);
	strbuf_append(b, s, len);
}

/* A value in GGUF's encoding (little-endian, as this program assumes). */
static void put_value(struct strbuf *b, const struct gguf_value *v)
{
	const struct gguf_array *a = &v->arr;
	float f32;
	switch (v->type) {
	case GGUF_TYPE_STRING:
		put_str(b, v->str.ptr, v->str.len);
		break;
	case GGUF_TYPE_ARRAY:
		put_u32(b, a->type);
		put_u64(b, a->count);
		for (uint64_t i = 0; a->type == GGUF_TYPE_STRING && i < a->count; i++)
			put_str(b, a->strs[i].ptr, a->strs[i].len);
		for (uint64_t i = 0; a->type == GGUF_TYPE_ARRAY && i < a->count; i++)
			put_value(b, &a->items[i]);
		if (a->type != GGUF_TYPE_STRING && a->type != GGUF_TYPE_ARRAY)
			strbuf_append(b, a->data, a->count * gguf_type_size(a->type));
		break;
	case GGUF_TYPE_FLOAT32:
		f32 = (float)v->f;
		strbuf_append(b, &f32, sizeof f32);
		break;
	case GGUF_TYPE_FLOAT64:
		strbuf_append(b, &v->f, sizeof v->f);
		break;
	default: /* integers and bool: the low bytes of u (i shares them) */
		strbuf_append(b, &v->u, gguf_type_size(v->type));
		break;
	}
}

static void put_kv_u32(struct strbuf *b, const char *key, uint32_t v)
{
	put_str(b, key, strlen(key));
	put_u32(b, GGUF_TYPE_UINT32);
	put_u32(b, v);
}

static void put_zeros(struct strbuf *b, uint64_t n)
{
	static const char zeros[256];
	for (uint64_t k; n > 0; n -= k) {
		k = n < sizeof zeros ? n : sizeof zeros;
		strbuf_append(b, zeros, k);
	}
}

static uint64_t pad_to(uint64_t n, uint64_t align)
{
	return (n + align - 1) / align * align;
}

/* Output bytes of tensor t of the input. */
static uint64_t out_size(const struct gguf_tensor *src, const struct quantize_tensor *t)
{
	if (t->type == t->src_type)
		return src->n_bytes;
	return src->n_elements / (uint64_t)t->ne0 * quant_row_bytes(t->type, t->ne0);
}

/* Everything before the tensor data: header, metadata, tensor infos and
 * the padding after them. */
static void put_header(struct strbuf *b, const struct gguf *g, const struct quantize_tensor *t, size_t n,
		       uint32_t ftype)
{
	static const char *const replaced[] = { "general.quantization_version", "general.file_type" };
	uint64_t n_kv = 0;
	struct strbuf kv = { 0 };
	for (uint64_t i = 0; i < g->n_kv; i++) {
		const struct gguf_kv *e = &g->kvs[i];
		if (gguf_str_eq(e->key, replaced[0]) || gguf_str_eq(e->key, replaced[1]))
			continue;
		put_str(&kv, e->key.ptr, e->key.len);
		put_u32(&kv, e->value.type);
		put_value(&kv, &e->value);
		n_kv++;
	}
	/* last, where llama.cpp's writer puts the keys it sets */
	put_kv_u32(&kv, replaced[0], QUANTIZATION_VERSION);
	put_kv_u32(&kv, replaced[1], ftype);

	strbuf_append(b, "GGUF", 4);
	put_u32(b, 3);
	put_u64(b, n);
	put_u64(b, n_kv + 2);
	strbuf_append(b, kv.data, kv.len);
	strbuf_free(&kv);
	uint64_t offset = 0;
	for (size_t i = 0; i < n; i++) {
		const struct gguf_tensor *src = &g->tensors[t[i].index];
		put_str(b, src->name.ptr, src->name.len);
		put_u32(b, src->n_dims);
		for (uint32_t d = 0; d < src->n_dims; d++)
			put_u64(b, (uint64_t)src->ne[d]);
		put_u32(b, t[i].type);
		put_u64(b, offset);
		offset += pad_to(out_size(src, &t[i]), g->alignment);
	}
	put_zeros(b, pad_to(b->len, g->alignment) - b->len);
}

struct convert_job {
	const uint8_t *src;
	uint8_t *dst;
	uint32_t src_type, type;
	int64_t ne0, n_rows;
	size_t src_row, dst_row;
	float *scratch; /* ne0 floats per thread */
};

static void convert_worker(void *arg, int ith, int nth)
{
	const struct convert_job *j = arg;
	int64_t per = (j->n_rows + nth - 1) / nth;
	int64_t first = per * ith, last = first + per < j->n_rows ? first + per : j->n_rows;
	float *row = j->scratch + (size_t)ith * (size_t)j->ne0;
	for (int64_t r = first; r < last; r++) {
		quant_dequantize(j->src_type, j->src + (size_t)r * j->src_row, row, j->ne0);
		quant_quantize(j->type, row, j->dst + (size_t)r * j->dst_row, j->ne0);
	}
}

/* The model facts the rules need; refuses what they do not cover. */
static int read_model(const struct gguf *g, struct quantize_model *m, char *arch, size_t arch_size)
{
	struct gguf_str s;
	char key[192];
	uint32_t n_expert = 0;
	if (gguf_get_str(g, "general.architecture", &s) != 1)
		return error("no general.architecture: not a model file");
	snprintf(arch, arch_size, "%.*s", (int)(s.len < 64 ? s.len : 64), s.ptr);
	*m = (struct quantize_model){ .arch = arch };
	snprintf(key, sizeof key, "%s.block_count", arch);
	int rc = gguf_get_u32(g, key, &m->n_layer);
	if (rc == 0)
		return error("no %s: not a model file", key);
	snprintf(key, sizeof key, "%s.attention.head_count", arch);
	if (rc < 0 || gguf_get_u32(g, key, &m->n_head) < 0)
		return -1;
	m->n_head_kv = m->n_head;
	snprintf(key, sizeof key, "%s.attention.head_count_kv", arch);
	if (gguf_get_u32(g, key, &m->n_head_kv) < 0)
		return -1;
	snprintf(key, sizeof key, "%s.expert_count", arch);
	if (gguf_get_u32(g, key, &n_expert) < 0)
		return -1;
	if (n_expert > 1)
		return error("mixture-of-experts models (%u experts) are not supported", n_expert);
	return 0;
}

/* Refuses a plan this build cannot carry out, before anything is written. */
static int check_plan(const struct quantize_tensor *t, size_t n, const struct quant_preset *p)
{
	for (size_t i = 0; i < n; i++) {
		if (t[i].type == t[i].src_type)
			continue;
		uint32_t s = t[i].src_type;
		if (s != GGML_TYPE_F32 && s != GGML_TYPE_F16 && s != GGML_TYPE_BF16)
			return error("tensor '%s' is %s; nibble quantizes F32, F16 and BF16 models only", t[i].name,
				     quant_name(s));
		if (!quant_can_quantize(t[i].type))
			return error("this build cannot make %s tensors yet (a %s file needs them for '%s')",
				     quant_name(t[i].type), p->name, t[i].name);
	}
	return 0;
}

/* Number of dimensions as ggml counts them. */
static uint32_t n_dims_of(const struct gguf_tensor *src)
{
	uint32_t d = GGUF_MAX_DIMS;
	while (d > 1 && src->ne[d - 1] == 1)
		d--;
	return d;
}

static int write_all(FILE *f, const void *data, size_t len, const char *path)
{
	if (len && fwrite(data, 1, len, f) != len)
		return error("cannot write '%s': %s", path, strerror(errno));
	return 0;
}

/* n zero bytes: padding up to general.alignment, which may be any power
 * of two. */
static int write_zeros(FILE *f, uint64_t n, const char *path)
{
	static const char zeros[4096];
	for (uint64_t k; n > 0; n -= k) {
		k = n < sizeof zeros ? n : sizeof zeros;
		if (write_all(f, zeros, (size_t)k, path) < 0)
			return -1;
	}
	return 0;
}

/* The tensor data, tensor by tensor; pool and buffers are the caller's. */
static int write_tensors(FILE *f, const char *path, const struct gguf *g, const struct quantize_tensor *t, size_t n,
			 const struct quantize_params *p, struct threadpool *pool, uint8_t *out, float *scratch,
			 struct quantize_result *r)
{
	uint64_t total = 0, done = 0;
	for (size_t i = 0; i < n; i++)
		total += g->tensors[t[i].index].n_bytes;
	for (size_t i = 0; i < n; i++) {
		if (p->cancel && *p->cancel)
			return error("interrupted");
		const struct gguf_tensor *src = &g->tensors[t[i].index];
		if (p->progress)
			p->progress(p->progress_arg, i, n, &t[i], done, total);
		uint64_t size = out_size(src, &t[i]);
		const void *data = src->data;
		if (t[i].type != t[i].src_type) {
			struct convert_job job = {
				.src = src->data, .dst = out, .src_type = t[i].src_type, .type = t[i].type,
				.ne0 = t[i].ne0, .n_rows = (int64_t)(src->n_elements / (uint64_t)t[i].ne0),
				.src_row = (size_t)quant_row_bytes(t[i].src_type, t[i].ne0),
				.dst_row = (size_t)quant_row_bytes(t[i].type, t[i].ne0), .scratch = scratch,
			};
			threadpool_run(pool, convert_worker, &job);
			data = out;
		}
		if (write_all(f, data, size, path) < 0 ||
		    write_zeros(f, pad_to(size, g->alignment) - size, path) < 0)
			return -1;
		done += src->n_bytes;
		r->out_bytes += size;
	}
	if (p->progress)
		p->progress(p->progress_arg, n, n, NULL, total, total);
	return 0;
}

/* Writes header and data into the open temporary file f. */
static int write_model(FILE *f, const char *path, const struct gguf *g, const struct quantize_tensor *t, size_t n,
		       const struct quantize_params *p, struct quantize_result *r)
{
	struct strbuf header = { 0 };
	put_header(&header, g, t, n, p->preset->ftype);
	int rc = write_all(f, header.data, header.len, path);
	strbuf_free(&header);
	if (rc < 0)
		return -1;

	uint64_t max_out = 0;
	int64_t max_ne0 = 1;
	for (size_t i = 0; i < n; i++)
		if (t[i].type != t[i].src_type) {
			uint64_t size = out_size(&g->tensors[t[i].index], &t[i]);
			max_out = size > max_out ? size : max_out;
			max_ne0 = t[i].ne0 > max_ne0 ? t[i].ne0 : max_ne0;
		}
	int n_threads = p->n_threads > 0 ? p->n_threads : cpu_physical_cores();
	struct threadpool *pool = threadpool_init(n_threads);
	uint8_t *out = max_out ? malloc(max_out) : NULL;
	float *scratch = malloc((size_t)n_threads * (size_t)max_ne0 * sizeof *scratch);
	char size[32];
	if (!pool)
		rc = -1;
	else if ((max_out && !out) || !scratch)
		rc = error("cannot allocate %s to convert a tensor", format_bytes(max_out, size, sizeof size));
	else
		rc = write_tensors(f, path, g, t, n, p, pool, out, scratch, r);
	threadpool_free(pool);
	free(out);
	free(scratch);
	return rc;
}

/* Flushes f to the disk and closes it; the file's mode then follows the
 * umask as a newly created file's would (mkstemp made it 0600). */
static int finish_file(FILE *f, const char *path)
{
	mode_t mask = umask(0);
	umask(mask);
	bool ok = fflush(f) == 0 && (fsync(fileno(f)) == 0 || errno == EINVAL) &&
		  fchmod(fileno(f), 0666 & ~mask) == 0;
	int saved = errno;
	if (fclose(f) != 0 && ok) {
		ok = false;
		saved = errno;
	}
	return ok ? 0 : error("cannot write '%s': %s", path, strerror(saved));
}

int quantize_file(const char *in_path, const char *out_path, const struct quantize_params *p,
		  struct quantize_result *r)
{
	*r = (struct quantize_result){ 0 };
	struct quantize_tensor *t = NULL;
	char *tmp = NULL;
	bool created = false; /* tmp names a file to remove on failure */
	int rc = -1;
	struct gguf *g = gguf_open(in_path);
	if (!g)
		return error_prefix("'%s'", in_path);
	size_t n = (size_t)g->n_tensors;
	struct quantize_model m;
	char arch[65];
	if (n == 0) {
		error("'%s': no tensors (a vocabulary-only file?)", in_path);
		goto done;
	}
	if (read_model(g, &m, arch, sizeof arch) < 0) {
		error_prefix("'%s'", in_path);
		goto done;
	}
	t = xcalloc(n, sizeof *t);
	for (size_t i = 0; i < n; i++) {
		const struct gguf_tensor *src = &g->tensors[i];
		t[i] = (struct quantize_tensor){
			.name = xstrndup(src->name.ptr, src->name.len), .n_dims = n_dims_of(src),
			.ne0 = src->ne[0], .src_type = src->type, .index = i,
		};
	}
	quantize_choose_types(&m, p->preset, p->pure, t, n);
	if (check_plan(t, n, p->preset) < 0) {
		error_prefix("'%s'", in_path);
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		r->n_weights += g->tensors[i].n_elements;
		r->in_bytes += g->tensors[i].n_bytes;
		r->n_quantized += t[i].type != t[i].src_type;
		r->n_fallback += t[i].fallback;
	}
	r->n_tensors = n;

	/* The new file is renamed into place, which would replace a device node
	 * such as /dev/null rather than write to it. */
	struct stat st;
	if (stat(out_path, &st) == 0 && !S_ISREG(st.st_mode)) {
		error("'%s' is not a regular file", out_path);
		goto done;
	}
	size_t len = strlen(out_path) + 16;
	tmp = xmalloc(len);
	snprintf(tmp, len, "%s.tmpXXXXXX", out_path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		error("cannot create a file next to '%s': %s", out_path, strerror(errno));
		goto done;
	}
	created = true;
	FILE *f = fdopen(fd, "wb");
	if (!f) {
		error("cannot write '%s': %s", out_path, strerror(errno));
		close(fd);
		goto done;
	}
	if (write_model(f, out_path, g, t, n, p, r) < 0) {
		fclose(f);
		goto done;
	}
	if (finish_file(f, out_path) < 0)
		goto done;
	if (rename(tmp, out_path) != 0) {
		error("cannot replace '%s': %s", out_path, strerror(errno));
		goto done;
	}
	rc = 0;
done:
	if (rc < 0 && created)
		unlink(tmp);
	free(tmp);
	for (size_t i = 0; t && i < n; i++)
		free((char *)t[i].name);
	free(t);
	gguf_close(g);
	return rc;
}
