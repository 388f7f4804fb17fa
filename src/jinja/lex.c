/* template_lex.c - splits a Jinja template into tokens: template text with
 * the whitespace control of trim_blocks, lstrip_blocks and {%- -%} already
 * applied, and the names, literals and operators inside tags. */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jinja/internal.h"

struct lexer {
	const char *src;
	size_t len, pos;
	int line; /* of src[pos] */
	struct tpl_tokens *out;
};

static int lex_error(const struct lexer *lx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int lex_error(const struct lexer *lx, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return error("template line %d: %s", lx->line, msg);
}

static struct tpl_token *push(struct lexer *lx, enum tpl_token_kind kind, const char *text, size_t len)
{
	struct tpl_tokens *t = lx->out;
	if (t->len == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->items = xrealloc(t->items, t->cap * sizeof *t->items);
	}
	struct tpl_token *tok = &t->items[t->len++];
	*tok = (struct tpl_token){ .kind = kind, .line = lx->line, .text = xstrndup(text, len), .len = len };
	return tok;
}

/* Moves to `to`, counting the lines passed. */
static void advance(struct lexer *lx, size_t to)
{
	for (; lx->pos < to; lx->pos++)
		if (lx->src[lx->pos] == '\n')
			lx->line++;
}

static bool starts(const struct lexer *lx, size_t at, const char *s)
{
	size_t n = strlen(s);
	return at + n <= lx->len && memcmp(lx->src + at, s, n) == 0;
}

/* Past the white space (Python's \s) starting at `at`. */
static size_t skip_space(const struct lexer *lx, size_t at)
{
	while (at < lx->len) {
		size_t next = at;
		if (!tpl_is_space(tpl_utf8_next(lx->src, lx->len, &next)))
			break;
		at = next;
	}
	return at;
}

/* Where src[from, to) ends once trailing white space is dropped. */
static size_t rstrip(const struct lexer *lx, size_t from, size_t to)
{
	size_t end = from;
	while (from < to) {
		bool space = tpl_is_space(tpl_utf8_next(lx->src, to, &from));
		if (!space)
			end = from;
	}
	return end;
}

/* lstrip_blocks: a block or comment tag alone on its line after white
 * space takes that white space away.  Returns where the text before the
 * tag at `tag` ends. */
static size_t lstrip(const struct lexer *lx, size_t from, size_t tag)
{
	size_t line_start = from;
	for (size_t i = from; i < tag; i++)
		if (lx->src[i] == '\n')
			line_start = i + 1;
	bool line_starting = line_start > from || from == 0 || lx->src[from - 1] == '\n';
	if (line_starting && line_start < tag && rstrip(lx, line_start, tag) == line_start)
		return line_start;
	return tag;
}

static void emit_text(struct lexer *lx, size_t end)
{
	if (end > lx->pos)
		push(lx, TPL_TOK_TEXT, lx->src + lx->pos, end - lx->pos);
}

/* After a tag closed at `at` with sign '-', '+' or 0: -%} eats the white
 * space that follows, and trim_blocks eats one newline after a block. */
static void after_tag(struct lexer *lx, size_t at, char sign, bool trim_newline)
{
	if (sign == '-')
		at = skip_space(lx, at);
	else if (sign != '+' && trim_newline && at < lx->len && lx->src[at] == '\n')
		at++;
	advance(lx, at);
}

static int hex_value(const char *s, int n, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return -1;
		v = v * 16 + (uint32_t)(isdigit((unsigned char)s[i]) ? s[i] - '0' : (tolower((unsigned char)s[i]) - 'a' + 10));
	}
	*out = v;
	return 0;
}

