/* pretokenize.c - the pre-tokenizers of byte-level BPE vocabularies.  Each
 * type is a list of rules applied one after the other, as llama.cpp applies
 * its list of regular expressions: a rule splits every piece the previous
 * rules made into its matches and the text between them, never across a
 * piece boundary.  \s is White_Space, \p{L} and friends the general
 * category, exactly as in llama.cpp (whose std::regex fallback sees the same
 * classes through its one-byte-per-code-point "collapsed" text). */
#include "config.h"

#include "text/pretokenize.h"

#include <stdlib.h>
#include <string.h>

#include "text/unicode.h"
#include "base/util.h"

enum rule_op {
	/* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
	RULE_GPT2,
	/* (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,max_digits}
	 * | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
	RULE_LLAMA3,
	RULE_RUN,          /* [set]+ */
	RULE_SPACE_RUN,    /* \s?[set]+ */
	RULE_ONE,          /* [set] */
	RULE_ASCII_DIGIT3, /* [0-9][0-9][0-9] */
};

enum char_set {
	SET_NONE,
	SET_LETTER,        /* \p{L} */
	SET_NUMBER,        /* \p{N} */
	SET_PUNCTUATION,   /* \p{P} */
	SET_PUNCT_DEFAULT, /* [\p{P}\$\+<=>\^~\|] */
	SET_PUNCT_FALCON,  /* [\p{P}\$\+<=>\^~\|`] */
	SET_CR_LF,         /* [\r\n] */
	SET_CJK,           /* [U+4E00-U+9FA5 U+0800-U+4E00 U+AC00-U+D7FF] */
};

struct rule {
	enum rule_op op;
	enum char_set set;
	size_t max_digits; /* RULE_LLAMA3 */
};

static const struct rule rules_default[] = {
	{ RULE_RUN, SET_PUNCT_DEFAULT, 0 },
	{ RULE_GPT2, SET_NONE, 0 },
	{ RULE_RUN, SET_NUMBER, 0 },
	{ RULE_ASCII_DIGIT3, SET_NONE, 0 },
};
static const struct rule rules_gpt2[] = { { RULE_GPT2, SET_NONE, 0 } };
static const struct rule rules_llama3[] = { { RULE_LLAMA3, SET_NONE, 3 } };
static const struct rule rules_qwen2[] = { { RULE_LLAMA3, SET_NONE, 1 } };
static const struct rule rules_falcon[] = {
	{ RULE_RUN, SET_PUNCT_FALCON, 0 },
	{ RULE_GPT2, SET_NONE, 0 },
	{ RULE_ASCII_DIGIT3, SET_NONE, 0 },
};
static const struct rule rules_starcoder[] = {
	{ RULE_ONE, SET_NUMBER, 0 },
	{ RULE_GPT2, SET_NONE, 0 },
};
static const struct rule rules_deepseek_coder[] = {
	{ RULE_ONE, SET_CR_LF, 0 },
	{ RULE_SPACE_RUN, SET_LETTER, 0 },
	{ RULE_SPACE_RUN, SET_PUNCTUATION, 0 },
	{ RULE_RUN, SET_CJK, 0 },
	{ RULE_ONE, SET_NUMBER, 0 },
};

static const struct {
	const struct rule *rules;
	size_t n;
} rule_lists[] = {
	[PRETOKENIZER_DEFAULT] = { rules_default, ARRAY_LEN(rules_default) },
	[PRETOKENIZER_GPT2] = { rules_gpt2, ARRAY_LEN(rules_gpt2) },
	[PRETOKENIZER_LLAMA3] = { rules_llama3, ARRAY_LEN(rules_llama3) },
	[PRETOKENIZER_QWEN2] = { rules_qwen2, ARRAY_LEN(rules_qwen2) },
	[PRETOKENIZER_FALCON] = { rules_falcon, ARRAY_LEN(rules_falcon) },
	[PRETOKENIZER_STARCODER] = { rules_starcoder, ARRAY_LEN(rules_starcoder) },
	[PRETOKENIZER_DEEPSEEK_CODER] = { rules_deepseek_coder, ARRAY_LEN(rules_deepseek_coder) },
};

