/* tokenizer.c - the vocabulary of a GGUF file and what every tokenizer kind
 * shares: loading, BOS/EOS and end-of-generation tokens, cutting special
 * tokens out of the text; and SentencePiece-style BPE: spaces become U+2581,
 * adjacent pieces are merged best score first while the merged text is a
 * token, and pieces that are not tokens fall back to <0xXX> bytes.  Byte-level
 * BPE is in tokenizer_bpe.c. */
#include "config.h"

#include "text/tokenizer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/bpe.h"
#include "text/merge_queue.h"
#include "base/util.h"

#define SPM_SPACE "\xe2\x96\x81" /* U+2581 LOWER ONE EIGHTH BLOCK */

static int read_token_id(const struct gguf *g, const char *key, uint32_t n_vocab, int32_t dflt, int32_t *out)
{
	int64_t v;
	int r = gguf_get_i64(g, key, &v);
	if (r < 0)
		return -1;
	if (r == 0)
		v = dflt;
	if (v == -1 || v == UINT32_MAX) { /* the converters' way of saying "none" */
		*out = -1;
		return 0;
	}
	if (v < 0 || v >= n_vocab) {
		if (r == 0) { /* a default that this vocabulary is too small for */
			*out = -1;
			return 0;
		}
		return error("%s %" PRId64 " is out of range for a vocabulary of %u tokens", key, v, n_vocab);
	}
	*out = (int32_t)v;
	return 0;
}

static int read_flag(const struct gguf *g, const char *key, bool dflt, bool *out)
{
	*out = dflt;
	return gguf_get_bool(g, key, out) < 0 ? -1 : 0;
}

static const struct tokenizer *sort_ctx;

static int by_length_desc(const void *a, const void *b)
{
	uint64_t la = sort_ctx->text[*(const int32_t *)a].len, lb = sort_ctx->text[*(const int32_t *)b].len;
	if (la != lb)
		return la > lb ? -1 : 1;
	return *(const int32_t *)a - *(const int32_t *)b;
}

static int load_vocab(struct tokenizer *t, const struct gguf *g)
{
	const struct gguf_array *tokens, *scores = NULL, *types = NULL;
	int r = gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, &tokens);
	if (r <= 0)
		return r < 0 ? -1 : error("no vocabulary (tokenizer.ggml.tokens is missing)");
	if (tokens->count == 0 || tokens->count > INT32_MAX)
		return error("tokenizer.ggml.tokens has %" PRIu64 " entries", tokens->count);
	t->n_vocab = (uint32_t)tokens->count;
	t->text = tokens->strs;

	if (gguf_get_arr(g, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, &scores) < 0 ||
	    gguf_get_arr(g, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, &types) < 0)
		return -1;
	if (scores && scores->count != t->n_vocab)
		return error("tokenizer.ggml.scores has %" PRIu64 " entries for %u tokens", scores->count, t->n_vocab);
	if (types && types->count != t->n_vocab)
		return error("tokenizer.ggml.token_type has %" PRIu64 " entries for %u tokens", types->count, t->n_vocab);

	t->scores = xmalloc(t->n_vocab * sizeof *t->scores);
	t->types = xmalloc(t->n_vocab);
	for (uint32_t i = 0; i < t->n_vocab; i++) {
		t->scores[i] = scores ? (float)gguf_arr_f64(scores, i) : 0.0f;
		int64_t ty = types ? gguf_arr_i64(types, i) : TOKEN_NORMAL;
		t->types[i] = ty >= TOKEN_NORMAL && ty <= TOKEN_BYTE ? (uint8_t)ty : TOKEN_NORMAL;
	}

	/* Inserted from the end so that, as in llama.cpp, the highest id wins
	 * when two tokens share a text. */
	strmap_init(&t->index, t->n_vocab);
	for (uint32_t i = t->n_vocab; i-- > 0;)
		strmap_put(&t->index, t->text[i].ptr, t->text[i].len, (int32_t)i);

	for (int b = 0; b < 256; b++) {
		char hex[8];
		snprintf(hex, sizeof hex, "<0x%02X>", b);
		t->byte_token[b] = strmap_get(&t->index, hex, strlen(hex));
	}

	t->specials = xmalloc(t->n_vocab * sizeof *t->specials);
	for (uint32_t i = 0; i < t->n_vocab; i++)
		if ((t->types[i] == TOKEN_CONTROL || t->types[i] == TOKEN_USER_DEFINED || t->types[i] == TOKEN_UNKNOWN) &&
		    t->text[i].len > 0)
			t->specials[t->n_specials++] = (int32_t)i;
	sort_ctx = t;
	qsort(t->specials, t->n_specials, sizeof *t->specials, by_length_desc);
	return 0;
}

