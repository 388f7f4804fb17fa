/* pretokenize.h - splitting text into pre-tokens before byte-level BPE, the
 * way llama.cpp does for each tokenizer.ggml.pre type: its regular
 * expressions, implemented by hand over code points. */
#ifndef NIBBLE_PRETOKENIZE_H
#define NIBBLE_PRETOKENIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pretokenizer {
	PRETOKENIZER_DEFAULT,        /* punctuation runs, then GPT-2, digit runs, 3 ASCII digits */
	PRETOKENIZER_GPT2,           /* GPT-2 */
	PRETOKENIZER_LLAMA3,         /* Llama 3: letters with one leading non-letter, 1-3 digits */
	PRETOKENIZER_QWEN2,          /* Llama 3's, with single digits */
	PRETOKENIZER_FALCON,         /* punctuation runs, then GPT-2, then 3 ASCII digits */
	PRETOKENIZER_STARCODER,      /* single digits, then GPT-2 */
	PRETOKENIZER_DEEPSEEK_CODER, /* newlines, letters, punctuation, CJK, digits */
};

/* What a tokenizer.ggml.pre name selects, with llama.cpp's defaults. */
struct pretokenizer_info {
	const char *name;
	enum pretokenizer kind;
	bool ignore_merges;  /* a pre-token that is itself a token is emitted whole */
	bool add_bos;        /* default of tokenizer.ggml.add_bos_token */
	bool no_default_bos; /* no BOS unless tokenizer.ggml.bos_token_id names one */
};

/* The entry for name[0..len), or NULL when the name is unknown. */
const struct pretokenizer_info *pretokenizer_find(const char *name, size_t len);

/* A growable list of pre-token lengths, in code points. */
struct pretokens {
	size_t *len;
	size_t n, cap;
};

/* Splits cpts[0..n) into pre-tokens: out receives their lengths, in order,
 * covering all n code points (out is reset first).  Any thread. */
void pretokenize(enum pretokenizer kind, const uint32_t *cpts, size_t n, struct pretokens *out);
void pretokens_free(struct pretokens *p);

#endif
