/* tokenizer.h - text <-> token ids with the vocabulary stored in a GGUF file:
 * SentencePiece-style BPE (tokenizer.ggml.model = "llama") and byte-level
 * BPE with a pre-tokenizer (tokenizer.ggml.model = "gpt2"), both as
 * llama.cpp tokenizes. */
#ifndef NIBBLE_TOKENIZER_H
#define NIBBLE_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gguf/gguf.h"
#include "text/pretokenize.h"
#include "base/strmap.h"

struct strbuf;

enum token_type {
	TOKEN_NORMAL = 1,
	TOKEN_UNKNOWN = 2,
	TOKEN_CONTROL = 3,
	TOKEN_USER_DEFINED = 4,
	TOKEN_UNUSED = 5,
	TOKEN_BYTE = 6,
};

enum tokenizer_kind {
	TOKENIZER_SPM, /* SentencePiece BPE: merges by token score, <0xXX> byte fallback */
	TOKENIZER_BPE, /* byte-level BPE: pre-tokenizer, merges by rank, bytes as printable code points */
};

#define TOKENIZER_MAX_EOG 16

struct tokenizer {
	enum tokenizer_kind kind;
	uint32_t n_vocab;
	const struct gguf_str *text; /* [n_vocab], inside the GGUF mapping */
	float *scores;               /* [n_vocab] */
	uint8_t *types;              /* [n_vocab] enum token_type */
	struct strmap index;         /* text -> id */
	int32_t bos, eos, unk;       /* -1 when the vocabulary has none */
	bool add_bos, add_eos, add_space_prefix;
	int32_t byte_token[256];     /* <0xXX> ids, -1 when missing */
	int32_t *specials;           /* control/user-defined/unknown ids, longest text first */
	uint32_t n_specials;
	int32_t eog[TOKENIZER_MAX_EOG]; /* end-of-generation ids: EOS, EOT, EOM, <|eot_id|>, ... */
	uint32_t n_eog;

	/* byte-level BPE only */
	struct strmap merges;        /* "left right" (an entry of tokenizer.ggml.merges) -> rank */
	enum pretokenizer pre;
	char pre_name[48];           /* tokenizer.ggml.pre, printable ASCII, possibly cut short */
	bool pre_unknown;            /* pre_name is not a known type: GPT-2's splitting is used */
	bool ignore_merges;          /* a pre-token that is itself a token is emitted whole */
};

/* Reads the vocabulary from g (which must outlive the tokenizer).  NULL
 * with error() when it is missing, malformed or of an unsupported kind. */
struct tokenizer *tokenizer_load(const struct gguf *g);
void tokenizer_free(struct tokenizer *t);

enum tokenize_flags {
	TOKENIZE_ADD_BOS = 1,       /* BOS first, if the vocabulary asks for it */
	TOKENIZE_ADD_EOS = 2,       /* EOS last, if the vocabulary asks for it */
	TOKENIZE_PARSE_SPECIAL = 4, /* control-token text such as "<s>" becomes that token */
};
#define TOKENIZE_ADD_SPECIAL (TOKENIZE_ADD_BOS | TOKENIZE_ADD_EOS)

/* Appends the tokens of text[0..len) to *ids (a growable array of *n ids,
 * capacity *cap).  flags: enum tokenize_flags.  User-defined tokens are
 * always matched as single tokens. */
void tokenizer_encode(const struct tokenizer *t, const char *text, size_t len, unsigned flags,
		      int32_t **ids, size_t *n, size_t *cap);

/* A range of bytes of a text. */
struct text_span {
	size_t off, len;
};

/* tokenizer_encode, except that with TOKENIZE_PARSE_SPECIAL control-token
 * text inside the plain spans stays text: a chat prompt's markup becomes
 * special tokens, what the user typed does not. */
void tokenizer_encode_spans(const struct tokenizer *t, const char *text, size_t len, unsigned flags,
			    const struct text_span *plain, size_t n_plain, int32_t **ids, size_t *n, size_t *cap);

/* The bytes token id stands for, appended to out.  Control tokens give
 * nothing, user-defined tokens their text.  strip_space drops a leading
 * space (SentencePiece does this for the first token after BOS). */
void tokenizer_piece(const struct tokenizer *t, int32_t id, bool strip_space, struct strbuf *out);

/* true when id ends generation (EOS, end of turn, end of message). */
bool tokenizer_is_eog(const struct tokenizer *t, int32_t id);

#endif