static void add_eog(struct tokenizer *t, int32_t id)
{
	if (id < 0 || tokenizer_is_eog(t, id) || t->n_eog == TOKENIZER_MAX_EOG)
		return;
	t->eog[t->n_eog++] = id;
}

/* EOS, the end-of-turn and end-of-message ids, and, as llama.cpp finds them,
 * control tokens whose text says "end". */
static int find_eog(struct tokenizer *t, const struct gguf *g)
{
	static const char *const end_texts[] = {
		"<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
		"<|end_of_text|>", "</s>", "<|END_OF_TURN_TOKEN|>",
		"<\xef\xbd\x9c" "end\xe2\x96\x81" "of\xe2\x96\x81" "sentence\xef\xbd\x9c>", /* <｜end▁of▁sentence｜> */
	};
	int32_t eot, eom;
	if (read_token_id(g, "tokenizer.ggml.eot_token_id", t->n_vocab, -1, &eot) < 0 ||
	    read_token_id(g, "tokenizer.ggml.eom_token_id", t->n_vocab, -1, &eom) < 0)
		return -1;
	add_eog(t, t->eos);
	add_eog(t, eot);
	add_eog(t, eom);
	for (size_t i = 0; i < ARRAY_LEN(end_texts); i++) {
		int32_t id = strmap_get(&t->index, end_texts[i], strlen(end_texts[i]));
		if (id >= 0 && t->types[id] == TOKEN_CONTROL)
			add_eog(t, id);
	}
	return 0;
}

struct tokenizer *tokenizer_load(const struct gguf *g)
{
	struct tokenizer *t = xcalloc(1, sizeof *t);
	struct gguf_str model;
	int r = gguf_get_str(g, "tokenizer.ggml.model", &model);
	if (r <= 0) {
		if (r == 0)
			error("no tokenizer (tokenizer.ggml.model is missing)");
		goto fail;
	}
	if (gguf_str_eq(model, "llama")) {
		t->kind = TOKENIZER_SPM;
	} else if (gguf_str_eq(model, "gpt2")) {
		t->kind = TOKENIZER_BPE;
	} else {
		error("unsupported tokenizer '%.*s' (tokenizer.ggml.model)", (int)(model.len > 32 ? 32 : model.len),
		      model.ptr);
		goto fail;
	}
	if (load_vocab(t, g) < 0)
		goto fail;

	/* llama.cpp's defaults for what the file leaves out */
	int32_t bos = 1, eos = 2, unk = 0;
	bool add_bos = true, add_space_prefix = true;
	if (t->kind == TOKENIZER_BPE) {
		const struct pretokenizer_info *pre;
		if (tokenizer_bpe_load(t, g, &pre) < 0)
			goto fail;
		bos = pre && pre->no_default_bos ? -1 : 11;
		eos = 11;
		unk = -1;
		add_bos = pre && pre->add_bos;
		add_space_prefix = false;
	}
	if (read_token_id(g, "tokenizer.ggml.bos_token_id", t->n_vocab, bos, &t->bos) < 0 ||
	    read_token_id(g, "tokenizer.ggml.eos_token_id", t->n_vocab, eos, &t->eos) < 0 ||
	    read_token_id(g, "tokenizer.ggml.unknown_token_id", t->n_vocab, unk, &t->unk) < 0 ||
	    read_flag(g, "tokenizer.ggml.add_bos_token", add_bos, &t->add_bos) < 0 ||
	    read_flag(g, "tokenizer.ggml.add_eos_token", false, &t->add_eos) < 0 ||
	    read_flag(g, "tokenizer.ggml.add_space_prefix", add_space_prefix, &t->add_space_prefix) < 0 ||
	    find_eog(t, g) < 0)
		goto fail;
	return t;
fail:
	tokenizer_free(t);
	return NULL;
}

void tokenizer_free(struct tokenizer *t)
{
	if (!t)
		return;
	free(t->scores);
	free(t->types);
	free(t->specials);
	strmap_free(&t->index);
	strmap_free(&t->merges);
	free(t);
}

bool tokenizer_is_eog(const struct tokenizer *t, int32_t id)
{
	for (uint32_t i = 0; i < t->n_eog; i++)
		if (t->eog[i] == id)
			return true;
	return false;
}

void tokenizer_push_id(int32_t id, int32_t **ids, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*ids = xrealloc(*ids, *cap * sizeof **ids);
	}
	(*ids)[(*n)++] = id;
}

/* ---- SentencePiece BPE -------------------------------------------------- */

struct symbol {
	const char *text;
	size_t n; /* 0 once merged into its left neighbour */
	int prev, next;
};

struct spm_state {
	const struct tokenizer *t;
	struct symbol *sym;
	struct merge_queue queue;
};

