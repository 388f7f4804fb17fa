/* template_methods.c - the methods of Python's str and dict that chat
 * templates call, and the string operations the filters share with them. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jinja/internal.h"

static struct tpl_value str_slice(const struct tpl_string *s, size_t start, size_t end)
{
	return tpl_str(s->data + start, end - start);
}

/* ---- string operations --------------------------------------------------- */

int tpl_change_case(struct tpl_ctx *ctx, const struct tpl_string *s, enum tpl_case style, struct tpl_value *out)
{
	struct strbuf sb = { 0 };
	bool word_start = true;
	for (size_t pos = 0; pos < s->len;) {
		uint32_t cp = tpl_utf8_next(s->data, s->len, &pos), mapped = cp;
		switch (style) {
		case TPL_CASE_UPPER: mapped = tpl_upper(cp); break;
		case TPL_CASE_LOWER: mapped = tpl_lower(cp); break;
		case TPL_CASE_CAPITALIZE:
			mapped = word_start ? tpl_upper(cp) : tpl_lower(cp);
			word_start = false;
			break;
		case TPL_CASE_TITLE:
			if (tpl_is_cased(cp)) {
				mapped = word_start ? tpl_upper(cp) : tpl_lower(cp);
				word_start = false;
			} else {
				word_start = true;
			}
			break;
		case TPL_CASE_TITLE_FILTER:
			if (tpl_is_space(cp) || (cp < 0x80 && strchr("-({[<", (int)cp) && cp)) {
				word_start = true;
			} else {
				mapped = word_start ? tpl_upper(cp) : tpl_lower(cp);
				word_start = false;
			}
			break;
		}
		tpl_utf8_put(&sb, mapped);
	}
	return tpl_take_string(ctx, &sb, out);
}

static bool in_chars(uint32_t cp, const struct tpl_string *chars)
{
	if (!chars)
		return tpl_is_space(cp);
	for (size_t pos = 0; pos < chars->len;)
		if (tpl_utf8_next(chars->data, chars->len, &pos) == cp)
			return true;
	return false;
}

/* str.strip([chars]) and its left and right halves. */
int tpl_strip(struct tpl_ctx *ctx, const struct tpl_string *s, struct tpl_value chars, bool left, bool right,
	      struct tpl_value *out)
{
	const struct tpl_string *set = chars.type == TPL_STRING ? chars.as.string : NULL;
	size_t start = 0, end = s->len;
	if (!set && !tpl_absent_or_none(chars))
		return error("strip arg must be None or str");
	if (tpl_charge(ctx, s->len) < 0)
		return -1;
	while (left && start < s->len) {
		size_t pos = start;
		if (!in_chars(tpl_utf8_next(s->data, s->len, &pos), set))
			break;
		start = pos;
	}
	if (right) {
		end = start;
		for (size_t pos = start; pos < s->len;)
			if (!in_chars(tpl_utf8_next(s->data, s->len, &pos), set))
				end = pos;
	}
	*out = str_slice(s, start, end);
	return 0;
}

/* str.replace(old, new[, count]); an empty old matches between characters. */
int tpl_replace(struct tpl_ctx *ctx, const struct tpl_string *s, const struct tpl_string *old,
		const struct tpl_string *new, int64_t count, struct tpl_value *out)
{
	struct strbuf sb = { 0 };
	size_t pos = 0;
	while (pos <= s->len) {
		if (tpl_check_growth(ctx, &sb) < 0) {
			strbuf_free(&sb);
			return -1;
		}
		if (old->len == 0) {
			if (count != 0) {
				strbuf_append(&sb, new->data, new->len);
				count--;
			}
			if (pos == s->len)
				break;
			size_t next = pos;
			tpl_utf8_next(s->data, s->len, &next);
			strbuf_append(&sb, s->data + pos, next - pos);
			pos = next;
			continue;
		}
		const char *hit = count != 0 ? memmem(s->data + pos, s->len - pos, old->data, old->len) : NULL;
		if (!hit) {
			strbuf_append(&sb, s->data + pos, s->len - pos);
			break;
		}
		strbuf_append(&sb, s->data + pos, (size_t)(hit - s->data) - pos);
		strbuf_append(&sb, new->data, new->len);
		pos = (size_t)(hit - s->data) + old->len;
		count--;
	}
	return tpl_take_string(ctx, &sb, out);
}

