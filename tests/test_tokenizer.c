/* test_tokenizer.c - the SPM tokenizer against llama.cpp's reference vectors
 * (../shared/vocab/ggml-vocab-llama-spm.gguf.{inp,out}), plus decoding. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "model.h"
#include "tap.h"
#include "util.h"

#define SEPARATOR "\n__ggml_vocab_test__\n"

/* Parses one line of space-separated ids. */
static size_t parse_ids(const char *line, size_t len, int32_t *out, size_t max)
{
	size_t n = 0;
	char *copy = xstrndup(line, len), *save = NULL;
	for (char *tok = strtok_r(copy, " \t\r", &save); tok && n < max; tok = strtok_r(NULL, " \t\r", &save))
		out[n++] = (int32_t)strtol(tok, NULL, 10);
	free(copy);
	return n;
}

static void check_vectors(const char *vocab)
{
	char rel[256];
	snprintf(rel, sizeof rel, "vocab/ggml-vocab-%s.gguf", vocab);
	struct model *m = model_load(fixture(rel), MODEL_LOAD_VOCAB);
	if (!ok(m != NULL, "%s: vocabulary loads", vocab)) {
		diag("%s", error_message());
		return;
	}
	size_t inp_len, out_len;
	snprintf(rel, sizeof rel, "vocab/ggml-vocab-%s.gguf.inp", vocab);
	char *inp = read_file(fixture(rel), &inp_len);
	snprintf(rel, sizeof rel, "vocab/ggml-vocab-%s.gguf.out", vocab);
	char *out = read_file(fixture(rel), &out_len);
	if (!ok(inp && out, "%s: vectors readable", vocab))
		goto done;

	char *text = inp, *line = out;
	int n_cases = 0, n_pass = 0;
	while (text && *line) {
		char *sep = strstr(text, SEPARATOR);
		size_t tlen = sep ? (size_t)(sep - text) : strlen(text);
		char *eol = strchr(line, '\n');
		size_t llen = eol ? (size_t)(eol - line) : strlen(line);

		int32_t want[1024], *got = NULL;
		size_t n_want = parse_ids(line, llen, want, 1024), n_got = 0, cap = 0;
		tokenizer_encode(m->tokenizer, text, tlen, 0, &got, &n_got, &cap);
		bool same = n_got == n_want && (n_got == 0 || memcmp(got, want, n_got * sizeof *got) == 0);
		n_cases++;
		n_pass += same;
		if (!same)
			diag("%s: case %d '%.*s' differs", vocab, n_cases, (int)tlen, text);

		/* Decoding the ids gives back the text (SPM drops the prefix space). */
		struct strbuf dec = { 0 };
		for (size_t i = 0; i < n_got; i++)
			tokenizer_piece(m->tokenizer, got[i], i == 0, &dec);
		if (!(dec.len == tlen && (tlen == 0 || memcmp(dec.data, text, tlen) == 0)) && same)
			diag("%s: case %d does not round-trip", vocab, n_cases);
		strbuf_free(&dec);
		free(got);

		text = sep ? sep + strlen(SEPARATOR) : NULL;
		line = eol ? eol + 1 : line + llen;
	}
	ok(n_cases > 30 && n_pass == n_cases, "%s: %d of %d reference vectors match", vocab, n_pass, n_cases);
done:
	free(inp);
	free(out);
	model_free(m);
}

static void check_basics(void)
{
	struct model *m = model_load(fixture("vocab/ggml-vocab-llama-spm.gguf"), MODEL_LOAD_VOCAB);
	if (!ok(m != NULL, "llama-spm vocabulary loads"))
		return;
	struct tokenizer *t = m->tokenizer;
	ok(t->bos == 1 && t->eos == 2 && t->unk == 0 && t->add_bos && !t->add_eos, "BOS/EOS/UNK ids and flags");

	int32_t *ids = NULL;
	size_t n = 0, cap = 0;
	tokenizer_encode(t, "Hello", 5, TOKENIZE_ADD_SPECIAL, &ids, &n, &cap);
	ok(n == 2 && ids[0] == 1 && ids[1] == 15043, "BOS is added when the vocabulary asks");

	n = 0;
	tokenizer_encode(t, "a</s>b", 6, 0, &ids, &n, &cap);
	bool has_eos = false;
	for (size_t i = 0; i < n; i++)
		has_eos |= ids[i] == 2;
	ok(!has_eos && n > 2, "control-token text stays plain text by default");

	n = 0;
	tokenizer_encode(t, "a</s>b", 6, TOKENIZE_PARSE_SPECIAL, &ids, &n, &cap);
	/* "▁a" "</s>" "▁b": like SentencePiece, text after a special token gets the space prefix */
	ok(n == 3 && ids[0] == 263 && ids[1] == 2 && ids[2] == 289, "control-token text becomes the token when asked");

	struct strbuf s = { 0 };
	tokenizer_piece(t, 3 + 0xe2, false, &s); /* <0xE2> */
	ok(s.len == 1 && (unsigned char)s.data[0] == 0xe2, "byte tokens decode to their byte");
	s.len = 0;
	tokenizer_piece(t, 2, false, &s);
	ok(s.len == 0, "control tokens decode to nothing");
	s.len = 0;
	tokenizer_piece(t, 15043, false, &s);
	ok(s.len == 6 && memcmp(s.data, " Hello", 6) == 0, "U+2581 decodes to a space");
	s.len = 0;
	tokenizer_piece(t, 15043, true, &s);
	ok(s.len == 5 && memcmp(s.data, "Hello", 5) == 0, "the leading space can be stripped");
	s.len = 0;
	tokenizer_piece(t, -1, false, &s);
	tokenizer_piece(t, 999999, false, &s);
	ok(s.len == 0, "out-of-range ids decode to nothing");
	strbuf_free(&s);
	free(ids);
	model_free(m);
}

int main(void)
{
	fixtures_dir();
	check_vectors("llama-spm");
	check_basics();
	return tap_done();
}