static void try_add_bigram(struct spm_state *s, int left, int right)
{
	if (left < 0 || right < 0)
		return;
	const struct symbol *l = &s->sym[left], *r = &s->sym[right];
	size_t size = l->n + r->n;
	/* Symbols are adjacent in the text, so the pair is one contiguous span. */
	int32_t id = strmap_get(&s->t->index, l->text, size);
	if (id < 0)
		return;
	merge_queue_push(&s->queue, (struct merge){ left, right, s->t->scores[id], size });
}

static size_t utf8_len(unsigned char c)
{
	static const uint8_t lens[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4 };
	return lens[c >> 4];
}

static void emit_piece(const struct tokenizer *t, const char *text, size_t n, int32_t **ids, size_t *cnt,
		       size_t *cap)
{
	int32_t id = strmap_get(&t->index, text, n);
	if (id >= 0) {
		tokenizer_push_id(id, ids, cnt, cap);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int32_t b = t->byte_token[(unsigned char)text[i]];
		if (b < 0)
			b = t->unk;
		if (b >= 0)
			tokenizer_push_id(b, ids, cnt, cap);
	}
}

static void spm_encode(const struct tokenizer *t, const char *text, size_t len, bool space_prefix,
		       int32_t **ids, size_t *n, size_t *cap)
{
	/* Escape: an optional leading space, then every space as U+2581. */
	struct strbuf esc = { 0 };
	if (space_prefix)
		strbuf_append(&esc, SPM_SPACE, 3);
	for (size_t i = 0; i < len; i++) {
		if (text[i] == ' ')
			strbuf_append(&esc, SPM_SPACE, 3);
		else
			strbuf_append(&esc, &text[i], 1);
	}
	if (esc.len == 0)
		return;

	struct spm_state s = { .t = t };
	s.sym = xmalloc(esc.len * sizeof *s.sym);
	int n_sym = 0;
	for (size_t off = 0; off < esc.len; n_sym++) {
		size_t cl = utf8_len((unsigned char)esc.data[off]);
		if (cl > esc.len - off)
			cl = esc.len - off;
		s.sym[n_sym] = (struct symbol){ esc.data + off, cl, n_sym - 1, -1 };
		off += cl;
		if (off < esc.len)
			s.sym[n_sym].next = n_sym + 1;
	}
	for (int i = 1; i < n_sym; i++)
		try_add_bigram(&s, i - 1, i);
	while (s.queue.len > 0) {
		struct merge bg = merge_queue_pop(&s.queue);
		struct symbol *l = &s.sym[bg.left], *r = &s.sym[bg.right];
		if (l->n == 0 || r->n == 0 || l->n + r->n != bg.size)
			continue; /* stale: one side has merged since */
		l->n += r->n;
		r->n = 0;
		l->next = r->next;
		if (r->next >= 0)
			s.sym[r->next].prev = bg.left;
		try_add_bigram(&s, l->prev, bg.left);
		try_add_bigram(&s, bg.left, l->next);
	}
	for (int i = 0; i != -1; i = s.sym[i].next)
		emit_piece(t, s.sym[i].text, s.sym[i].n, ids, n, cap);
	free(s.sym);
	merge_queue_free(&s.queue);
	strbuf_free(&esc);
}

/* A piece of the input: raw text still to be tokenized, or one special token. */
struct fragment {
	size_t off, len;
	int32_t token; /* -1: raw text */
};

struct fragments {
	struct fragment *v;
	size_t n, cap;
};

static void fragment_push(struct fragments *f, size_t off, size_t len, int32_t token)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		f->v = xrealloc(f->v, f->cap * sizeof *f->v);
	}
	f->v[f->n++] = (struct fragment){ off, len, token };
}

/* Splits the raw fragments of *f at every occurrence of special token id. */
static bool overlaps(const struct text_span *spans, size_t n, size_t off, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (off < spans[i].off + spans[i].len && spans[i].off < off + len)
			return true;
	return false;
}

/* Splits the raw fragments of *f at every occurrence of special token id,
 * except occurrences of a control token inside a plain span. */
static void split_at_special(const struct tokenizer *t, const char *text, struct fragments *f, int32_t id,
			     const struct text_span *plain, size_t n_plain)
{
	const struct gguf_str *sp = &t->text[id];
	bool anywhere = t->types[id] == TOKEN_USER_DEFINED;
	struct fragments out = { 0 };
	for (size_t i = 0; i < f->n; i++) {
		struct fragment fr = f->v[i];
		if (fr.token >= 0) {
			fragment_push(&out, fr.off, fr.len, fr.token);
			continue;
		}
		size_t pos = fr.off, search = fr.off, end = fr.off + fr.len;
		while (search < end) {
			const char *hit = memmem(text + search, end - search, sp->ptr, sp->len);
			if (!hit)
				break;
			size_t at = (size_t)(hit - text);
			if (!anywhere && overlaps(plain, n_plain, at, sp->len)) {
				search = at + 1;
				continue;
			}
			if (at > pos)
				fragment_push(&out, pos, at - pos, -1);
			fragment_push(&out, at, sp->len, id);
			pos = search = at + sp->len;
		}
		if (pos < end)
			fragment_push(&out, pos, end - pos, -1);
	}
	free(f->v);
	*f = out;
}

