/* gguf_writer.h - builds GGUF files byte by byte for the tests, so that every
 * field can be written wrong on purpose; and a tiny valid llama model. */
#ifndef NIBBLE_GGUF_WRITER_H
#define NIBBLE_GGUF_WRITER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "quant/quant.h"
#include "base/util.h"

static inline void gw_bytes(struct strbuf *b, const void *p, size_t n)
{
	strbuf_append(b, p, n);
}

static inline void gw_u32(struct strbuf *b, uint32_t v)
{
	gw_bytes(b, &v, 4);
}

static inline void gw_u64(struct strbuf *b, uint64_t v)
{
	gw_bytes(b, &v, 8);
}

static inline void gw_str(struct strbuf *b, const char *s)
{
	gw_u64(b, strlen(s));
	gw_bytes(b, s, strlen(s));
}

static inline void gw_header(struct strbuf *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
	gw_bytes(b, "GGUF", 4);
	gw_u32(b, version);
	gw_u64(b, n_tensors);
	gw_u64(b, n_kv);
}

static inline void gw_kv_u32(struct strbuf *b, const char *key, uint32_t v)
{
	gw_str(b, key);
	gw_u32(b, GGUF_TYPE_UINT32);
	gw_u32(b, v);
}

static inline void gw_kv_f32(struct strbuf *b, const char *key, float v)
{
	gw_str(b, key);
	gw_u32(b, GGUF_TYPE_FLOAT32);
	gw_bytes(b, &v, 4);
}

static inline void gw_kv_bool(struct strbuf *b, const char *key, int v)
{
	uint8_t x = (uint8_t)v;
	gw_str(b, key);
	gw_u32(b, GGUF_TYPE_BOOL);
	gw_bytes(b, &x, 1);
}

static inline void gw_kv_str(struct strbuf *b, const char *key, const char *v)
{
	gw_str(b, key);
	gw_u32(b, GGUF_TYPE_STRING);
	gw_str(b, v);
}

static inline void gw_kv_str_array(struct strbuf *b, const char *key, const char *const *v, size_t n)
{
	gw_str(b, key);
	gw_u32(b, GGUF_TYPE_ARRAY);
	gw_u32(b, GGUF_TYPE_STRING);
	gw_u64(b, n);
	for (size_t i = 0; i < n; i++)
		gw_str(b, v[i]);
}

static inline void gw_kv_i32_array(struct strbuf *b, const char *key, const int32_t *v, size_t n)
{
	gw_str(b, key);
	gw_u32(b, GGUF_TYPE_ARRAY);
	gw_u32(b, GGUF_TYPE_INT32);
	gw_u64(b, n);
	for (size_t i = 0; i < n; i++)
		gw_u32(b, (uint32_t)v[i]);
}

static inline void gw_tensor_info(struct strbuf *b, const char *name, uint32_t n_dims, const uint64_t *ne,
			   uint32_t type, uint64_t offset)
{
	gw_str(b, name);
	gw_u32(b, n_dims);
	for (uint32_t i = 0; i < n_dims; i++)
		gw_u64(b, ne[i]);
	gw_u32(b, type);
	gw_u64(b, offset);
}

static inline void gw_pad(struct strbuf *b, size_t align)
{
	static const char zeros[64];
	while (b->len % align)
		gw_bytes(b, zeros, 1);
}

static inline int gw_save(const struct strbuf *b, const char *path)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t w = b->len ? fwrite(b->data, 1, b->len, f) : 0;
	return fclose(f) == 0 && w == b->len ? 0 : -1;
}

/* ---- a tiny llama model ------------------------------------------------- */

