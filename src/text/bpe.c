/* tokenizer_bpe.c - byte-level BPE as GPT-2 defined it and llama.cpp runs
 * it: the text is split into pre-tokens (pretokenize.c), each pre-token's
 * UTF-8 bytes are written as printable code points (GPT-2's byte map), and
 * adjacent symbols are merged lowest merge rank first, the leftmost pair on
 * a tie. */
#include "config.h"

#include "text/bpe.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "text/merge_queue.h"
#include "text/unicode.h"
#include "base/util.h"

/* More merges than any real vocabulary has; a bound on what a file can
 * make us allocate. */
#define MAX_MERGES (1u << 22)

/* ---- GPT-2's byte map ------------------------------------------------------
 * Bytes that are printable Latin-1 characters stand for themselves; the 68
 * others (controls, space, DEL, NBSP, soft hyphen) become U+0100 onwards, in
 * byte order. */

static bool byte_is_printable(unsigned b)
{
	return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

static uint32_t byte_to_cpt(unsigned char b)
{
	if (byte_is_printable(b))
		return b;
	if (b <= 0x20)
		return 0x100 + b;
	if (b <= 0xA0)
		return 0x100 + 33 + (b - 0x7F);
	return 0x100 + 67; /* 0xAD */
}

/* The byte cpt stands for, or -1. */
static int cpt_to_byte(uint32_t cpt)
{
	if (cpt < 0x100)
		return byte_is_printable(cpt) ? (int)cpt : -1;
	if (cpt < 0x100 + 33)
		return (int)(cpt - 0x100);
	if (cpt < 0x100 + 67)
		return (int)(0x7F + cpt - (0x100 + 33));
	return cpt == 0x100 + 67 ? 0xAD : -1;
}

/* ---- loading ------------------------------------------------------------- */

static void copy_name(char *dst, size_t size, const char *src, size_t len)
{
	size_t n = len < size - 1 ? len : size - 1;
	for (size_t i = 0; i < n; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7F ? src[i] : '?';
	dst[n] = '\0';
}

static int load_merges(struct tokenizer *t, const struct gguf *g)
{
	const struct gguf_array *merges;
	int r = gguf_get_arr(g, "tokenizer.ggml.merges", GGUF_TYPE_STRING, &merges);
	if (r <= 0)
		return r < 0 ? -1 : error("byte-level BPE vocabulary without merges (tokenizer.ggml.merges is missing)");
	if (merges->count > MAX_MERGES)
		return error("tokenizer.ggml.merges has %" PRIu64 " entries, more than the %u supported",
			     merges->count, MAX_MERGES);
	strmap_init(&t->merges, merges->count);
	for (uint64_t i = 0; i < merges->count; i++) {
		/* "left right", split at the first space after the first byte.
		 * Symbols never hold a raw space (the byte map turns it into
		 * U+0120), so looking up "left right" finds exactly this pair.
		 * An entry with no space or an empty side can never apply. */
		const struct gguf_str *m = &merges->strs[i];
		const char *space = m->len > 2 ? memchr(m->ptr + 1, ' ', m->len - 2) : NULL;
		if (space)
			strmap_put(&t->merges, m->ptr, m->len, (int32_t)i); /* the first of duplicates wins */
	}
	return 0;
}

int tokenizer_bpe_load(struct tokenizer *t, const struct gguf *g, const struct pretokenizer_info **pre)
{
	struct gguf_str name = { "default", 7 }; /* llama.cpp's choice when the key is missing */
	if (gguf_get_str(g, "tokenizer.ggml.pre", &name) < 0)
		return -1;
	copy_name(t->pre_name, sizeof t->pre_name, name.ptr, name.len);
	const struct pretokenizer_info *info = pretokenizer_find(name.ptr, name.len);
	t->pre_unknown = info == NULL;
	t->pre = info ? info->kind : PRETOKENIZER_GPT2;
	t->ignore_merges = info && info->ignore_merges;
	*pre = info;
	return load_merges(t, g);
}

/* ---- encoding -------------------------------------------------------------- */

struct symbol {
	size_t off, n; /* bytes of the mapped word; n is 0 once merged into the left neighbour */
	int prev, next;
};

/* Buffers reused from one pre-token to the next. */
struct bpe_state {
	const struct tokenizer *t;
	struct strbuf word; /* the pre-token in GPT-2's byte map */
	struct symbol *sym;
	size_t n_sym, sym_cap;
	struct merge_queue queue;
	char *key; /* "left right" */
	size_t key_cap;
};

static void try_add_pair(struct bpe_state *s, int left, int right)
{
	if (left < 0 || right < 0)
		return;
	const struct symbol *l = &s->sym[left], *r = &s->sym[right];
	size_t len = l->n + 1 + r->n;
	if (len > s->key_cap) {
		s->key_cap = len * 2;
		s->key = xrealloc(s->key, s->key_cap);
	}
	memcpy(s->key, s->word.data + l->off, l->n);
	s->key[l->n] = ' ';
	memcpy(s->key + l->n + 1, s->word.data + r->off, r->n);
	int32_t rank = strmap_get(&s->t->merges, s->key, len);
	if (rank >= 0)
		merge_queue_push(&s->queue, (struct merge){ left, right, -(float)rank, l->n + r->n });
}

static void push_symbol(struct bpe_state *s, size_t off, size_t n)
{
	if (s->n_sym == s->sym_cap) {
		s->sym_cap = s->sym_cap ? s->sym_cap * 2 : 64;
		s->sym = xrealloc(s->sym, s->sym_cap * sizeof *s->sym);
	}
	int i = (int)s->n_sym++;
	s->sym[i] = (struct symbol){ off, n, i - 1, -1 };
	if (i > 0)
		s->sym[i - 1].next = i;
}

/* Writes the pre-token's code points into s->word through the byte map,
 * one symbol per byte of their UTF-8. */
static void map_word(struct bpe_state *s, const uint32_t *cpts, size_t n)
{
	s->word.len = 0;
	s->n_sym = 0;
	for (size_t i = 0; i < n; i++) {
		char utf8[4];
		size_t k = unicode_encode(cpts[i], utf8);
		for (size_t j = 0; j < k; j++) {
			char mapped[4];
			size_t m = unicode_encode(byte_to_cpt((unsigned char)utf8[j]), mapped);
			push_symbol(s, s->word.len, m);
			strbuf_append(&s->word, mapped, m);
		}
	}
}

/* The token of a final symbol, or, when it is none (merges that make no
 * token), the one-byte tokens of its bytes, as llama.cpp does. */
static void emit_symbol(const struct tokenizer *t, const char *text, size_t n, int32_t **ids, size_t *cnt,
			size_t *cap)
{
	int32_t id = strmap_get(&t->index, text, n);
	if (id >= 0) {
		tokenizer_push_id(id, ids, cnt, cap);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		id = strmap_get(&t->index, text + i, 1);
		if (id >= 0)
			tokenizer_push_id(id, ids, cnt, cap);
	}
}

static void encode_word(struct bpe_state *s, int32_t **ids, size_t *n, size_t *cap)
{
	const struct tokenizer *t = s->t;
	if (t->ignore_merges) {
		int32_t id = strmap_get(&t->index, s->word.data, s->word.len);
		if (id >= 0) {
			tokenizer_push_id(id, ids, n, cap);
			return;
		}
	}
	s->queue.len = 0;
	for (size_t i = 1; i < s->n_sym; i++)
		try_add_pair(s, (int)i - 1, (int)i);
	while (s->queue.len > 0) {
		struct merge p = merge_queue_pop(&s->queue);
		struct symbol *l = &s->sym[p.left], *r = &s->sym[p.right];
		if (l->n == 0 || r->n == 0 || l->n + r->n != p.size)
			continue; /* stale: one side has merged since */
		l->n += r->n;
		r->n = 0;
		l->next = r->next;
		if (r->next >= 0)
			s->sym[r->next].prev = p.left;
		try_add_pair(s, l->prev, p.left);
		try_add_pair(s, p.left, l->next);
	}
	for (size_t i = 0; i < s->n_sym; i++)
		if (s->sym[i].n > 0)
			emit_symbol(t, s->word.data + s->sym[i].off, s->sym[i].n, ids, n, cap);
}

void tokenizer_bpe_encode(const struct tokenizer *t, const char *text, size_t len, int32_t **ids, size_t *n,
			  size_t *cap)
{
	if (len == 0)
		return;
	uint32_t *cpts = xmalloc(len * sizeof *cpts);
	size_t n_cpts = 0;
	for (size_t off = 0; off < len; n_cpts++)
		off += unicode_decode(text + off, len - off, &cpts[n_cpts]);

	struct pretokens words = { 0 };
	pretokenize(t->pre, cpts, n_cpts, &words);
	struct bpe_state s = { .t = t };
	size_t start = 0;
	for (size_t w = 0; w < words.n; w++) {
		map_word(&s, cpts + start, words.len[w]);
		encode_word(&s, ids, n, cap);
		start += words.len[w];
	}
	pretokens_free(&words);
	strbuf_free(&s.word);
	free(s.sym);
	merge_queue_free(&s.queue);
	free(s.key);
	free(cpts);
}

/* ---- decoding -------------------------------------------------------------- */

void tokenizer_bpe_piece(const struct tokenizer *t, int32_t id, struct strbuf *out)
{
	const struct gguf_str *s = &t->text[id];
	switch (t->types[id]) {
	case TOKEN_NORMAL:
		/* Code points outside the byte map (a malformed token) pass through. */
		for (size_t off = 0; off < s->len;) {
			uint32_t cpt;
			size_t k = unicode_decode(s->ptr + off, s->len - off, &cpt);
			int b = cpt_to_byte(cpt);
			if (b >= 0) {
				char c = (char)b;
				strbuf_append(out, &c, 1);
			} else {
				strbuf_append(out, s->ptr + off, k);
			}
			off += k;
		}
		break;
	case TOKEN_USER_DEFINED:
		strbuf_append(out, s->ptr, s->len);
		break;
	default: /* control, unknown, unused and byte tokens print nothing */
		break;
	}
}
