/* fuzz_tokenizer.c - both tokenizers on arbitrary bytes, with every
 * vocabulary in ../shared/vocab (NIBBLE_FUZZ_VOCAB_DIR, or
 * $NIBBLE_TEST_DATA/vocab, names another place).  Ids must stay inside the
 * vocabulary; valid UTF-8 must come back from decode(encode(text)); any id
 * sequence must decode without harm, and streamed through the UTF-8
 * assembler as the chat screen does, must give valid UTF-8. */
#include "config.h"

#include <dirent.h>
#include <string.h>

#include "fuzz.h"
#include "model/model.h"
#include "text/bpe.h"
#include "text/utf8.h"
#include "base/util.h"

#ifndef FUZZ_VOCAB_DIR
#define FUZZ_VOCAB_DIR "../shared/vocab"
#endif
#define MAX_VOCABS 16

static struct model *vocabs[MAX_VOCABS];
static int n_vocabs;

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_vocab_file(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	return strncmp(e->d_name, "ggml-vocab-", 11) == 0 && n > 5 && strcmp(e->d_name + n - 5, ".gguf") == 0;
}

static const char *vocab_dir(char *buf, size_t size)
{
	const char *dir = getenv("NIBBLE_FUZZ_VOCAB_DIR"), *data = getenv("NIBBLE_TEST_DATA");
	if (dir && *dir)
		return dir;
	if (data && *data) {
		snprintf(buf, size, "%s/vocab", data);
		return buf;
	}
	return FUZZ_VOCAB_DIR;
}

int fuzz_tokenizer_vocab_count(void)
{
	return n_vocabs;
}

int FUZZ_INIT(tokenizer)(int *argc, char ***argv)
{
	char buf[4096];
	const char *dir = vocab_dir(buf, sizeof buf);
	struct dirent **names;
	int n = scandir(dir, &names, is_vocab_file, by_name);
	for (int i = 0; i < n; i++) {
		char path[4096 + 256 + 2];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
		if (n_vocabs < MAX_VOCABS) {
			/* A vocabulary of a kind nibble does not tokenize yet is left
			 * out; test_tokenizer checks that the supported ones load. */
			struct model *m = model_load(path, MODEL_LOAD_VOCAB);
			if (m)
				vocabs[n_vocabs++] = m;
			else
				fprintf(stderr, "fuzz_tokenizer: skipping %s: %s\n", path, error_message());
		}
		free(names[i]);
	}
	if (n > 0)
		free(names);
#ifndef FUZZ_REPLAY
	fprintf(stderr, "fuzz_tokenizer: %d vocabularies from '%s'\n", n_vocabs, dir);
	if (n_vocabs == 0) {
		fprintf(stderr, "fuzz_tokenizer: no ggml-vocab-*.gguf in '%s' (set NIBBLE_FUZZ_VOCAB_DIR)\n", dir);
		abort();
	}
#endif
	return 0;
}

static bool same(const struct strbuf *s, const uint8_t *p, size_t n)
{
	return s->len == n && (n == 0 || memcmp(s->data, p, n) == 0);
}

/* Decodes ids as a chat reply is shown: piece by piece through the UTF-8
 * assembler.  raw gets the pieces as they are. */
static void decode(const struct tokenizer *t, const int32_t *ids, size_t n, struct strbuf *raw,
		   struct strbuf *shown)
{
	struct utf8_stream u = { 0 };
	for (size_t i = 0; i < n; i++) {
		size_t before = raw->len;
		tokenizer_piece(t, ids[i], i == 0 && t->add_space_prefix, raw);
		if (raw->len > before)
			utf8_stream_push(&u, raw->data + before, raw->len - before, shown);
	}
	utf8_stream_flush(&u, shown);
	FUZZ_CHECK(fuzz_valid_utf8((const unsigned char *)shown->data, shown->len),
		   "the streamed reply is not UTF-8");
}

/* Whether the round trip must hold for text: valid UTF-8 (BPE reads an
 * invalid byte as U+FFFD), and for SentencePiece no U+2581 (its space) and no
 * NUL, which its pieces cannot hold. */
static bool must_round_trip(const struct tokenizer *t, const uint8_t *text, size_t n)
{
	if (!fuzz_valid_utf8(text, n))
		return false;
	if (t->kind == TOKENIZER_SPM)
		for (size_t i = 0; i < n; i++)
			if (text[i] == 0 || (i + 2 < n && memcmp(text + i, "\xe2\x96\x81", 3) == 0))
				return false;
	return true;
}

static void fuzz_vocab(const struct tokenizer *t, unsigned flags, const uint8_t *text, size_t n)
{
	int32_t *ids = NULL;
	size_t n_ids = 0, cap = 0;
	struct strbuf raw = { 0 }, shown = { 0 };

	/* as a prompt: any flags, and with special tokens the second half as
	 * what the user typed */
	struct text_span plain = { n / 2, n - n / 2 };
	tokenizer_encode_spans(t, (const char *)text, n, flags, &plain, 1, &ids, &n_ids, &cap);
	for (size_t i = 0; i < n_ids; i++)
		FUZZ_CHECK(ids[i] >= 0 && (uint32_t)ids[i] < t->n_vocab, "id %d of %u", ids[i], t->n_vocab);
	FUZZ_CHECK(n_ids <= 3 * n + 3, "%zu ids for %zu bytes", n_ids, n);
	decode(t, ids, n_ids, &raw, &shown);

	/* plain text must come back as it went in */
	n_ids = 0;
	raw.len = shown.len = 0;
	tokenizer_encode(t, (const char *)text, n, 0, &ids, &n_ids, &cap);
	for (size_t i = 0; i < n_ids; i++)
		FUZZ_CHECK(ids[i] >= 0 && (uint32_t)ids[i] < t->n_vocab, "id %d of %u", ids[i], t->n_vocab);
	decode(t, ids, n_ids, &raw, &shown);
	if (must_round_trip(t, text, n))
		FUZZ_CHECK(same(&raw, text, n) && same(&shown, text, n), "'%.*s' decodes as '%.*s'", (int)n,
			   (const char *)text, (int)raw.len, raw.data ? raw.data : "");

	/* the bytes as ids (three bytes each), from -1 to n_vocab */
	n_ids = 0;
	raw.len = shown.len = 0;
	for (size_t i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)text[i] | (uint32_t)text[i + 1] << 8 | (uint32_t)text[i + 2] << 16;
		tokenizer_push_id((int32_t)(v % (t->n_vocab + 2)) - 1, &ids, &n_ids, &cap);
	}
	decode(t, ids, n_ids, &raw, &shown);
	for (size_t i = 0; i < n_ids; i++)
		(void)tokenizer_is_eog(t, ids[i]);

	free(ids);
	strbuf_free(&raw);
	strbuf_free(&shown);
}

int FUZZ_ONE(tokenizer)(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	/* The first byte: the encode flags. */
	unsigned flags = data[0] & (TOKENIZE_ADD_BOS | TOKENIZE_ADD_EOS | TOKENIZE_PARSE_SPECIAL);
	for (int i = 0; i < n_vocabs; i++)
		fuzz_vocab(vocabs[i]->tokenizer, flags, data + 1, size - 1);
	return 0;
}