size_t tpl_split_lines(const struct tpl_string *s, struct tpl_line **out)
{
	size_t n = 0, cap = 0, start = 0;
	*out = NULL;
	for (size_t pos = 0; pos < s->len;) {
		size_t at = pos;
		uint32_t cp = tpl_utf8_next(s->data, s->len, &pos);
		bool brk = cp == '\n' || cp == '\r' || cp == 0x0b || cp == 0x0c || (cp >= 0x1c && cp <= 0x1e) ||
			   cp == 0x85 || cp == 0x2028 || cp == 0x2029;
		if (!brk && pos < s->len)
			continue;
		if (cp == '\r' && pos < s->len && s->data[pos] == '\n')
			pos++;
		if (n == cap)
			*out = xrealloc(*out, (cap = cap ? 2 * cap : 8) * sizeof **out);
		(*out)[n++] = (struct tpl_line){ start, brk ? at : pos, pos };
		start = pos;
	}
	return n;
}

static int split(struct tpl_ctx *ctx, const struct tpl_string *s, struct tpl_value sep, int64_t maxsplit,
		 struct tpl_value *out)
{
	struct tpl_value list;
	if (tpl_new_list(ctx, 0, &list) < 0 || tpl_charge(ctx, s->len) < 0)
		return -1;
	if (sep.type == TPL_STRING) {
		const struct tpl_string *by = sep.as.string;
		size_t pos = 0;
		if (by->len == 0) {
			tpl_unref(list);
			return error("empty separator");
		}
		for (;;) {
			const char *hit = maxsplit != 0 ? memmem(s->data + pos, s->len - pos, by->data, by->len) : NULL;
			if (!hit)
				break;
			tpl_list_push(list, str_slice(s, pos, (size_t)(hit - s->data)));
			pos = (size_t)(hit - s->data) + by->len;
			maxsplit--;
		}
		tpl_list_push(list, str_slice(s, pos, s->len));
	} else {
		/* runs of white space separate, and none are kept at the ends */
		size_t pos = 0;
		for (;;) {
			size_t start, end;
			while (pos < s->len) {
				size_t next = pos;
				if (!tpl_is_space(tpl_utf8_next(s->data, s->len, &next)))
					break;
				pos = next;
			}
			if (pos >= s->len)
				break;
			start = end = pos;
			if (maxsplit == 0) {
				tpl_list_push(list, str_slice(s, start, s->len));
				break;
			}
			while (end < s->len) {
				size_t next = end;
				if (tpl_is_space(tpl_utf8_next(s->data, s->len, &next)))
					break;
				end = next;
			}
			tpl_list_push(list, str_slice(s, start, end));
			pos = end;
			maxsplit--;
		}
	}
	*out = list;
	return 0;
}

static int make_pair(struct tpl_value a, struct tpl_value b, struct tpl_value *out)
{
	*out = tpl_list_new(2, true);
	tpl_list_push(*out, tpl_ref(a));
	tpl_list_push(*out, tpl_ref(b));
	return 0;
}

/* dict.items() and |items: (key, value) tuples. */
int tpl_dict_items(struct tpl_ctx *ctx, struct tpl_value d, struct tpl_value *out)
{
	size_t n = d.as.dict->len;
	if (tpl_new_list(ctx, 3 * n, out) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct tpl_value pair;
		make_pair(d.as.dict->entries[i].key, d.as.dict->entries[i].value, &pair);
		tpl_list_push(*out, pair);
	}
	return 0;
}

/* One %-conversion's integer: sign, base prefix ('#'), digits padded to the
 * precision, then to the width with zeros ('0') or spaces ('-' on the right). */