/* Python's unicode-escape decoding of a string literal's body. */
static int unescape(struct lexer *lx, const char *s, size_t len, struct strbuf *out)
{
	uint32_t pending_high = 0; /* a \ud800-\udbff waiting for its low half */
	for (size_t i = 0; i < len; i++) {
		uint32_t cp;
		int n;
		if (s[i] != '\\' || i + 1 == len) {
			strbuf_append(out, s + i, 1);
			continue;
		}
		char c = s[++i];
		switch (c) {
		case '\n': continue;
		case '\\': strbuf_append(out, "\\", 1); continue;
		case '\'': strbuf_append(out, "'", 1); continue;
		case '"': strbuf_append(out, "\"", 1); continue;
		case 'a': strbuf_append(out, "\a", 1); continue;
		case 'b': strbuf_append(out, "\b", 1); continue;
		case 'f': strbuf_append(out, "\f", 1); continue;
		case 'n': strbuf_append(out, "\n", 1); continue;
		case 'r': strbuf_append(out, "\r", 1); continue;
		case 't': strbuf_append(out, "\t", 1); continue;
		case 'v': strbuf_append(out, "\v", 1); continue;
		case 'x': n = 2; break;
		case 'u': n = 4; break;
		case 'U': n = 8; break;
		case 'N': return lex_error(lx, "\\N{...} escapes are not supported");
		default:
			if (c >= '0' && c <= '7') {
				cp = 0;
				for (int k = 0; k < 3 && i < len && s[i] >= '0' && s[i] <= '7'; k++)
					cp = cp * 8 + (uint32_t)(s[i++] - '0');
				i--;
				tpl_utf8_put(out, cp);
			} else {
				strbuf_append(out, s + i - 1, 2);
			}
			continue;
		}
		if (i + (size_t)n >= len || hex_value(s + i + 1, n, &cp) < 0)
			return lex_error(lx, "truncated \\%c escape in a string", c);
		i += (size_t)n;
		if (cp > 0x10ffff)
			return lex_error(lx, "illegal Unicode character in a string");
		if (cp >= 0xd800 && cp <= 0xdbff) {
			pending_high = cp;
			continue;
		}
		if (cp >= 0xdc00 && cp <= 0xdfff && pending_high)
			cp = 0x10000 + ((pending_high - 0xd800) << 10) + (cp - 0xdc00);
		else if (cp >= 0xdc00 && cp <= 0xdfff)
			cp = 0xfffd;
		pending_high = 0;
		tpl_utf8_put(out, cp);
	}
	return 0;
}

static int lex_string(struct lexer *lx)
{
	char quote = lx->src[lx->pos];
	size_t end = lx->pos + 1;
	struct strbuf text = { 0 };
	while (end < lx->len && lx->src[end] != quote)
		end += lx->src[end] == '\\' ? 2 : 1;
	if (end >= lx->len)
		return lex_error(lx, "unterminated string");
	if (unescape(lx, lx->src + lx->pos + 1, end - lx->pos - 1, &text) < 0) {
		strbuf_free(&text);
		return -1;
	}
	push(lx, TPL_TOK_STRING, text.data ? text.data : "", text.len);
	strbuf_free(&text);
	advance(lx, end + 1);
	return 0;
}

static size_t scan_digits(const struct lexer *lx, size_t at, int (*is_digit)(int))
{
	while (at < lx->len &&
	       (is_digit((unsigned char)lx->src[at]) ||
		(lx->src[at] == '_' && at + 1 < lx->len && is_digit((unsigned char)lx->src[at + 1]))))
		at++;
	return at;
}

static int is_binary_digit(int c)
{
	return c == '0' || c == '1';
}

static int is_octal_digit(int c)
{
	return c >= '0' && c <= '7';
}

static int lex_number(struct lexer *lx)
{
	const char *s = lx->src;
	size_t start = lx->pos, end;
	struct tpl_token *tok;
	char prefix = start + 1 < lx->len && s[start] == '0' ? (char)tolower((unsigned char)s[start + 1]) : 0;
	if (prefix == 'x' || prefix == 'o' || prefix == 'b') {
		int base = prefix == 'x' ? 16 : prefix == 'o' ? 8 : 2;
		end = scan_digits(lx, start + 2, base == 16 ? isxdigit : base == 8 ? is_octal_digit : is_binary_digit);
		tok = push(lx, TPL_TOK_INT, s + start, end - start);
		if (end == start + 2 || !tpl_parse_int(s + start + 2, end - start - 2, base, &tok->integer))
			return lex_error(lx, "invalid integer literal '%s'", tok->text);
		advance(lx, end);
		return 0;
	}
	end = scan_digits(lx, start, isdigit);
	bool is_float = false;
	/* after a '.', as in x.0.1, digits are an index, never a fraction */
	bool after_dot = start > 0 && s[start - 1] == '.';
	if (!after_dot && end + 1 < lx->len && s[end] == '.' && isdigit((unsigned char)s[end + 1])) {
		end = scan_digits(lx, end + 1, isdigit);
		is_float = true;
	}
	if (!after_dot && end < lx->len && (s[end] == 'e' || s[end] == 'E')) {
		size_t exp = end + 1;
		if (exp < lx->len && (s[exp] == '+' || s[exp] == '-'))
			exp++;
		if (exp < lx->len && isdigit((unsigned char)s[exp])) {
			end = scan_digits(lx, exp, isdigit);
			is_float = true;
		}
	}
	tok = push(lx, is_float ? TPL_TOK_FLOAT : TPL_TOK_INT, s + start, end - start);
	if (is_float ? !tpl_parse_float(tok->text, tok->len, &tok->number)
		     : !tpl_parse_int(tok->text, tok->len, 10, &tok->integer))
		return lex_error(lx, "invalid number '%s'", tok->text);
	advance(lx, end);
	return 0;
}