/* What to get wrong in the model; zero for a valid file. */
struct tiny_spec {
	const char *arch;          /* default "llama" */
	const char *tokenizer;     /* default "llama" */
	uint32_t n_head, n_head_kv;/* default 4, 2 */
	int64_t bos_id;            /* default 1; -2: leave the key out */
	const char *skip_tensor;   /* leave this tensor out */
	const char *bad_shape;     /* give this tensor a wrong shape */
	const char *mxfp4_tensor;  /* store this matrix as MXFP4, a type the CPU lacks */
	int scores_short;          /* scores array one entry short */
	int tokens_as_int;         /* tokenizer.ggml.tokens as an int32 array */
	uint32_t block_count;      /* default: layers */
	uint32_t layers;           /* layers of tensors, default 2 */
	uint32_t embd, ff;         /* default 32, 64 */
	int sparse;                /* leave the tensor data out (see tiny_model) */
};

enum { TINY_EMBD = 32, TINY_FF = 64, TINY_LAYERS = 2, TINY_HEAD_DIM = 8 };

struct tiny_tensor {
	char name[64];
	uint64_t ne[2];
	uint32_t n_dims, type;
};

static inline void tiny_vocab(struct strbuf *b, const struct tiny_spec *s, uint32_t *n_kv)
{
	/* ids 259..: normal pieces, then a user-defined and a control token */
	static const char *pieces[] = { "\xe2\x96\x81", "\xe2\x96\x81" "a", "\xe2\x96\x81" "b", "a", "b",
					"\xe2\x96\x81" "ab", "ab", "<|u|>", "<ctl>" };
	uint32_t n_tok = 3 + 256 + (uint32_t)ARRAY_LEN(pieces);
	gw_kv_str(b, "tokenizer.ggml.model", s->tokenizer ? s->tokenizer : "llama");
	gw_str(b, "tokenizer.ggml.tokens");
	gw_u32(b, GGUF_TYPE_ARRAY);
	if (s->tokens_as_int) {
		gw_u32(b, GGUF_TYPE_INT32);
		gw_u64(b, n_tok);
		for (uint32_t i = 0; i < n_tok; i++)
			gw_u32(b, i);
	} else {
		gw_u32(b, GGUF_TYPE_STRING);
		gw_u64(b, n_tok);
		gw_str(b, "<unk>");
		gw_str(b, "<s>");
		gw_str(b, "</s>");
		for (int i = 0; i < 256; i++) {
			char hex[8];
			snprintf(hex, sizeof hex, "<0x%02X>", i);
			gw_str(b, hex);
		}
		for (size_t i = 0; i < ARRAY_LEN(pieces); i++)
			gw_str(b, pieces[i]);
	}
	gw_str(b, "tokenizer.ggml.scores");
	gw_u32(b, GGUF_TYPE_ARRAY);
	gw_u32(b, GGUF_TYPE_FLOAT32);
	uint32_t n_scores = n_tok - (s->scores_short ? 1 : 0);
	gw_u64(b, n_scores);
	for (uint32_t i = 0; i < n_scores; i++) {
		float f = i >= 259 ? -(float)(i - 259) : 0.0f;
		gw_bytes(b, &f, 4);
	}
	gw_str(b, "tokenizer.ggml.token_type");
	gw_u32(b, GGUF_TYPE_ARRAY);
	gw_u32(b, GGUF_TYPE_INT32);
	gw_u64(b, n_tok);
	for (uint32_t i = 0; i < n_tok; i++)
		gw_u32(b, i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : i == n_tok - 2 ? 4 : i == n_tok - 1 ? 3 : 1);
	gw_kv_bool(b, "tokenizer.ggml.add_bos_token", 1);
	*n_kv += 5;
	if (s->bos_id != -2) {
		gw_kv_u32(b, "tokenizer.ggml.bos_token_id", (uint32_t)(s->bos_id ? s->bos_id : 1));
		(*n_kv)++;
	}
}

/* Writes the tiny model (n_vocab 268) described by s into b.  Returns the
 * bytes of tensor data, which a sparse model leaves out: the file is to be
 * extended to that much more (a model of any size, in no disk space). */
