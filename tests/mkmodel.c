/* mkmodel.c - writes a tiny random-weight llama model that borrows the
 * tokenizer (and chat template) of another GGUF file, so that chat tests can
 * run real vocabularies and templates end to end.
 * usage: mkmodel VOCAB.gguf OUT.gguf */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "gguf_writer.h"

enum { EMBD = 32, FF = 64, LAYERS = 2, HEADS = 4, KV_HEADS = 2 };

/* Writes value v (of any type) in GGUF encoding. */
static void put_value(struct strbuf *b, const struct gguf_value *v)
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
				put_value(b, &a->items[i]);
			}
		}
		if (a->type != GGUF_TYPE_STRING && a->type != GGUF_TYPE_ARRAY)
			gw_bytes(b, a->data, a->count * gguf_type_size(a->type));
	} else {
		gw_bytes(b, &v->u, gguf_type_size(v->type)); /* little-endian: the low bytes */
	}
}

static void put_tensor_data(struct strbuf *b, uint64_t n, bool ones, uint64_t *state)
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

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: mkmodel VOCAB.gguf OUT.gguf\n");
		return 2;
	}
	struct gguf *v = gguf_open(argv[1]);
	const struct gguf_array *tokens;
	if (!v || gguf_get_arr(v, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, &tokens) != 1) {
		fprintf(stderr, "mkmodel: %s: %s\n", argv[1], v ? "no vocabulary" : error_message());
		return 1;
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
		put_value(&kv, &e->value);
		n_kv++;
	}
	gw_kv_str(&kv, "general.architecture", "llama");
	gw_kv_str(&kv, "general.name", "mkmodel micro");
	gw_kv_u32(&kv, "llama.context_length", 4096);
	gw_kv_u32(&kv, "llama.embedding_length", EMBD);
	gw_kv_u32(&kv, "llama.block_count", LAYERS);
	gw_kv_u32(&kv, "llama.feed_forward_length", FF);
	gw_kv_u32(&kv, "llama.attention.head_count", HEADS);
	gw_kv_u32(&kv, "llama.attention.head_count_kv", KV_HEADS);
	gw_kv_f32(&kv, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
	n_kv += 9;

	struct {
		char name[64];
		uint64_t ne[2];
		uint32_t n_dims;
	} t[2 + 9 * LAYERS];
	int n_t = 0;
	uint64_t kv_dim = EMBD / HEADS * KV_HEADS;
#define T(nm, d0, d1, nd) (snprintf(t[n_t].name, 64, "%s", nm), t[n_t].ne[0] = d0, t[n_t].ne[1] = d1, t[n_t++].n_dims = nd)
	T("token_embd.weight", EMBD, n_vocab, 2); /* the output matrix is tied to it */
	T("output_norm.weight", EMBD, 1, 1);
	for (int l = 0; l < LAYERS; l++) {
		char nm[64];
#define L(sfx, d0, d1, nd) (snprintf(nm, 64, "blk.%d." sfx ".weight", l), T(nm, d0, d1, nd))
		L("attn_norm", EMBD, 1, 1);
		L("attn_q", EMBD, EMBD, 2);
		L("attn_k", EMBD, kv_dim, 2);
		L("attn_v", EMBD, kv_dim, 2);
		L("attn_output", EMBD, EMBD, 2);
		L("ffn_norm", EMBD, 1, 1);
		L("ffn_gate", EMBD, FF, 2);
		L("ffn_up", EMBD, FF, 2);
		L("ffn_down", FF, EMBD, 2);
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
		put_tensor_data(&b, t[i].ne[0] * t[i].ne[1], t[i].n_dims == 1, &state);
	int rc = gw_save(&b, argv[2]) == 0 ? 0 : 1;
	if (rc)
		fprintf(stderr, "mkmodel: cannot write %s\n", argv[2]);
	strbuf_free(&b);
	strbuf_free(&kv);
	gguf_close(v);
	return rc;
}
