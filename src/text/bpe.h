/* tokenizer_bpe.h - the byte-level BPE half of the tokenizer, called by
 * tokenizer.c (which owns vocabulary loading, special tokens and BOS/EOS).
 * Private to tokenizer*.c. */
#ifndef NIBBLE_TOKENIZER_BPE_H
#define NIBBLE_TOKENIZER_BPE_H

#include "text/tokenizer.h"

struct strbuf;

/* Reads tokenizer.ggml.pre and tokenizer.ggml.merges into t, whose
 * vocabulary is loaded; *pre is the pre-tokenizer's entry, NULL when its
 * name is unknown.  0, or -1 with error(). */
int tokenizer_bpe_load(struct tokenizer *t, const struct gguf *g, const struct pretokenizer_info **pre);

/* Appends the tokens of raw text[0..len) (no special tokens in it). */
void tokenizer_bpe_encode(const struct tokenizer *t, const char *text, size_t len, int32_t **ids, size_t *n,
			  size_t *cap);

/* Appends the bytes of token id (in range) to out. */
void tokenizer_bpe_piece(const struct tokenizer *t, int32_t id, struct strbuf *out);

/* Appends id to the growable array *ids (tokenizer.c). */
void tokenizer_push_id(int32_t id, int32_t **ids, size_t *n, size_t *cap);

#endif