static inline uint64_t tiny_model(struct strbuf *b, const struct tiny_spec *s)
{
	const char *arch = s->arch ? s->arch : "llama";
	uint32_t n_head = s->n_head ? s->n_head : 4, n_head_kv = s->n_head_kv ? s->n_head_kv : 2;
	uint32_t layers = s->layers ? s->layers : TINY_LAYERS, n_layer = s->block_count ? s->block_count : layers;
	uint32_t embd = s->embd ? s->embd : TINY_EMBD, ff = s->ff ? s->ff : TINY_FF;
	uint64_t n_vocab = 3 + 256 + 9, head_dim = embd / 4, q_dim = 4 * head_dim, kv_dim = 2 * head_dim;

	struct tiny_tensor t[3 + 9 * 16];
	if (layers > 16)
		abort();
	int n_t = 0;
#define ADD(nm, d0, d1, nd) (snprintf(t[n_t].name, 64, "%s", nm), t[n_t].ne[0] = d0, t[n_t].ne[1] = d1, \
			     t[n_t].n_dims = nd, t[n_t].type = GGML_TYPE_F32, n_t++)
	ADD("token_embd.weight", embd, n_vocab, 2);
	ADD("output_norm.weight", embd, 1, 1);
	ADD("output.weight", embd, n_vocab, 2);
	for (uint32_t l = 0; l < layers; l++) {
		char nm[64];
#define LAYER(sfx, d0, d1, nd) (snprintf(nm, 64, "blk.%u." sfx ".weight", l), ADD(nm, d0, d1, nd))
		LAYER("attn_norm", embd, 1, 1);
		LAYER("attn_q", embd, q_dim, 2);
		LAYER("attn_k", embd, kv_dim, 2);
		LAYER("attn_v", embd, kv_dim, 2);
		LAYER("attn_output", q_dim, embd, 2);
		LAYER("ffn_norm", embd, 1, 1);
		LAYER("ffn_gate", embd, ff, 2);
		LAYER("ffn_up", embd, ff, 2);
		LAYER("ffn_down", ff, embd, 2);
#undef LAYER
	}
#undef ADD
	int n_out = 0;
	struct tiny_tensor *out[ARRAY_LEN(t)];
	for (int i = 0; i < n_t; i++) {
		if (s->skip_tensor && !strcmp(t[i].name, s->skip_tensor))
			continue;
		if (s->bad_shape && !strcmp(t[i].name, s->bad_shape))
			t[i].ne[0] *= 2;
		if (s->mxfp4_tensor && !strcmp(t[i].name, s->mxfp4_tensor))
			t[i].type = GGML_TYPE_MXFP4;
		out[n_out++] = &t[i];
	}

	struct strbuf kv = { 0 };
	uint32_t n_kv = 0;
	char key[128];
#define HP(sfx, v) (snprintf(key, sizeof key, "%s." sfx, arch), gw_kv_u32(&kv, key, v), n_kv++)
	gw_kv_str(&kv, "general.architecture", arch);
	gw_kv_str(&kv, "general.name", "tiny test model");
	n_kv += 2;
	HP("context_length", 128);
	HP("embedding_length", embd);
	HP("block_count", n_layer);
	HP("feed_forward_length", ff);
	HP("attention.head_count", n_head);
	HP("attention.head_count_kv", n_head_kv);