static int lex_operator(struct lexer *lx, char *brackets, int *depth)
{
	static const char *const two[] = { "//", "**", "==", "!=", "<=", ">=" };
	const char *s = lx->src + lx->pos;
	for (size_t i = 0; i < ARRAY_LEN(two); i++) {
		if (starts(lx, lx->pos, two[i])) {
			push(lx, TPL_TOK_OP, s, 2);
			advance(lx, lx->pos + 2);
			return 0;
		}
	}
	if (!strchr("+-*/%~()[]{}<>=.:|,;", *s) || *s == '\0') {
		if ((unsigned char)*s >= 0x80 || !isprint((unsigned char)*s))
			return lex_error(lx, "unexpected character in a tag");
		return lex_error(lx, "unexpected char '%c'", *s);
	}
	if (strchr("([{", *s)) {
		if (*depth >= TPL_MAX_NESTING)
			return lex_error(lx, "brackets nested too deeply");
		brackets[(*depth)++] = *s == '(' ? ')' : *s == '[' ? ']' : '}';
	} else if (strchr(")]}", *s)) {
		if (*depth == 0)
			return lex_error(lx, "unexpected '%c'", *s);
		if (brackets[--*depth] != *s)
			return lex_error(lx, "unexpected '%c', expected '%c'", *s, brackets[*depth]);
	}
	push(lx, TPL_TOK_OP, s, 1);
	advance(lx, lx->pos + 1);
	return 0;
}

/* The inside of a {{ }} or {% %} tag, up to and including its end. */
static int lex_tag(struct lexer *lx, bool block)
{
	char brackets[TPL_MAX_NESTING];
	int depth = 0;
	for (;;) {
		advance(lx, skip_space(lx, lx->pos));
		if (lx->pos >= lx->len)
			return lex_error(lx, "unexpected end of template, missing '%s'", block ? "%}" : "}}");
		const char *end = block ? "%}" : "}}";
		char sign = lx->src[lx->pos];
		if (depth == 0 && (sign == '-' || (block && sign == '+')) && starts(lx, lx->pos + 1, end)) {
			push(lx, block ? TPL_TOK_BLOCK_END : TPL_TOK_PRINT_END, end, 2);
			after_tag(lx, lx->pos + 3, sign, block);
			return 0;
		}
		if (depth == 0 && starts(lx, lx->pos, end)) {
			push(lx, block ? TPL_TOK_BLOCK_END : TPL_TOK_PRINT_END, end, 2);
			after_tag(lx, lx->pos + 2, 0, block);
			return 0;
		}
		unsigned char c = (unsigned char)lx->src[lx->pos];
		int rc;
		if (isalpha(c) || c == '_') {
			size_t e = lx->pos;
			while (e < lx->len && (isalnum((unsigned char)lx->src[e]) || lx->src[e] == '_'))
				e++;
			push(lx, TPL_TOK_NAME, lx->src + lx->pos, e - lx->pos);
			advance(lx, e);
			rc = 0;
		} else if (isdigit(c)) {
			rc = lex_number(lx);
		} else if (c == '\'' || c == '"') {
			rc = lex_string(lx);
		} else {
			rc = lex_operator(lx, brackets, &depth);
		}
		if (rc < 0)
			return -1;
	}
}

static int lex_comment(struct lexer *lx, size_t body)
{
	const char *end = NULL;
	for (size_t i = body; i + 1 < lx->len; i++) {
		if (lx->src[i] == '#' && lx->src[i + 1] == '}') {
			end = lx->src + i;
			break;
		}
	}
	if (!end)
		return lex_error(lx, "missing end of comment tag");
	size_t at = (size_t)(end - lx->src);
	char sign = at > body && (end[-1] == '-' || end[-1] == '+') ? end[-1] : 0;
	after_tag(lx, at + 2, sign, true);
	return 0;
}