static void format_integer(struct strbuf *sb, int64_t v, char conv, const char *flags, int width, int precision)
{
	char digits[80], pad[2] = { 0 };
	uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	const char *sign = v < 0 ? "-" : strchr(flags, '+') ? "+" : strchr(flags, ' ') ? " " : "";
	const char *prefix = !strchr(flags, '#') ? "" : conv == 'x' ? "0x" : conv == 'X' ? "0X" : conv == 'o' ? "0o" : "";
	const char *spec = conv == 'x' ? "%" PRIx64 : conv == 'X' ? "%" PRIX64 : conv == 'o' ? "%" PRIo64 : "%" PRIu64;
	int n = snprintf(digits, sizeof digits, spec, mag);
	int zeros = precision > n ? precision - n : 0;
	int len = (int)strlen(sign) + (int)strlen(prefix) + zeros + n;
	bool left = strchr(flags, '-'), zero_fill = strchr(flags, '0') && !left;
	pad[0] = ' ';
	for (int i = len; !left && !zero_fill && i < width; i++)
		strbuf_append(sb, pad, 1);
	strbuf_append(sb, sign, strlen(sign));
	strbuf_append(sb, prefix, strlen(prefix));
	for (int i = len; zero_fill && i < width; i++)
		strbuf_append(sb, "0", 1);
	for (int i = 0; i < zeros; i++)
		strbuf_append(sb, "0", 1);
	strbuf_append(sb, digits, (size_t)n);
	for (int i = len; left && i < width; i++)
		strbuf_append(sb, pad, 1);
}

/* Text for %s, %r or %c: precision cuts characters, width pads them. */
static void format_text(struct strbuf *sb, const char *s, size_t len, const char *flags, int width, int precision)
{
	size_t end = 0, chars = 0;
	while (end < len && (precision < 0 || chars < (size_t)precision)) {
		tpl_utf8_next(s, len, &end);
		chars++;
	}
	bool left = strchr(flags, '-');
	for (size_t i = chars; !left && (int)i < width; i++)
		strbuf_append(sb, " ", 1);
	strbuf_append(sb, s, end);
	for (size_t i = chars; left && (int)i < width; i++)
		strbuf_append(sb, " ", 1);
}

static int format_number_arg(struct tpl_value v, char conv, bool *is_float, int64_t *i, double *d)
{
	*is_float = v.type == TPL_FLOAT;
	if (v.type == TPL_BOOL || v.type == TPL_INT)
		*i = v.type == TPL_INT ? v.as.integer : v.as.boolean;
	else if (v.type == TPL_FLOAT)
		*d = v.as.number;
	else if (v.type == TPL_UNDEFINED)
		return tpl_undefined_error(v);
	else
		return error("%%%c format: a number is required, not %s", conv, tpl_type_name(v));
	return 0;
}

