/* test_tokenizer.c - both tokenizers against llama.cpp's reference vectors
 * (../shared/vocab/ggml-vocab-{llama-spm,llama-bpe,qwen2,gpt-2}.gguf.{inp,out}),
 * decoding, special and end-of-generation tokens, BOS/EOS, an unknown
 * pre-tokenizer, hostile merges, invalid UTF-8 and the load time. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixtures.h"
#include "gguf_writer.h"
#include "model/model.h"
#include "tap.h"
#include "base/util.h"

#define SEPARATOR "\n__ggml_vocab_test__\n"

static char tmp_path[] = "/tmp/nibble-test-tokenizer-XXXXXX";

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

static struct model *load_vocab(const char *name)
{
	char rel[256];
	snprintf(rel, sizeof rel, "vocab/ggml-vocab-%s.gguf", name);
	struct model *m = model_load(fixture(rel), MODEL_LOAD_VOCAB);
	if (!ok(m != NULL, "%s: vocabulary loads", name))
		diag("%s", error_message());
	return m;
}

/* Decodes ids[0..n) into out; SentencePiece drops its prefix space. */
static void decode(const struct tokenizer *t, const int32_t *ids, size_t n, struct strbuf *out)
{
	out->len = 0;
	for (size_t i = 0; i < n; i++)
		tokenizer_piece(t, ids[i], i == 0 && t->add_space_prefix, out);
}

/* Runs the vectors of vocabulary `vectors` through the tokenizer of m. */
static void check_vectors(const struct model *m, const char *label, const char *vectors)
{
	char rel[256];
	size_t inp_len, out_len;
	snprintf(rel, sizeof rel, "vocab/ggml-vocab-%s.gguf.inp", vectors);
	char *inp = read_file(fixture(rel), &inp_len);
	snprintf(rel, sizeof rel, "vocab/ggml-vocab-%s.gguf.out", vectors);
	char *out = read_file(fixture(rel), &out_len);
	if (!ok(inp && out, "%s: vectors readable", label))
		goto done;

	char *text = inp, *line = out;
	int n_cases = 0, n_pass = 0, n_ref_round_trip = 0, n_bad_round_trip = 0;
	struct strbuf dec = { 0 };
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
			diag("%s: case %d '%.*s' differs", label, n_cases, (int)tlen, text);

		/* decode(encode(text)) is the text wherever decoding the
		 * reference ids gives the text */
		decode(m->tokenizer, want, n_want, &dec);
		bool ref_round_trip = dec.len == tlen && (tlen == 0 || memcmp(dec.data, text, tlen) == 0);
		decode(m->tokenizer, got, n_got, &dec);
		bool round_trip = dec.len == tlen && (tlen == 0 || memcmp(dec.data, text, tlen) == 0);
		n_ref_round_trip += ref_round_trip;
		if (ref_round_trip && !round_trip) {
			n_bad_round_trip++;
			diag("%s: case %d does not round-trip", label, n_cases);
		}
		free(got);

		text = sep ? sep + strlen(SEPARATOR) : NULL;
		line = eol ? eol + 1 : line + llen;
	}
	strbuf_free(&dec);
	ok(n_cases > 30 && n_pass == n_cases, "%s: %d of %d reference vectors match", label, n_pass, n_cases);
	ok(n_ref_round_trip == n_cases && n_bad_round_trip == 0,
	   "%s: decode(encode(text)) gives the text back, as the reference ids do, in %d of %d", label,
	   n_ref_round_trip - n_bad_round_trip, n_cases);
done:
	free(inp);
	free(out);
}

static void check_vocab_vectors(const char *name)
{
	struct model *m = load_vocab(name);
	if (m)
		check_vectors(m, name, name);
	model_free(m);
}

/* Encodes the C string text; returns the ids (caller frees) and their count. */
static int32_t *encode(const struct tokenizer *t, const char *text, unsigned flags, size_t *n)
{
	int32_t *ids = NULL;
	size_t cap = 0;
	*n = 0;
	tokenizer_encode(t, text, strlen(text), flags, &ids, n, &cap);
	return ids;
}

static bool ids_are(const int32_t *ids, size_t n, const int32_t *want, size_t n_want)
{
	return n == n_want && (n == 0 || memcmp(ids, want, n * sizeof *ids) == 0);
}