/* The tokenizer.ggml.pre names llama.cpp maps to these rule lists. */
static const struct pretokenizer_info known[] = {
	{ .name = "default", .kind = PRETOKENIZER_DEFAULT },
	{ .name = "llama3", .kind = PRETOKENIZER_LLAMA3, .ignore_merges = true, .add_bos = true },
	{ .name = "llama-v3", .kind = PRETOKENIZER_LLAMA3, .ignore_merges = true, .add_bos = true },
	{ .name = "llama-bpe", .kind = PRETOKENIZER_LLAMA3, .ignore_merges = true, .add_bos = true },
	{ .name = "falcon3", .kind = PRETOKENIZER_LLAMA3, .ignore_merges = true, .add_bos = true },
	{ .name = "falcon-h1", .kind = PRETOKENIZER_LLAMA3, .ignore_merges = true, .add_bos = true },
	{ .name = "pixtral", .kind = PRETOKENIZER_LLAMA3, .ignore_merges = true, .add_bos = true },
	{ .name = "midm-2.0", .kind = PRETOKENIZER_LLAMA3, .ignore_merges = true, .add_bos = true },
	{ .name = "lfm2", .kind = PRETOKENIZER_LLAMA3, .ignore_merges = true, .add_bos = true },
	{ .name = "jina-v5-nano", .kind = PRETOKENIZER_LLAMA3, .ignore_merges = true, .add_bos = true },
	{ .name = "dbrx", .kind = PRETOKENIZER_LLAMA3 },
	{ .name = "smaug-bpe", .kind = PRETOKENIZER_LLAMA3 },
	{ .name = "glm4", .kind = PRETOKENIZER_LLAMA3, .no_default_bos = true },
	{ .name = "chatglm-bpe", .kind = PRETOKENIZER_LLAMA3, .no_default_bos = true },
	{ .name = "qwen2", .kind = PRETOKENIZER_QWEN2 },
	{ .name = "deepseek-r1-qwen", .kind = PRETOKENIZER_QWEN2 },
	{ .name = "kormo", .kind = PRETOKENIZER_QWEN2 },
	{ .name = "f2llmv2", .kind = PRETOKENIZER_QWEN2 },
	{ .name = "megrez", .kind = PRETOKENIZER_QWEN2 },
	{ .name = "stablelm2", .kind = PRETOKENIZER_QWEN2 },
	{ .name = "hunyuan", .kind = PRETOKENIZER_QWEN2 },
	{ .name = "solar-open", .kind = PRETOKENIZER_QWEN2 },
	{ .name = "grok-2", .kind = PRETOKENIZER_QWEN2 },
	{ .name = "gpt-2", .kind = PRETOKENIZER_GPT2 },
	{ .name = "phi-2", .kind = PRETOKENIZER_GPT2 },
	{ .name = "jina-es", .kind = PRETOKENIZER_GPT2 },
	{ .name = "jina-de", .kind = PRETOKENIZER_GPT2 },
	{ .name = "jina-v2-es", .kind = PRETOKENIZER_GPT2 },
	{ .name = "jina-v2-de", .kind = PRETOKENIZER_GPT2 },
	{ .name = "gigachat", .kind = PRETOKENIZER_GPT2 },
	{ .name = "a.x-4.0", .kind = PRETOKENIZER_GPT2 },
	{ .name = "mellum", .kind = PRETOKENIZER_GPT2 },
	{ .name = "modern-bert", .kind = PRETOKENIZER_GPT2 },
	{ .name = "exaone4", .kind = PRETOKENIZER_GPT2 },
	{ .name = "mpt", .kind = PRETOKENIZER_GPT2 },
	{ .name = "olmo", .kind = PRETOKENIZER_GPT2 },
	{ .name = "jais", .kind = PRETOKENIZER_GPT2 },
	{ .name = "trillion", .kind = PRETOKENIZER_GPT2 },
	{ .name = "granite-docling", .kind = PRETOKENIZER_GPT2 },
	{ .name = "falcon", .kind = PRETOKENIZER_FALCON },
	{ .name = "starcoder", .kind = PRETOKENIZER_STARCODER },
	{ .name = "refact", .kind = PRETOKENIZER_STARCODER },
	{ .name = "command-r", .kind = PRETOKENIZER_STARCODER },
	{ .name = "smollm", .kind = PRETOKENIZER_STARCODER },
	{ .name = "codeshell", .kind = PRETOKENIZER_STARCODER },
	{ .name = "exaone", .kind = PRETOKENIZER_STARCODER },
	{ .name = "minerva-7b", .kind = PRETOKENIZER_STARCODER },
	{ .name = "mellum2", .kind = PRETOKENIZER_STARCODER },
	{ .name = "deepseek-coder", .kind = PRETOKENIZER_DEEPSEEK_CODER },
};