#undef HP
	snprintf(key, sizeof key, "%s.attention.layer_norm_rms_epsilon", arch);
	gw_kv_f32(&kv, key, 1e-5f);
	n_kv++;
	tiny_vocab(&kv, s, &n_kv);

	gw_header(b, 3, (uint64_t)n_out, n_kv);
	gw_bytes(b, kv.data, kv.len);
	strbuf_free(&kv);
	uint64_t offset = 0;
	for (int i = 0; i < n_out; i++) {
		const struct type_traits *tt = quant_traits(out[i]->type);
		gw_tensor_info(b, out[i]->name, out[i]->n_dims, out[i]->ne, out[i]->type, offset);
		offset += (out[i]->ne[0] * out[i]->ne[1] / tt->block_size * tt->type_size + 31) / 32 * 32;
	}
	gw_pad(b, 32);
	if (s->sparse)
		return offset;
	/* Small deterministic weights: norms 1, matrices in [-0.1, 0.1). */
	uint64_t state = 12345;
	for (int i = 0; i < n_out; i++) {
		const struct type_traits *tt = quant_traits(out[i]->type);
		uint64_t n = out[i]->ne[0] * out[i]->ne[1];
		if (out[i]->type == GGML_TYPE_F32) {
			for (uint64_t j = 0; j < n; j++) {
				state = state * 6364136223846793005ull + 1442695040888963407ull;
				float f = out[i]->n_dims == 1 ? 1.0f : ((float)(state >> 40) / (1 << 24) - 0.5f) * 0.2f;
				gw_bytes(b, &f, 4);
			}
		} else {
			for (uint64_t j = 0; j < n / tt->block_size * tt->type_size; j++)
				gw_bytes(b, "\0", 1);
		}
		if (i + 1 < n_out)
			gw_pad(b, 32);
	}
	return offset;
}


/* ---- a micro model around a real vocabulary ----------------------------- */

enum { MICRO_EMBD = 32, MICRO_FF = 64, MICRO_LAYERS = 2, MICRO_HEADS = 4, MICRO_KV_HEADS = 2 };

/* Writes value v (of any type) in GGUF encoding. */
static inline void micro_put_value(struct strbuf *b, const struct gguf_value *v)
{
	if (v->type == GGUF_TYPE_STRING) {
		gw_u64(b, v->str.len);
		gw_bytes(b, v->str.ptr, v->str.len);
	} else if (v->type == GGUF_TYPE_ARRAY) {
		const struct gguf_array *a = &v->arr;
		gw_u32(b, a->type);
		gw_u64(b, a->count);
		for (uint64_t i = 0; i < a->count; i++) {
			if (a->type == GGUF_TYPE_STRING) {
				gw_u64(b, a->strs[i].len);
				gw_bytes(b, a->strs[i].ptr, a->strs[i].len);
			} else if (a->type == GGUF_TYPE_ARRAY) {
				micro_put_value(b, &a->items[i]);
			}
		}
		if (a->type != GGUF_TYPE_STRING && a->type != GGUF_TYPE_ARRAY)
			gw_bytes(b, a->data, a->count * gguf_type_size(a->type));
	} else {
		gw_bytes(b, &v->u, gguf_type_size(v->type)); /* little-endian: the low bytes */
	}
}

static inline void micro_put_tensor_data(struct strbuf *b, uint64_t n, bool ones, uint64_t *state)
{
	for (uint64_t i = 0; i < n; i++) {
		*state = *state * 6364136223846793005ull + 1442695040888963407ull;
		float f = ones ? 1.0f : ((float)(*state >> 40) / (1 << 24) - 0.5f) * 0.5f;
		uint16_t h = f32_to_fp16(f);
		if (ones)
			gw_bytes(b, &f, 4);
		else
			gw_bytes(b, &h, 2);
	}
	gw_pad(b, 32);
}

/* Writes to out_path a random-weight llama model (F16 matrices, tied output)
 * with the tokenizer and chat template of vocab_path.  0, or -1 with error(). */
