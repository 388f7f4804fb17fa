/* mkseeds.c - writes the GGUF seeds of fuzz_gguf (corpus/gguf/) with the
 * tests' own GGUF writer: vocabulary-only files of both tokenizer kinds and
 * llama models a few KB small, with F32, F16, Q8_0 and Q4_0 weights, a tied
 * output, optional tensors and keys, and one tensor of a type the CPU lacks.
 * usage: mkseeds DIR */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "gguf_writer.h"

struct seed_tensor {
	const char *name;
	uint64_t ne0, ne1;
	uint32_t type;
};

/* An SPM vocabulary: specials, a few byte tokens and pieces. */
static uint32_t spm_vocab(struct strbuf *kv)
{
	static const char *const tokens[] = { "<unk>", "<s>", "</s>", "<0x0A>", "<0x20>", "<0xC3>", "<0xA9>",
					      "\xe2\x96\x81", "a", "b", "\xe2\x96\x81" "a", "ab", "<|im_end|>" };
	static const int32_t types[] = { 2, 3, 3, 6, 6, 6, 6, 1, 1, 1, 1, 1, 3 };
	enum { N = sizeof tokens / sizeof tokens[0] };
	gw_kv_str(kv, "tokenizer.ggml.model", "llama");
	gw_kv_str_array(kv, "tokenizer.ggml.tokens", tokens, N);
	gw_str(kv, "tokenizer.ggml.scores");
	gw_u32(kv, GGUF_TYPE_ARRAY);
	gw_u32(kv, GGUF_TYPE_FLOAT32);
	gw_u64(kv, N);
	for (int i = 0; i < N; i++) {
		float f = -(float)i;
		gw_bytes(kv, &f, 4);
	}
	gw_kv_i32_array(kv, "tokenizer.ggml.token_type", types, N);
	gw_kv_u32(kv, "tokenizer.ggml.bos_token_id", 1);
	gw_kv_u32(kv, "tokenizer.ggml.eos_token_id", 2);
	gw_kv_bool(kv, "tokenizer.ggml.add_bos_token", 1);
	return 7;
}

/* A byte-level BPE vocabulary with merges and a named pre-tokenizer. */
static uint32_t bpe_vocab(struct strbuf *kv, const char *pre)
{
	static const char *const tokens[] = { "a", "b", "c", "\xc4\xa0", "\xc4\x8a", "ab", "\xc4\xa0" "a",
					      "\xc4\xa0" "ab", "<|endoftext|>", "<|im_start|>", "<|im_end|>", "1", "2" };
	static const int32_t types[] = { 1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 1, 1 };
	static const char *const merges[] = { "a b", "\xc4\xa0 a", "\xc4\xa0" "a b" };
	enum { N = sizeof tokens / sizeof tokens[0] };
	gw_kv_str(kv, "tokenizer.ggml.model", "gpt2");
	gw_kv_str(kv, "tokenizer.ggml.pre", pre);
	gw_kv_str_array(kv, "tokenizer.ggml.tokens", tokens, N);
	gw_kv_str_array(kv, "tokenizer.ggml.merges", merges, sizeof merges / sizeof merges[0]);
	gw_kv_i32_array(kv, "tokenizer.ggml.token_type", types, N);
	gw_kv_u32(kv, "tokenizer.ggml.eos_token_id", 8);
	gw_kv_u32(kv, "tokenizer.ggml.eot_token_id", 10);
	gw_kv_str(kv, "tokenizer.chat_template",
		  "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}");
	return 8;
}