const struct pretokenizer_info *pretokenizer_find(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_LEN(known); i++)
		if (strlen(known[i].name) == len && memcmp(known[i].name, name, len) == 0)
			return &known[i];
	return NULL;
}

/* ---- matching ------------------------------------------------------------ */

#define FLAG_CLASS 0x0F /* enum unicode_class */
#define FLAG_SPACE 0x10 /* White_Space */

/* The code points of one piece, cpt[0..end), with their flags. */
struct piece {
	const uint32_t *cpt;
	const uint8_t *flags;
	size_t end;
};

static bool is_class(const struct piece *s, size_t i, enum unicode_class c)
{
	return i < s->end && (s->flags[i] & FLAG_CLASS) == c;
}

static bool is_letter(const struct piece *s, size_t i)
{
	return is_class(s, i, UNICODE_LETTER);
}

static bool is_number(const struct piece *s, size_t i)
{
	return is_class(s, i, UNICODE_NUMBER);
}

static bool is_space(const struct piece *s, size_t i)
{
	return i < s->end && (s->flags[i] & FLAG_SPACE);
}

/* [^\s\p{L}\p{N}] */
static bool is_other(const struct piece *s, size_t i)
{
	return i < s->end && !is_space(s, i) && !is_letter(s, i) && !is_number(s, i);
}

static bool is_cr_lf(const struct piece *s, size_t i)
{
	return i < s->end && (s->cpt[i] == '\r' || s->cpt[i] == '\n');
}

static bool in_set(const struct piece *s, size_t i, enum char_set set)
{
	if (i >= s->end)
		return false;
	uint32_t c = s->cpt[i];
	switch (set) {
	case SET_LETTER:
		return is_letter(s, i);
	case SET_NUMBER:
		return is_number(s, i);
	case SET_PUNCTUATION:
		return is_class(s, i, UNICODE_PUNCTUATION);
	case SET_PUNCT_DEFAULT:
	case SET_PUNCT_FALCON:
		return is_class(s, i, UNICODE_PUNCTUATION) || (c > 0 && c < 0x80 && strchr("$+<=>^~|", (int)c)) ||
		       (set == SET_PUNCT_FALCON && c == '`');
	case SET_CR_LF:
		return is_cr_lf(s, i);
	case SET_CJK:
		/* llama.cpp matches literal ranges with non-ASCII white space
		 * (U+3000 is in range) replaced by \v, so white space never matches. */
		return !is_space(s, i) && ((c >= 0x0800 && c <= 0x9FA5) || (c >= 0xAC00 && c <= 0xD7FF));
	case SET_NONE:
		break;
	}
	return false;
}