void tokenizer_encode(const struct tokenizer *t, const char *text, size_t len, unsigned flags,
		      int32_t **ids, size_t *n, size_t *cap)
{
	tokenizer_encode_spans(t, text, len, flags, NULL, 0, ids, n, cap);
}

void tokenizer_encode_spans(const struct tokenizer *t, const char *text, size_t len, unsigned flags,
			    const struct text_span *plain, size_t n_plain, int32_t **ids, size_t *n, size_t *cap)
{
	/* Special tokens are cut out first, longest text first, as llama.cpp
	 * does; control and unknown tokens only when asked, user-defined ones
	 * always. */
	struct fragments f = { 0 };
	if (len > 0)
		fragment_push(&f, 0, len, -1);
	bool present[256] = { false };
	for (size_t i = 0; i < len; i++)
		present[(unsigned char)text[i]] = true;
	for (uint32_t i = 0; i < t->n_specials && len > 0; i++) {
		int32_t id = t->specials[i];
		if (!(flags & TOKENIZE_PARSE_SPECIAL) && t->types[id] != TOKEN_USER_DEFINED)
			continue;
		if (present[(unsigned char)t->text[id].ptr[0]] && t->text[id].len <= len)
			split_at_special(t, text, &f, id, plain, n_plain);
	}

	bool after_special = true; /* the text start counts as "after a special token" */
	if ((flags & TOKENIZE_ADD_BOS) && t->add_bos && t->bos >= 0)
		tokenizer_push_id(t->bos, ids, n, cap);
	for (size_t i = 0; i < f.n; i++) {
		if (f.v[i].token >= 0) {
			tokenizer_push_id(f.v[i].token, ids, n, cap);
			after_special = true;
		} else if (t->kind == TOKENIZER_BPE) {
			tokenizer_bpe_encode(t, text + f.v[i].off, f.v[i].len, ids, n, cap);
		} else {
			spm_encode(t, text + f.v[i].off, f.v[i].len, t->add_space_prefix && after_special, ids, n, cap);
			after_special = false;
		}
	}
	if ((flags & TOKENIZE_ADD_EOS) && t->add_eos && t->eos >= 0)
		tokenizer_push_id(t->eos, ids, n, cap);
	free(f.v);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void spm_piece(const struct tokenizer *t, int32_t id, struct strbuf *out)
{
	const struct gguf_str *s = &t->text[id];
	switch (t->types[id]) {
	case TOKEN_NORMAL:
		for (size_t i = 0; i < s->len;) {
			if (s->len - i >= 3 && memcmp(s->ptr + i, SPM_SPACE, 3) == 0) {
				strbuf_append(out, " ", 1);
				i += 3;
			} else {
				strbuf_append(out, s->ptr + i, 1);
				i++;
			}
		}
		break;
	case TOKEN_BYTE:
		if (s->len == 6 && memcmp(s->ptr, "<0x", 3) == 0 && s->ptr[5] == '>' &&
		    hex_digit(s->ptr[3]) >= 0 && hex_digit(s->ptr[4]) >= 0) {
			char byte = (char)(hex_digit(s->ptr[3]) * 16 + hex_digit(s->ptr[4]));
			strbuf_append(out, &byte, 1);
		}
		break;
	case TOKEN_USER_DEFINED:
		strbuf_append(out, s->ptr, s->len);
		break;
	case TOKEN_UNKNOWN:
		strbuf_append(out, "\xe2\x81\x87", 3); /* U+2047 ⁇, as SentencePiece shows it */
		break;
	default: /* control and unused tokens print nothing */
		break;
	}
}

void tokenizer_piece(const struct tokenizer *t, int32_t id, bool strip_space, struct strbuf *out)
{
	if (id < 0 || (uint32_t)id >= t->n_vocab)
		return;
	size_t start = out->len;
	if (t->kind == TOKENIZER_BPE)
		tokenizer_bpe_piece(t, id, out);
	else
		spm_piece(t, id, out);
	if (strip_space && out->len > start && out->data[start] == ' ') {
		memmove(out->data + start, out->data + start + 1, out->len - start - 1);
		out->data[--out->len] = '\0';
	}
}