/* Deterministic tensor data of a type: small floats, or bytes for blocks. */
static void tensor_data(struct strbuf *b, const struct seed_tensor *t, uint64_t *state)
{
	const struct type_traits *tt = quant_traits(t->type);
	uint64_t n = t->ne0 * t->ne1, bytes = n / tt->block_size * tt->type_size;
	for (uint64_t i = 0; i < (t->type == GGML_TYPE_F32 ? n : t->type == GGML_TYPE_F16 ? n : bytes); i++) {
		*state = *state * 6364136223846793005ull + 1442695040888963407ull;
		float f = t->ne1 == 1 ? 1.0f : ((float)(*state >> 40) / (1 << 24) - 0.5f) * 0.2f;
		if (t->type == GGML_TYPE_F32) {
			gw_bytes(b, &f, 4);
		} else if (t->type == GGML_TYPE_F16) {
			uint16_t h = f32_to_fp16(f);
			gw_bytes(b, &h, 2);
		} else {
			/* block bytes: scales become small halves, quants anything */
			uint8_t byte = (uint8_t)(*state >> 56);
			if (i % tt->type_size == 1)
				byte &= 0x2f;
			gw_bytes(b, &byte, 1);
		}
	}
}

struct seed_model {
	uint32_t n_embd, n_ff, n_head, n_head_kv, n_layer;
	uint32_t wtype, ftype;  /* attention and ffn matrix types */
	bool tied, rope_freqs, extras;
	int spm;                /* 1: SPM vocabulary, 0: BPE */
	uint32_t odd_type;      /* nonzero: blk.0.ffn_up has this type */
};

static int write_model(const char *path, const struct seed_model *s)
{
	struct strbuf kv = { 0 }, b = { 0 };
	uint32_t n_kv = s->spm ? spm_vocab(&kv) : bpe_vocab(&kv, "qwen2");
	uint64_t n_vocab = 13, head_dim = s->n_embd / s->n_head;
	uint64_t q_dim = s->n_head * head_dim, kv_dim = s->n_head_kv * head_dim;
	gw_kv_str(&kv, "general.architecture", "llama");
	gw_kv_str(&kv, "general.name", "fuzz seed");
	gw_kv_u32(&kv, "llama.context_length", 64);
	gw_kv_u32(&kv, "llama.embedding_length", s->n_embd);
	gw_kv_u32(&kv, "llama.block_count", s->n_layer);
	gw_kv_u32(&kv, "llama.feed_forward_length", s->n_ff);
	gw_kv_u32(&kv, "llama.attention.head_count", s->n_head);
	gw_kv_u32(&kv, "llama.attention.head_count_kv", s->n_head_kv);
	gw_kv_f32(&kv, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
	n_kv += 9;
	if (s->extras) {
		gw_kv_u32(&kv, "llama.rope.dimension_count", (uint32_t)head_dim);
		gw_kv_f32(&kv, "llama.rope.freq_base", 500000.0f);
		gw_kv_str(&kv, "llama.rope.scaling.type", "linear");
		gw_kv_f32(&kv, "llama.rope.scaling.factor", 2.0f);
		gw_kv_u32(&kv, "llama.attention.key_length", (uint32_t)head_dim);
		gw_kv_u32(&kv, "general.alignment", 64);
		gw_kv_u32(&kv, "general.file_type", 7);
		n_kv += 7;
	}
	uint32_t align = s->extras ? 64 : 32;

	struct seed_tensor t[64];
	char names[64][48];
	int n_t = 0;
#define T(nm, d0, d1, ty) (snprintf(names[n_t], sizeof names[0], "%s", nm), \
			   t[n_t] = (struct seed_tensor){ names[n_t], d0, d1, ty }, n_t++)
	T("token_embd.weight", s->n_embd, n_vocab, GGML_TYPE_F16);
	T("output_norm.weight", s->n_embd, 1, GGML_TYPE_F32);
	if (!s->tied)
		T("output.weight", s->n_embd, n_vocab, s->wtype);
	if (s->rope_freqs)
		T("rope_freqs.weight", head_dim / 2, 1, GGML_TYPE_F32);
	for (uint32_t l = 0; l < s->n_layer; l++) {
		char nm[48];
#define L(sfx, d0, d1, ty) (snprintf(nm, sizeof nm, "blk.%u." sfx ".weight", l), T(nm, d0, d1, ty))
		L("attn_norm", s->n_embd, 1, GGML_TYPE_F32);
		L("attn_q", s->n_embd, q_dim, s->wtype);
		L("attn_k", s->n_embd, kv_dim, s->wtype);
		L("attn_v", s->n_embd, kv_dim, s->wtype);
		L("attn_output", q_dim, s->n_embd, s->wtype);
		L("ffn_norm", s->n_embd, 1, GGML_TYPE_F32);
		L("ffn_gate", s->n_embd, s->n_ff, s->ftype);
		L("ffn_up", s->n_embd, s->n_ff, l == 0 && s->odd_type ? s->odd_type : s->ftype);
		L("ffn_down", s->n_ff, s->n_embd, s->ftype);
#undef L
	}
#undef T
	gw_header(&b, 3, (uint64_t)n_t, n_kv);
	gw_bytes(&b, kv.data, kv.len);
	uint64_t offset = 0;
	for (int i = 0; i < n_t; i++) {
		const struct type_traits *tt = quant_traits(t[i].type);
		uint64_t ne[2] = { t[i].ne0, t[i].ne1 };
		gw_tensor_info(&b, t[i].name, t[i].ne1 == 1 ? 1 : 2, ne, t[i].type, offset);
		offset += (t[i].ne0 * t[i].ne1 / tt->block_size * tt->type_size + align - 1) / align * align;
	}
	gw_pad(&b, align);
	uint64_t state = 7;
	for (int i = 0; i < n_t; i++) {
		tensor_data(&b, &t[i], &state);
		gw_pad(&b, align);
	}
	int rc = gw_save(&b, path);
	strbuf_free(&kv);
	strbuf_free(&b);
	return rc;
}