static uint32_t ascii_lower(uint32_t c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* 's|'t|'re|'ve|'m|'ll|'d at i: its length, or 0.  The generator of the
 * Unicode tables checks that no non-ASCII letter lowercases to one of these
 * letters, so ASCII folding gives the same as Unicode's. */
static size_t contraction_at(const struct piece *s, size_t i, bool any_case)
{
	if (i + 1 >= s->end || s->cpt[i] != '\'')
		return 0;
	uint32_t a = s->cpt[i + 1], b = i + 2 < s->end ? s->cpt[i + 2] : 0;
	if (any_case) {
		a = ascii_lower(a);
		b = ascii_lower(b);
	}
	if (a == 's' || a == 't' || a == 'm' || a == 'd')
		return 2;
	if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
		return 3;
	return 0;
}

/* \s+(?!\S)|\s+ at i, a white-space code point: the whole run at the end
 * of the piece, otherwise the run but its last code point (which then
 * leads the next pre-token), or the single one when the run is one long. */
static size_t space_run_at(const struct piece *s, size_t i)
{
	size_t j = i;
	while (is_space(s, j))
		j++;
	return j - i > 1 && j < s->end ? j - i - 1 : j - i;
}

static size_t match_gpt2(const struct piece *s, size_t i)
{
	size_t n = contraction_at(s, i, false);
	if (n)
		return n;
	/* ' ?' before a letter, number or other run */
	size_t j = s->cpt[i] == ' ' && i + 1 < s->end ? i + 1 : i;
	bool (*same)(const struct piece *, size_t) = is_letter(s, j) ? is_letter
						    : is_number(s, j) ? is_number
						    : is_other(s, j)  ? is_other
								      : NULL;
	if (same) {
		while (same(s, j))
			j++;
		return j - i;
	}
	return space_run_at(s, i); /* what is left is white space */
}

static size_t match_llama3(const struct piece *s, size_t i, size_t max_digits)
{
	size_t n = contraction_at(s, i, true);
	if (n)
		return n;
	/* [^\r\n\p{L}\p{N}]?\p{L}+ */
	if (!is_cr_lf(s, i) && !is_number(s, i) && (is_letter(s, i) || is_letter(s, i + 1))) {
		size_t j = i + 1;
		while (is_letter(s, j))
			j++;
		return j - i;
	}
	/* \p{N}{1,max_digits} */
	if (is_number(s, i)) {
		size_t j = i;
		while (j - i < max_digits && is_number(s, j))
			j++;
		return j - i;
	}
	/* ' ?[^\s\p{L}\p{N}]+[\r\n]*' */
	size_t j = s->cpt[i] == ' ' ? i + 1 : i;
	if (is_other(s, j)) {
		while (is_other(s, j))
			j++;
		while (is_cr_lf(s, j))
			j++;
		return j - i;
	}
	/* \s*[\r\n]+: up to the last CR or LF of the white-space run */
	size_t last_cr_lf = 0;
	for (j = i; is_space(s, j); j++)
		if (is_cr_lf(s, j))
			last_cr_lf = j + 1;
	if (last_cr_lf)
		return last_cr_lf - i;
	return space_run_at(s, i); /* what is left is white space */
}

/* The length of the rule's match starting at i, or 0. */
static size_t match_at(const struct rule *r, const struct piece *s, size_t i)
{
	size_t j = i;
	switch (r->op) {
	case RULE_GPT2:
		return match_gpt2(s, i);
	case RULE_LLAMA3:
		return match_llama3(s, i, r->max_digits);
	case RULE_SPACE_RUN:
		if (is_space(s, i) && in_set(s, i + 1, r->set))
			j++;
		/* fall through */
	case RULE_RUN:
		while (in_set(s, j, r->set))
			j++;
		return j - i;
	case RULE_ONE:
		return in_set(s, i, r->set) ? 1 : 0;
	case RULE_ASCII_DIGIT3:
		while (j - i < 3 && j < s->end && s->cpt[j] >= '0' && s->cpt[j] <= '9')
			j++;
		return j - i == 3 ? 3 : 0;
	}
	return 0;
}

static void push_len(struct pretokens *p, size_t len)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		p->len = xrealloc(p->len, p->cap * sizeof *p->len);
	}
	p->len[p->n++] = len;
}

/* Splits one piece as a regex iterator does: leftmost matches, one after
 * the other, and the unmatched text between them as pieces of their own. */
static void split_piece(const struct rule *r, const struct piece *s, struct pretokens *out)
{
	size_t gap = 0;
	for (size_t i = 0; i < s->end;) {
		size_t n = match_at(r, s, i);
		if (!n) {
			i++;
			continue;
		}
		if (i > gap)
			push_len(out, i - gap);
		push_len(out, n);
		i += n;
		gap = i;
	}
	if (s->end > gap)
		push_len(out, s->end - gap);
}

void pretokenize(enum pretokenizer kind, const uint32_t *cpts, size_t n, struct pretokens *out)
{
	out->n = 0;
	if (n == 0)
		return;
	uint8_t *flags = xmalloc(n);
	for (size_t i = 0; i < n; i++)
		flags[i] = (uint8_t)(unicode_class_of(cpts[i]) | (unicode_is_whitespace(cpts[i]) ? FLAG_SPACE : 0));

	push_len(out, n);
	struct pretokens next = { 0 };
	for (size_t k = 0; k < rule_lists[kind].n; k++) {
		next.n = 0;
		size_t start = 0;
		for (size_t p = 0; p < out->n; p++) {
			struct piece s = { cpts + start, flags + start, out->len[p] };
			split_piece(&rule_lists[kind].rules[k], &s, &next);
			start += out->len[p];
		}
		struct pretokens tmp = *out;
		*out = next;
		next = tmp;
	}
	pretokens_free(&next);
	free(flags);
}

void pretokens_free(struct pretokens *p)
{
	if (!p)
		return;
	free(p->len);
	*p = (struct pretokens){ 0 };
}