/* If a {% raw %} tag's name starts at `at`, the position after it and the
 * sign before its %}. */
static bool raw_tag(const struct lexer *lx, size_t at, const char *name, size_t *end, char *sign)
{
	at = skip_space(lx, at);
	if (!starts(lx, at, name))
		return false;
	at = skip_space(lx, at + strlen(name));
	*sign = 0;
	if (at < lx->len && (lx->src[at] == '-' || lx->src[at] == '+'))
		*sign = lx->src[at++];
	if (!starts(lx, at, "%}"))
		return false;
	*end = at + 2;
	return true;
}

/* {% raw %}...{% endraw %}: the body is text, whitespace control as usual. */
static int lex_raw(struct lexer *lx, size_t after_begin, char begin_end_sign)
{
	if (begin_end_sign == '+')
		return lex_error(lx, "unexpected '+' in a raw tag");
	after_tag(lx, after_begin, begin_end_sign, false);
	for (size_t i = lx->pos; i + 1 < lx->len; i++) {
		size_t p = i + 2, end;
		char sign = 0, end_sign;
		if (lx->src[i] != '{' || lx->src[i + 1] != '%')
			continue;
		if (p < lx->len && (lx->src[p] == '-' || lx->src[p] == '+'))
			sign = lx->src[p++];
		if (!raw_tag(lx, p, "endraw", &end, &end_sign))
			continue;
		emit_text(lx, sign == '-' ? rstrip(lx, lx->pos, i) : sign == '+' ? i : lstrip(lx, lx->pos, i));
		advance(lx, i);
		after_tag(lx, end, end_sign, true);
		return 0;
	}
	return lex_error(lx, "missing end of raw directive");
}

static int lex_template(struct lexer *lx)
{
	while (lx->pos < lx->len) {
		const char *s = lx->src;
		size_t tag = lx->pos;
		while (tag + 1 < lx->len && !(s[tag] == '{' && strchr("{%#", s[tag + 1]) && s[tag + 1]))
			tag++;
		if (tag + 1 >= lx->len) {
			emit_text(lx, lx->len);
			advance(lx, lx->len);
			break;
		}
		char kind = s[tag + 1], sign = 0, raw_sign;
		size_t body = tag + 2, raw_end;
		if (body < lx->len && (s[body] == '-' || s[body] == '+'))
			sign = s[body++];
		if (sign == '-')
			emit_text(lx, rstrip(lx, lx->pos, tag));
		else if (sign != '+' && kind != '{')
			emit_text(lx, lstrip(lx, lx->pos, tag));
		else
			emit_text(lx, tag);
		advance(lx, tag);

		int rc;
		if (kind == '#') {
			rc = lex_comment(lx, body);
		} else if (kind == '%' && raw_tag(lx, body, "raw", &raw_end, &raw_sign)) {
			rc = lex_raw(lx, raw_end, raw_sign);
		} else {
			push(lx, kind == '%' ? TPL_TOK_BLOCK_BEGIN : TPL_TOK_PRINT_BEGIN, s + tag, 2);
			advance(lx, body);
			rc = lex_tag(lx, kind == '%');
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Jinja reads "\r\n" and "\r" as "\n" and drops one final newline. */
static char *normalize_newlines(const char *source, size_t len, size_t *out_len)
{
	char *s = xmalloc(len + 1);
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (source[i] == '\r') {
			s[n++] = '\n';
			if (i + 1 < len && source[i + 1] == '\n')
				i++;
		} else {
			s[n++] = source[i];
		}
	}
	if (n > 0 && s[n - 1] == '\n')
		n--;
	s[n] = '\0';
	*out_len = n;
	return s;
}

int tpl_lex(const char *source, size_t len, struct tpl_tokens *out)
{
	struct lexer lx = { .line = 1, .out = out };
	char *src = normalize_newlines(source, len, &lx.len);
	lx.src = src;
	*out = (struct tpl_tokens){ 0 };
	int rc = lex_template(&lx);
	if (rc == 0)
		push(&lx, TPL_TOK_EOF, "", 0);
	free(src);
	if (rc < 0)
		tpl_tokens_free(out);
	return rc;
}

void tpl_tokens_free(struct tpl_tokens *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->len; i++)
		free(t->items[i].text);
	free(t->items);
	*t = (struct tpl_tokens){ 0 };
}