static int write_vocab(const char *path, int spm, const char *pre)
{
	struct strbuf kv = { 0 }, b = { 0 };
	uint32_t n_kv = spm ? spm_vocab(&kv) : bpe_vocab(&kv, pre);
	gw_header(&b, 3, 0, n_kv);
	gw_bytes(&b, kv.data, kv.len);
	int rc = gw_save(&b, path);
	strbuf_free(&kv);
	strbuf_free(&b);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds DIR\n");
		return 2;
	}
	static const struct {
		const char *name;
		struct seed_model m;
	} models[] = {
		{ "model-f32-spm", { 8, 16, 2, 1, 1, GGML_TYPE_F32, GGML_TYPE_F32, false, false, false, 1, 0 } },
		{ "model-f16-tied-bpe", { 8, 8, 4, 2, 2, GGML_TYPE_F16, GGML_TYPE_F16, true, false, false, 0, 0 } },
		{ "model-extras", { 8, 16, 2, 2, 1, GGML_TYPE_F32, GGML_TYPE_F16, false, true, true, 1, 0 } },
		{ "model-q4_0-q8_0", { 32, 32, 4, 2, 1, GGML_TYPE_Q4_0, GGML_TYPE_Q8_0, true, false, false, 1, 0 } },
		{ "model-mxfp4", { 32, 32, 2, 1, 1, GGML_TYPE_Q4_0, GGML_TYPE_Q4_0, true, false, false, 0, GGML_TYPE_MXFP4 } },
	};
	char path[4096];
	int failed = 0;
	for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
		snprintf(path, sizeof path, "%s/%s.gguf", argv[1], models[i].name);
		failed |= write_model(path, &models[i].m) != 0;
	}
	snprintf(path, sizeof path, "%s/vocab-spm.gguf", argv[1]);
	failed |= write_vocab(path, 1, NULL) != 0;
	snprintf(path, sizeof path, "%s/vocab-bpe-llama3.gguf", argv[1]);
	failed |= write_vocab(path, 0, "llama-bpe") != 0;
	snprintf(path, sizeof path, "%s/vocab-bpe-unknown-pre.gguf", argv[1]);
	failed |= write_vocab(path, 0, "no-such-pre") != 0;
	if (failed)
		fprintf(stderr, "mkseeds: cannot write into %s\n", argv[1]);
	return failed;
}