static inline int micro_model(const char *vocab_path, const char *out_path)
{
	struct gguf *v = gguf_open(vocab_path);
	const struct gguf_array *tokens;
	if (!v || gguf_get_arr(v, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, &tokens) != 1) {
		if (v)
			error("no vocabulary");
		gguf_close(v);
		return -1;
	}
	uint64_t n_vocab = tokens->count;

	struct strbuf kv = { 0 };
	uint64_t n_kv = 0;
	for (uint64_t i = 0; i < v->n_kv; i++) {
		const struct gguf_kv *e = &v->kvs[i];
		if (e->key.len < 10 || memcmp(e->key.ptr, "tokenizer.", 10) != 0)
			continue; /* only the tokenizer and its chat template */
		gw_u64(&kv, e->key.len);
		gw_bytes(&kv, e->key.ptr, e->key.len);
		gw_u32(&kv, e->value.type);
		micro_put_value(&kv, &e->value);
		n_kv++;
	}
	gw_kv_str(&kv, "general.architecture", "llama");
	gw_kv_str(&kv, "general.name", "mkmodel micro");
	gw_kv_u32(&kv, "llama.context_length", 4096);
	gw_kv_u32(&kv, "llama.embedding_length", MICRO_EMBD);
	gw_kv_u32(&kv, "llama.block_count", MICRO_LAYERS);
	gw_kv_u32(&kv, "llama.feed_forward_length", MICRO_FF);
	gw_kv_u32(&kv, "llama.attention.head_count", MICRO_HEADS);
	gw_kv_u32(&kv, "llama.attention.head_count_kv", MICRO_KV_HEADS);
	gw_kv_f32(&kv, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
	n_kv += 9;

	struct {
		char name[64];
		uint64_t ne[2];
		uint32_t n_dims;
	} t[2 + 9 * MICRO_LAYERS];
	int n_t = 0;
	uint64_t kv_dim = MICRO_EMBD / MICRO_HEADS * MICRO_KV_HEADS;
#define T(nm, d0, d1, nd) (snprintf(t[n_t].name, 64, "%s", nm), t[n_t].ne[0] = d0, t[n_t].ne[1] = d1, t[n_t++].n_dims = nd)
	T("token_embd.weight", MICRO_EMBD, n_vocab, 2); /* the output matrix is tied to it */
	T("output_norm.weight", MICRO_EMBD, 1, 1);
	for (int l = 0; l < MICRO_LAYERS; l++) {
		char nm[64];
#define L(sfx, d0, d1, nd) (snprintf(nm, 64, "blk.%d." sfx ".weight", l), T(nm, d0, d1, nd))
		L("attn_norm", MICRO_EMBD, 1, 1);
		L("attn_q", MICRO_EMBD, MICRO_EMBD, 2);
		L("attn_k", MICRO_EMBD, kv_dim, 2);
		L("attn_v", MICRO_EMBD, kv_dim, 2);
		L("attn_output", MICRO_EMBD, MICRO_EMBD, 2);
		L("ffn_norm", MICRO_EMBD, 1, 1);
		L("ffn_gate", MICRO_EMBD, MICRO_FF, 2);
		L("ffn_up", MICRO_EMBD, MICRO_FF, 2);
		L("ffn_down", MICRO_FF, MICRO_EMBD, 2);
#undef L
	}
#undef T
	struct strbuf b = { 0 };
	gw_header(&b, 3, (uint64_t)n_t, n_kv);
	gw_bytes(&b, kv.data, kv.len);
	uint64_t offset = 0;
	for (int i = 0; i < n_t; i++) {
		bool norm = t[i].n_dims == 1;
		gw_tensor_info(&b, t[i].name, t[i].n_dims, t[i].ne, norm ? GGML_TYPE_F32 : GGML_TYPE_F16, offset);
		offset += (t[i].ne[0] * t[i].ne[1] * (norm ? 4 : 2) + 31) / 32 * 32;
	}
	gw_pad(&b, 32);
	uint64_t state = 99;
	for (int i = 0; i < n_t; i++)
		micro_put_tensor_data(&b, t[i].ne[0] * t[i].ne[1], t[i].n_dims == 1, &state);
	int rc = gw_save(&b, out_path) == 0 ? 0 : error("cannot write %s", out_path);
	strbuf_free(&b);
	strbuf_free(&kv);
	gguf_close(v);
	return rc;
}

#endif