/* One conversion (after its '%', with its value) of printf-style formatting. */
static int format_one(struct strbuf *sb, struct tpl_value v, char conv, const char *flags, int width, int precision)
{
	struct strbuf text = { 0 };
	bool is_float;
	int64_t i = 0;
	double d = 0;
	int rc = 0;
	switch (conv) {
	case 's':
	case 'r':
	case 'a':
		rc = conv == 's' ? tpl_write_str(&text, v) : tpl_write_repr(&text, v, 0);
		if (rc == 0)
			format_text(sb, text.data ? text.data : "", text.len, flags, width, precision);
		break;
	case 'c':
		if (v.type == TPL_INT && v.as.integer >= 0 && v.as.integer <= 0x10ffff)
			tpl_utf8_put(&text, (uint32_t)v.as.integer);
		else if (v.type == TPL_STRING && tpl_utf8_count(v.as.string->data, v.as.string->len) == 1)
			strbuf_append(&text, v.as.string->data, v.as.string->len);
		else
			rc = error("%%c requires an int or a single character");
		if (rc == 0)
			format_text(sb, text.data, text.len, flags, width, -1);
		break;
	case 'd':
	case 'i':
	case 'u':
	case 'x':
	case 'X':
	case 'o':
		rc = format_number_arg(v, conv, &is_float, &i, &d);
		if (rc == 0 && is_float && strchr("xXo", conv))
			rc = error("%%%c format: an integer is required, not float", conv);
		else if (rc == 0 && is_float && !(d > -9.2e18 && d < 9.2e18))
			rc = error("%%%c format: the number is out of range", conv);
		if (rc == 0)
			format_integer(sb, is_float ? (int64_t)d : i, conv == 'i' || conv == 'u' ? 'd' : conv, flags, width,
				       precision);
		break;
	case 'e':
	case 'E':
	case 'f':
	case 'F':
	case 'g':
	case 'G': {
		char spec[32], buf[512];
		rc = format_number_arg(v, conv, &is_float, &i, &d);
		if (rc < 0)
			break;
		snprintf(spec, sizeof spec, "%%%s%d.%d%c", flags, width < 400 ? width : 400,
			 precision < 0 ? 6 : precision < 300 ? precision : 300, conv);
		int n = snprintf(buf, sizeof buf, spec, is_float ? d : (double)i);
		strbuf_append(sb, buf, n > 0 && (size_t)n < sizeof buf ? (size_t)n : 0);
		break;
	}
	default: rc = error("unsupported format character '%c'", conv);
	}
	strbuf_free(&text);
	return rc;
}

/* Reads "*" (the next argument) or digits for a width or precision. */
static int format_size(const struct tpl_string *fmt, size_t *i, const struct tpl_value *args, size_t n_args,
		       size_t *next, int *out)
{
	int64_t v = 0;
	if (*i < fmt->len && fmt->data[*i] == '*') {
		(*i)++;
		if (*next >= n_args)
			return error("not enough arguments for format string");
		if (tpl_want_int(args[(*next)++], "format", "'*'", &v) < 0)
			return -1;
	} else {
		while (*i < fmt->len && fmt->data[*i] >= '0' && fmt->data[*i] <= '9' && v < 100000)
			v = v * 10 + (fmt->data[(*i)++] - '0');
	}
	*out = v > 100000 ? 100000 : v < -100000 ? -100000 : (int)v;
	return 0;
}

int tpl_percent_format(struct tpl_ctx *ctx, const struct tpl_string *fmt, const struct tpl_value *args,
		       size_t n_args, struct tpl_value mapping, struct tpl_value *out)
{
	struct strbuf sb = { 0 };
	size_t next = 0;
	for (size_t i = 0; i < fmt->len; i++) {
		char flags[8] = { 0 };
		size_t n_flags = 0;
		int width = 0, precision = -1;
		struct tpl_value v = tpl_undefined();
		bool have_value = false;
		if (tpl_check_growth(ctx, &sb) < 0)
			goto fail;
		if (fmt->data[i] != '%') {
			strbuf_append(&sb, fmt->data + i, 1);
			continue;
		}
		if (++i < fmt->len && fmt->data[i] == '%') {
			strbuf_append(&sb, "%", 1);
			continue;
		}
		if (i < fmt->len && fmt->data[i] == '(') {
			const char *close = memchr(fmt->data + i, ')', fmt->len - i);
			if (!close || mapping.type != TPL_DICT) {
				error(close ? "format requires a mapping" : "incomplete format key");
				goto fail;
			}
			struct tpl_value key = tpl_str(fmt->data + i + 1, (size_t)(close - fmt->data) - i - 1);
			struct tpl_value *found = tpl_dict_get(mapping, key);
			if (!found)
				error("format key '%s' is missing", key.as.string->data);
			tpl_unref(key);
			if (!found)
				goto fail;
			v = *found;
			have_value = true;
			i = (size_t)(close - fmt->data) + 1;
		}
		while (i < fmt->len && strchr("-+ #0", fmt->data[i]) && fmt->data[i] && n_flags < sizeof flags - 1)
			flags[n_flags++] = fmt->data[i++];
		if (format_size(fmt, &i, args, n_args, &next, &width) < 0)
			goto fail;
		if (width < 0) {
			if (n_flags < sizeof flags - 1)
				flags[n_flags++] = '-';
			width = -width;
		}
		if (i < fmt->len && fmt->data[i] == '.') {
			i++;
			if (format_size(fmt, &i, args, n_args, &next, &precision) < 0)
				goto fail;
		}
		while (i < fmt->len && strchr("hlL", fmt->data[i]) && fmt->data[i])
			i++;
		if (i >= fmt->len) {
			error("incomplete format");
			goto fail;
		}
		if (!have_value) {
			if (next >= n_args) {
				error("not enough arguments for format string");
				goto fail;
			}
			v = args[next++];
		}
		if (format_one(&sb, v, fmt->data[i], flags, width, precision) < 0)
			goto fail;
	}
	if (next < n_args && mapping.type != TPL_DICT) {
		error("not all arguments converted during string formatting");
		goto fail;
	}
	return tpl_take_string(ctx, &sb, out);
fail:
	strbuf_free(&sb);
	return -1;
}