static void check_spm_basics(void)
{
	struct model *m = load_vocab("llama-spm");
	if (!m)
		return;
	struct tokenizer *t = m->tokenizer;
	ok(t->kind == TOKENIZER_SPM && t->bos == 1 && t->eos == 2 && t->unk == 0 && t->add_bos && !t->add_eos,
	   "BOS/EOS/UNK ids and flags");
	ok(t->n_eog == 1 && tokenizer_is_eog(t, 2) && !tokenizer_is_eog(t, 1), "llama-spm: </s> ends generation");

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

static void check_llama_bpe_basics(void)
{
	struct model *m = load_vocab("llama-bpe");
	if (!m)
		return;
	struct tokenizer *t = m->tokenizer;
	ok(t->kind == TOKENIZER_BPE && t->pre == PRETOKENIZER_LLAMA3 && !t->pre_unknown &&
	   strcmp(t->pre_name, "llama-bpe") == 0 && t->ignore_merges,
	   "llama-bpe: byte-level BPE with the Llama 3 pre-tokenizer, merges ignored for whole tokens");
	ok(t->bos == 128000 && t->eos == 128009 && t->unk == -1 && t->add_bos && !t->add_eos && !t->add_space_prefix,
	   "llama-bpe: BOS/EOS ids and flags");

	size_t n;
	int32_t *ids = encode(t, "Hello", TOKENIZE_ADD_SPECIAL, &n);
	ok(ids_are(ids, n, (int32_t[]){ 128000, 9906 }, 2), "llama-bpe: BOS is added");
	free(ids);

	ids = encode(t, "a<|eot_id|>b", 0, &n);
	bool has_eot = false;
	for (size_t i = 0; i < n; i++)
		has_eot |= ids[i] == 128009;
	struct strbuf s = { 0 };
	decode(t, ids, n, &s);
	ok(!has_eot && n > 3 && s.len == 12 && memcmp(s.data, "a<|eot_id|>b", 12) == 0,
	   "llama-bpe: <|eot_id|> stays text without TOKENIZE_PARSE_SPECIAL");
	free(ids);
	ids = encode(t, "a<|eot_id|>b", TOKENIZE_PARSE_SPECIAL, &n);
	ok(ids_are(ids, n, (int32_t[]){ 64, 128009, 65 }, 3), "llama-bpe: and becomes its token with it");
	free(ids);

	ok(tokenizer_is_eog(t, 128009) && tokenizer_is_eog(t, 128001) && !tokenizer_is_eog(t, 128000) &&
	   !tokenizer_is_eog(t, 9906) && !tokenizer_is_eog(t, -1),
	   "llama-bpe: <|eot_id|> and <|end_of_text|> end generation, BOS and words do not");

	s.len = 0;
	tokenizer_piece(t, 1917, false, &s);
	ok(s.len == 6 && memcmp(s.data, " world", 6) == 0, "llama-bpe: U+0120 decodes to a space");
	s.len = 0;
	tokenizer_piece(t, 128009, false, &s);
	tokenizer_piece(t, 128000, false, &s);
	ok(s.len == 0, "llama-bpe: control tokens decode to nothing");

	/* llama.cpp reads an invalid byte as U+FFFD, whose bytes then go
	 * through the byte map like any other. */
	static const char bad[] = "ab\xff\xfe c\xc3";
	ids = encode(t, bad, 0, &n);
	decode(t, ids, n, &s);
	static const char want[] = "ab\xef\xbf\xbd\xef\xbf\xbd c\xef\xbf\xbd";
	ok(n > 0 && s.len == strlen(want) && memcmp(s.data, want, s.len) == 0,
	   "llama-bpe: invalid UTF-8 gives byte-level tokens of U+FFFD, one per bad byte");
	free(ids);
	strbuf_free(&s);
	model_free(m);
}

static void check_qwen2_and_gpt2_basics(void)
{
	struct model *m = load_vocab("qwen2");
	if (m) {
		struct tokenizer *t = m->tokenizer;
		ok(t->pre == PRETOKENIZER_QWEN2 && !t->ignore_merges && !t->add_bos && t->eos == 151645,
		   "qwen2: its pre-tokenizer, no BOS added, EOS <|im_end|>");
		/* 128247 is a normal token "</s>": only control tokens are taken by their text */
		ok(tokenizer_is_eog(t, 151645) && tokenizer_is_eog(t, 151643) && !tokenizer_is_eog(t, 151644) &&
		   !tokenizer_is_eog(t, 128247),
		   "qwen2: <|im_end|> and <|endoftext|> end generation, <|im_start|> does not");
		size_t n;
		int32_t *ids = encode(t, "Hello", TOKENIZE_ADD_SPECIAL, &n);
		ok(ids_are(ids, n, (int32_t[]){ 9707 }, 1), "qwen2: nothing is added around the text");
		free(ids);
		ids = encode(t, "<think>x", 0, &n);
		struct strbuf s = { 0 };
		tokenizer_piece(t, 151667, false, &s);
		ok(n == 2 && ids[0] == 151667 && s.len == 7 && memcmp(s.data, "<think>", 7) == 0,
		   "qwen2: user-defined tokens are always matched and decode to their text");
		strbuf_free(&s);
		free(ids);
	}
	model_free(m);

	m = load_vocab("gpt-2");
	if (m) {
		struct tokenizer *t = m->tokenizer;
		ok(t->pre == PRETOKENIZER_GPT2 && t->bos == 50256 && !t->add_bos && tokenizer_is_eog(t, 50256),
		   "gpt-2: GPT-2 pre-tokenizer, <|endoftext|> ends generation");
	}
	model_free(m);
}

/* A copy of the GPT-2 vocabulary whose tokenizer.ggml.pre says "gpt-9". */
static void check_unknown_pre(void)
{
	size_t len;
	char *data = read_file(fixture("vocab/ggml-vocab-gpt-2.gguf"), &len);
	static const char key[] = "tokenizer.ggml.pre";
	char *at = data ? memmem(data, len, key, strlen(key)) : NULL;
	/* key, type (4 bytes), length (8 bytes), then the value */
	char *value = at && (size_t)(at - data) + strlen(key) + 17 <= len ? at + strlen(key) + 12 : NULL;
	if (!ok(value && memcmp(value, "gpt-2", 5) == 0, "the GPT-2 vocabulary can be patched")) {
		free(data);
		return;
	}
	value[4] = '9';
	struct strbuf b = { 0 };
	strbuf_append(&b, data, len);
	free(data);
	gw_save(&b, tmp_path);
	strbuf_free(&b);

	struct model *m = model_load(tmp_path, MODEL_LOAD_VOCAB);
	ok(m && m->tokenizer->pre_unknown && strcmp(m->tokenizer->pre_name, "gpt-9") == 0 &&
	   m->tokenizer->pre == PRETOKENIZER_GPT2,
	   "an unknown pre-tokenizer loads, flagged, with GPT-2's splitting");
	if (m)
		check_vectors(m, "gpt-2 as 'gpt-9'", "gpt-2");
	model_free(m);
}

/* ---- a small hand-made BPE vocabulary ------------------------------------ */

/* GPT-2's byte map, written out independently of the tokenizer's. */
static void byte_char(unsigned b, char out[3])
{
	bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
	unsigned cpt = b, n = 0;
	if (!printable)
		for (unsigned i = 0; i < b; i++)
			n += !((i >= 0x21 && i <= 0x7E) || (i >= 0xA1 && i <= 0xAC) || i >= 0xAE);
	if (!printable)
		cpt = 256 + n;
	if (cpt < 0x80) {
		out[0] = (char)cpt;
		out[1] = '\0';
	} else {
		out[0] = (char)(0xC0 | cpt >> 6);
		out[1] = (char)(0x80 | (cpt & 0x3F));
		out[2] = '\0';
	}
}

enum { EXTRA_AB = 256, EXTRA_ABC, EXTRA_END, N_TINY_TOKENS };

/* The vocabulary: the 256 byte characters (id = byte), "ab", "abc" and the
 * control token "<|end|>"; merges as given, pre-tokenizer `pre`. */
static struct model *tiny_bpe(const char *pre, const char *const *merges, size_t n_merges, bool merges_as_ints)
{
	static char chars[256][3];
	const char *tokens[N_TINY_TOKENS];
	for (unsigned b = 0; b < 256; b++) {
		byte_char(b, chars[b]);
		tokens[b] = chars[b];
	}
	tokens[EXTRA_AB] = "ab";
	tokens[EXTRA_ABC] = "abc";
	tokens[EXTRA_END] = "<|end|>";

	struct strbuf b = { 0 };
	gw_header(&b, 3, 0, 5);
	gw_kv_str(&b, "tokenizer.ggml.model", "gpt2");
	gw_kv_str(&b, "tokenizer.ggml.pre", pre);
	gw_kv_str_array(&b, "tokenizer.ggml.tokens", tokens, N_TINY_TOKENS);
	gw_str(&b, "tokenizer.ggml.token_type");
	gw_u32(&b, GGUF_TYPE_ARRAY);
	gw_u32(&b, GGUF_TYPE_INT32);
	gw_u64(&b, N_TINY_TOKENS);
	for (int i = 0; i < N_TINY_TOKENS; i++)
		gw_u32(&b, i == EXTRA_END ? TOKEN_CONTROL : TOKEN_NORMAL);
	if (merges_as_ints) {
		gw_str(&b, "tokenizer.ggml.merges");
		gw_u32(&b, GGUF_TYPE_ARRAY);
		gw_u32(&b, GGUF_TYPE_INT32);
		gw_u64(&b, 1);
		gw_u32(&b, 7);
	} else {
		gw_kv_str_array(&b, "tokenizer.ggml.merges", merges, n_merges);
	}
	gw_save(&b, tmp_path);
	strbuf_free(&b);
	return model_load(tmp_path, MODEL_LOAD_VOCAB);
}

static void check_tiny_bpe(void)
{
	static const char *const merges[] = {
		"a b", "ab c",
		/* hostile or useless: no space, empty sides, raw spaces, invalid
		 * UTF-8, pairs of unknown tokens, a duplicate of rank 0 */
		"", " ", "ab", "x ", " y", "a  b", "\xff \xfe", "zz yy", "a b", "\xc4\xa0 \xc4",
	};
	struct model *m = tiny_bpe("frobnicate", merges, ARRAY_LEN(merges), false);
	if (!ok(m != NULL, "a BPE vocabulary with hostile merges loads")) {
		diag("%s", error_message());
		return;
	}
	const struct tokenizer *t = m->tokenizer;
	ok(t->pre_unknown && strcmp(t->pre_name, "frobnicate") == 0 && t->pre == PRETOKENIZER_GPT2 && !t->add_bos,
	   "its unknown pre-tokenizer is flagged and GPT-2's splitting used");
	ok(tokenizer_is_eog(t, EXTRA_END) && t->eos == 11 && tokenizer_is_eog(t, 11) && t->n_eog == 2,
	   "<|end|> ends generation, as does llama.cpp's default EOS, 11");

	size_t n;
	/* "abc" | " ab" | " xyz" | "<|end|>" as text */
	int32_t *ids = encode(t, "abc ab xyz", 0, &n);
	/* the id of a byte's character is the byte: U+0120, the space, is 0x20 */
	ok(ids_are(ids, n, (int32_t[]){ EXTRA_ABC, ' ', EXTRA_AB, ' ', 'x', 'y', 'z' }, 7),
	   "merges apply by rank within pre-tokens");
	free(ids);
	ids = encode(t, "ab<|end|>", TOKENIZE_PARSE_SPECIAL | TOKENIZE_ADD_SPECIAL, &n);
	ok(ids_are(ids, n, (int32_t[]){ EXTRA_AB, EXTRA_END }, 2), "special tokens are cut out first");
	free(ids);
	ids = encode(t, "\xff\x80 a\xc3", 0, &n);
	struct strbuf s = { 0 };
	decode(t, ids, n, &s);
	static const char want[] = "\xef\xbf\xbd\xef\xbf\xbd a\xef\xbf\xbd";
	ok(s.len == strlen(want) && memcmp(s.data, want, s.len) == 0, "invalid UTF-8 becomes U+FFFD byte tokens");
	strbuf_free(&s);
	free(ids);
	model_free(m);

	m = tiny_bpe("gpt-2", NULL, 0, true);
	ok(!m && strstr(error_message(), "tokenizer.ggml.merges"), "merges of the wrong type are refused");
	model_free(m);
	m = tiny_bpe("gpt-2", NULL, 0, false);
	ok(m != NULL, "an empty merges array loads");
	if (m) {
		ids = encode(m->tokenizer, "ab", 0, &n);
		ok(ids_are(ids, n, (int32_t[]){ 'a', 'b' }, 2), "without merges, bytes stay apart");
		free(ids);
	}
	model_free(m);
}

static void check_load_time(void)
{
	const char *vocabs[] = { "llama-bpe", "qwen2" };
	for (size_t i = 0; i < ARRAY_LEN(vocabs); i++) {
		char rel[256];
		snprintf(rel, sizeof rel, "vocab/ggml-vocab-%s.gguf", vocabs[i]);
		double t0 = now_seconds();
		struct model *m = model_load(fixture(rel), MODEL_LOAD_VOCAB);
		double dt = now_seconds() - t0;
		bool loaded = m != NULL;
		model_free(m);
		const char *slow = getenv("NIBBLE_UNDER_VALGRIND");
		const char *san = getenv("NIBBLE_SANITIZED");
		if ((slow && *slow == '1') || (san && *san == '1')) {
			char why[128];
			snprintf(why, sizeof why, "%s loads in %.3f s; not timed under valgrind or sanitizers", vocabs[i], dt);
			skip(why);
			continue;
		}
		ok(loaded && dt < 0.5, "%s loads in %.3f s (under 0.5 s)", vocabs[i], dt);
	}
}

int main(void)
{
	fixtures_dir();
	int fd = mkstemp(tmp_path);
	if (fd >= 0)
		close(fd);
	check_vocab_vectors("llama-spm");
	check_vocab_vectors("llama-bpe");
	check_vocab_vectors("qwen2");
	check_vocab_vectors("gpt-2");
	check_spm_basics();
	check_llama_bpe_basics();
	check_qwen2_and_gpt2_basics();
	check_unknown_pre();
	check_tiny_bpe();
	check_load_time();
	unlink(tmp_path);
	return tap_done();
}