/* ---- methods ------------------------------------------------------------- */

static int m_strip(struct tpl_ctx *ctx, struct tpl_value s, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value arg[1];
	if (tpl_bind(a, "strip", (const char *const[]){ "chars", NULL }, 0, arg) < 0)
		return -1;
	return tpl_strip(ctx, s.as.string, arg[0], true, true, out);
}

static int m_lstrip(struct tpl_ctx *ctx, struct tpl_value s, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value arg[1];
	if (tpl_bind(a, "lstrip", (const char *const[]){ "chars", NULL }, 0, arg) < 0)
		return -1;
	return tpl_strip(ctx, s.as.string, arg[0], true, false, out);
}

static int m_rstrip(struct tpl_ctx *ctx, struct tpl_value s, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value arg[1];
	if (tpl_bind(a, "rstrip", (const char *const[]){ "chars", NULL }, 0, arg) < 0)
		return -1;
	return tpl_strip(ctx, s.as.string, arg[0], false, true, out);
}

static int m_split(struct tpl_ctx *ctx, struct tpl_value s, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value arg[2];
	int64_t maxsplit = -1;
	if (tpl_bind(a, "split", (const char *const[]){ "sep", "maxsplit", NULL }, 0, arg) < 0 ||
	    (!tpl_absent(arg[1]) && tpl_want_int(arg[1], "split", "maxsplit", &maxsplit) < 0))
		return -1;
	if (!tpl_absent_or_none(arg[0]) && tpl_want_string(arg[0], "split", "sep") < 0)
		return -1;
	return split(ctx, s.as.string, arg[0], maxsplit, out);
}

static int m_splitlines(struct tpl_ctx *ctx, struct tpl_value s, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value arg[1];
	struct tpl_line *lines;
	if (tpl_bind(a, "splitlines", (const char *const[]){ "keepends", NULL }, 0, arg) < 0 ||
	    tpl_charge(ctx, s.as.string->len) < 0)
		return -1;
	size_t n = tpl_split_lines(s.as.string, &lines);
	int rc = tpl_new_list(ctx, n, out);
	for (size_t i = 0; i < n && rc == 0; i++)
		tpl_list_push(*out, str_slice(s.as.string, lines[i].start,
					      tpl_truthy(arg[0]) ? lines[i].next : lines[i].end));
	free(lines);
	return rc;
}

/* startswith / endswith: a string or a tuple of strings to try. */
static int affix_test(struct tpl_value s, const struct tpl_args *a, bool prefix, struct tpl_value *out)
{
	const char *who = prefix ? "startswith" : "endswith";
	struct tpl_value arg[1];
	if (tpl_bind(a, who, (const char *const[]){ prefix ? "prefix" : "suffix", NULL }, 1, arg) < 0)
		return -1;
	const struct tpl_value *options = arg[0].type == TPL_LIST ? arg[0].as.list->items : arg;
	size_t n = arg[0].type == TPL_LIST ? arg[0].as.list->len : 1;
	const struct tpl_string *str = s.as.string;
	*out = tpl_bool(false);
	for (size_t i = 0; i < n; i++) {
		if (tpl_want_string(options[i], who, "the affix") < 0)
			return -1;
		const struct tpl_string *x = options[i].as.string;
		if (x->len <= str->len && memcmp(prefix ? str->data : str->data + str->len - x->len, x->data, x->len) == 0)
			*out = tpl_bool(true);
	}
	return 0;
}

static int m_startswith(struct tpl_ctx *ctx, struct tpl_value s, const struct tpl_args *a, struct tpl_value *out)
{
	return affix_test(s, a, true, out);
}

static int m_endswith(struct tpl_ctx *ctx, struct tpl_value s, const struct tpl_args *a, struct tpl_value *out)
{
	return affix_test(s, a, false, out);
}

static int m_replace(struct tpl_ctx *ctx, struct tpl_value s, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value arg[3];
	int64_t count = -1;
	if (tpl_bind(a, "replace", (const char *const[]){ "old", "new", "count", NULL }, 2, arg) < 0 ||
	    tpl_want_string(arg[0], "replace", "old") < 0 || tpl_want_string(arg[1], "replace", "new") < 0 ||
	    (!tpl_absent(arg[2]) && tpl_want_int(arg[2], "replace", "count", &count) < 0))
		return -1;
	return tpl_replace(ctx, s.as.string, arg[0].as.string, arg[1].as.string, count, out);
}

/* A method's name is its function's without "m_". */
#define TPL_CASE_METHOD(fn, style)                                                                                   \
	static int fn(struct tpl_ctx *ctx, struct tpl_value s, const struct tpl_args *a, struct tpl_value *out) \
	{                                                                                                        \
		if (tpl_no_args(a, #fn + 2) < 0)                                                                     \
			return -1;                                                                               \
		return tpl_change_case(ctx, s.as.string, style, out);                                                \
	}

TPL_CASE_METHOD(m_upper, TPL_CASE_UPPER)
TPL_CASE_METHOD(m_lower, TPL_CASE_LOWER)
TPL_CASE_METHOD(m_title, TPL_CASE_TITLE)
TPL_CASE_METHOD(m_capitalize, TPL_CASE_CAPITALIZE)

/* find, rfind and count of a substring; positions count characters. */
static int search(struct tpl_ctx *ctx, struct tpl_value s, const struct tpl_args *a, const char *who,
		  struct tpl_value *out)
{
	struct tpl_value arg[1];
	const struct tpl_string *hay = s.as.string, *needle;
	int64_t found = -1, count = 0;
	if (tpl_bind(a, who, (const char *const[]){ "sub", NULL }, 1, arg) < 0 || tpl_want_string(arg[0], who, "sub") < 0 ||
	    tpl_charge(ctx, hay->len) < 0)
		return -1;
	needle = arg[0].as.string;
	if (needle->len == 0) {
		int64_t chars = (int64_t)tpl_utf8_count(hay->data, hay->len);
		*out = tpl_int(!strcmp(who, "count") ? chars + 1 : !strcmp(who, "rfind") ? chars : 0);
		return 0;
	}
	for (size_t pos = 0; pos + needle->len <= hay->len;) {
		const char *hit = memmem(hay->data + pos, hay->len - pos, needle->data, needle->len);
		if (!hit)
			break;
		found = (int64_t)tpl_utf8_count(hay->data, (size_t)(hit - hay->data));
		count++;
		if (!strcmp(who, "find"))
			break;
		pos = (size_t)(hit - hay->data) + (!strcmp(who, "count") ? needle->len : 1);
	}
	*out = tpl_int(!strcmp(who, "count") ? count : found);
	return 0;
}

static int m_find(struct tpl_ctx *ctx, struct tpl_value s, const struct tpl_args *a, struct tpl_value *out)
{
	return search(ctx, s, a, "find", out);
}

static int m_rfind(struct tpl_ctx *ctx, struct tpl_value s, const struct tpl_args *a, struct tpl_value *out)
{
	return search(ctx, s, a, "rfind", out);
}

static int m_count(struct tpl_ctx *ctx, struct tpl_value s, const struct tpl_args *a, struct tpl_value *out)
{
	return search(ctx, s, a, "count", out);
}

static int m_join(struct tpl_ctx *ctx, struct tpl_value s, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value arg[1], items;
	struct strbuf sb = { 0 };
	if (tpl_bind(a, "join", (const char *const[]){ "iterable", NULL }, 1, arg) < 0 ||
	    tpl_iterate(ctx, arg[0], &items) < 0)
		return -1;
	for (size_t i = 0; i < items.as.list->len; i++) {
		struct tpl_value item = items.as.list->items[i];
		if (item.type != TPL_STRING || tpl_check_growth(ctx, &sb) < 0) {
			if (item.type != TPL_STRING)
				error("sequence item %zu: expected str instance, %s found", i, tpl_type_name(item));
			strbuf_free(&sb);
			tpl_unref(items);
			return -1;
		}
		if (i)
			strbuf_append(&sb, s.as.string->data, s.as.string->len);
		strbuf_append(&sb, item.as.string->data, item.as.string->len);
	}
	tpl_unref(items);
	return tpl_take_string(ctx, &sb, out);
}

/* One {field} of str.format(): its value, by position or keyword. */
static int format_field(const struct tpl_args *a, const char *name, size_t len, size_t *next_auto,
			struct tpl_value *out)
{
	size_t index;
	if (len == 0) {
		index = (*next_auto)++;
	} else if (name[0] >= '0' && name[0] <= '9') {
		int64_t i;
		if (!tpl_parse_int(name, len, 10, &i))
			return error("format(): cannot read the field '%.*s'", (int)len, name);
		index = (size_t)i;
	} else {
		for (size_t i = 0; i < a->n_kw; i++) {
			if (strlen(a->kw_names[i]) == len && !memcmp(a->kw_names[i], name, len)) {
				*out = a->kw[i];
				return 0;
			}
		}
		return error("format(): no argument named '%.*s'", (int)len, name);
	}
	if (index >= a->n_pos)
		return error("format(): replacement index %zu out of range", index);
	*out = a->pos[index];
	return 0;
}

/* str.format() with plain fields: {}, {0}, {name} and !r / !s. */
static int m_format(struct tpl_ctx *ctx, struct tpl_value s, const struct tpl_args *a, struct tpl_value *out)
{
	const struct tpl_string *fmt = s.as.string;
	struct strbuf sb = { 0 };
	size_t next_auto = 0;
	for (size_t i = 0; i < fmt->len; i++) {
		char c = fmt->data[i];
		if (tpl_check_growth(ctx, &sb) < 0)
			goto fail;
		if ((c == '{' || c == '}') && i + 1 < fmt->len && fmt->data[i + 1] == c) {
			strbuf_append(&sb, &c, 1);
			i++;
			continue;
		}
		if (c == '}') {
			error("single '}' encountered in format string");
			goto fail;
		}
		if (c != '{') {
			strbuf_append(&sb, &c, 1);
			continue;
		}
		const char *start = fmt->data + i + 1, *close = memchr(start, '}', fmt->len - i - 1);
		if (!close) {
			error("single '{' encountered in format string");
			goto fail;
		}
		size_t len = (size_t)(close - start), name_len = strcspn(start, "!:.[}");
		char conversion = 's';
		if (name_len > len)
			name_len = len;
		if (name_len + 2 == len && start[name_len] == '!' && (start[name_len + 1] == 'r' || start[name_len + 1] == 's'))
			conversion = start[name_len + 1];
		else if (name_len != len) {
			error("format(): only plain fields like {}, {0} or {name} are supported");
			goto fail;
		}
		struct tpl_value v;
		if (format_field(a, start, name_len, &next_auto, &v) < 0 ||
		    (conversion == 'r' ? tpl_write_repr(&sb, v, 0) : tpl_write_str(&sb, v)) < 0)
			goto fail;
		i += len + 1;
	}
	return tpl_take_string(ctx, &sb, out);
fail:
	strbuf_free(&sb);
	return -1;
}

static int m_items(struct tpl_ctx *ctx, struct tpl_value d, const struct tpl_args *a, struct tpl_value *out)
{
	if (tpl_no_args(a, "items") < 0)
		return -1;
	return tpl_dict_items(ctx, d, out);
}

static int dict_column(struct tpl_ctx *ctx, struct tpl_value d, const struct tpl_args *a, bool keys,
		       struct tpl_value *out)
{
	if (tpl_no_args(a, keys ? "keys" : "values") < 0 || tpl_new_list(ctx, d.as.dict->len, out) < 0)
		return -1;
	for (size_t i = 0; i < d.as.dict->len; i++)
		tpl_list_push(*out, tpl_ref(keys ? d.as.dict->entries[i].key : d.as.dict->entries[i].value));
	return 0;
}

static int m_keys(struct tpl_ctx *ctx, struct tpl_value d, const struct tpl_args *a, struct tpl_value *out)
{
	return dict_column(ctx, d, a, true, out);
}

static int m_values(struct tpl_ctx *ctx, struct tpl_value d, const struct tpl_args *a, struct tpl_value *out)
{
	return dict_column(ctx, d, a, false, out);
}

static int m_get(struct tpl_ctx *ctx, struct tpl_value d, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value arg[2], *v;
	if (tpl_bind(a, "get", (const char *const[]){ "key", "default", NULL }, 1, arg) < 0)
		return -1;
	if (arg[0].type == TPL_DICT || (arg[0].type == TPL_LIST && !arg[0].as.list->tuple))
		return error("unhashable type: '%s'", tpl_type_name(arg[0]));
	v = tpl_dict_get(d, arg[0]);
	*out = v ? tpl_ref(*v) : tpl_absent(arg[1]) ? tpl_none() : tpl_ref(arg[1]);
	return 0;
}

static const struct tpl_builtin string_methods[] = {
	{ "capitalize", m_capitalize },
	{ "count", m_count },
	{ "endswith", m_endswith },
	{ "find", m_find },
	{ "format", m_format },
	{ "join", m_join },
	{ "lower", m_lower },
	{ "lstrip", m_lstrip },
	{ "replace", m_replace },
	{ "rfind", m_rfind },
	{ "rstrip", m_rstrip },
	{ "split", m_split },
	{ "splitlines", m_splitlines },
	{ "startswith", m_startswith },
	{ "strip", m_strip },
	{ "title", m_title },
	{ "upper", m_upper },
};

static const struct tpl_builtin dict_methods[] = {
	{ "get", m_get },
	{ "items", m_items },
	{ "keys", m_keys },
	{ "values", m_values },
};

/* Methods that would change a value in place: Jinja's immutable sandbox
 * refuses them. */
static const char *const unsafe_list_methods[] = { "append", "clear", "extend", "insert",
						   "pop",    "remove", "reverse", "sort", NULL };
static const char *const unsafe_dict_methods[] = { "clear", "pop", "popitem", "setdefault", "update", NULL };

const struct tpl_builtin *tpl_find_method(enum tpl_type type, const char *name, bool *unsafe)
{
	const char *const *refused = type == TPL_LIST ? unsafe_list_methods : type == TPL_DICT ? unsafe_dict_methods : NULL;
	const struct tpl_builtin *table = type == TPL_STRING ? string_methods : type == TPL_DICT ? dict_methods : NULL;
	size_t n = type == TPL_STRING ? ARRAY_LEN(string_methods) : type == TPL_DICT ? ARRAY_LEN(dict_methods) : 0;
	*unsafe = false;
	for (size_t i = 0; refused && refused[i]; i++)
		if (!strcmp(refused[i], name))
			*unsafe = true;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(table[i].name, name))
			return &table[i];
	return NULL;
}
