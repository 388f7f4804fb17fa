/* template_builtins.c - the filters, tests and global functions that chat
 * templates use, with the behaviour of Jinja2 and Python (and of
 * transformers for tojson, raise_exception and strftime_now). */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jinja/internal.h"

/* The most parameters a built-in declares. */
#define MAX_PARAMS 8

int tpl_bind(const struct tpl_args *args, const char *who, const char *const *params, size_t n_required,
	     struct tpl_value *slots)
{
	bool given[MAX_PARAMS] = { false };
	size_t n_params = 0;
	while (params[n_params])
		slots[n_params++] = tpl_undefined();
	if (args->n_pos > n_params)
		return error("%s() takes at most %zu argument(s), %zu given", who, n_params, args->n_pos);
	for (size_t i = 0; i < args->n_pos; i++) {
		slots[i] = args->pos[i];
		given[i] = true;
	}
	for (size_t i = 0; i < args->n_kw; i++) {
		size_t p = 0;
		while (p < n_params && strcmp(params[p], args->kw_names[i]))
			p++;
		if (p == n_params)
			return error("%s() got an unexpected keyword argument '%s'", who, args->kw_names[i]);
		if (given[p])
			return error("%s() got multiple values for argument '%s'", who, params[p]);
		slots[p] = args->kw[i];
		given[p] = true;
	}
	for (size_t i = 0; i < n_required; i++)
		if (!given[i])
			return error("%s() is missing its argument '%s'", who, params[i]);
	return 0;
}

int tpl_want_int(struct tpl_value v, const char *who, const char *what, int64_t *out)
{
	if (v.type == TPL_INT || v.type == TPL_BOOL) {
		*out = v.type == TPL_INT ? v.as.integer : v.as.boolean;
		return 0;
	}
	if (v.type == TPL_UNDEFINED)
		return tpl_undefined_error(v);
	return error("%s(): %s must be an integer, not '%s'", who, what, tpl_type_name(v));
}

int tpl_want_string(struct tpl_value v, const char *who, const char *what)
{
	if (v.type == TPL_STRING)
		return 0;
	if (v.type == TPL_UNDEFINED)
		return tpl_undefined_error(v);
	return error("%s(): %s must be a string, not '%s'", who, what, tpl_type_name(v));
}

/* Text being built must stay within what the render may still make. */
int tpl_check_growth(const struct tpl_ctx *ctx, const struct strbuf *sb)
{
	if (ctx->work + sb->len > TPL_MAX_WORK)
		return error("the template makes more than %zu MiB of text", TPL_MAX_WORK >> 20);
	return 0;
}

int tpl_new_list(struct tpl_ctx *ctx, size_t n, struct tpl_value *out)
{
	if (tpl_charge(ctx, n * sizeof(struct tpl_value)) < 0)
		return -1;
	*out = tpl_list_new(n, false);
	return 0;
}

static double number_value(struct tpl_value v)
{
	return v.type == TPL_FLOAT ? v.as.number : (double)(v.type == TPL_INT ? v.as.integer : v.as.boolean);
}

/* Reads an attribute path like "a.b" or "0" the way Jinja's attribute
 * arguments (map, selectattr, sort...) do: item lookup, part by part. */
static int get_path(struct tpl_value item, struct tpl_value path, struct tpl_value *out)
{
	if (path.type != TPL_STRING)
		return tpl_getitem(item, path, out);
	struct tpl_value v = tpl_ref(item), next, key;
	const char *p = path.as.string->data, *end = p + path.as.string->len;
	while (p <= end) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		size_t len = (size_t)((dot ? dot : end) - p);
		size_t digits = 0;
		int64_t index;
		while (digits < len && p[digits] >= '0' && p[digits] <= '9')
			digits++;
		key = len && digits == len && tpl_parse_int(p, len, 10, &index) ? tpl_int(index) : tpl_str(p, len);
		int rc = tpl_getitem(v, key, &next);
		tpl_unref(key);
		tpl_unref(v);
		if (rc < 0)
			return -1;
		v = next;
		if (!dot)
			break;
		p = dot + 1;
	}
	*out = v;
	return 0;
}

/* ---- filters ------------------------------------------------------------- */

static int f_abs(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	if (tpl_no_args(a, "abs") < 0)
		return -1;
	switch (v.type) {
	case TPL_BOOL: *out = tpl_int(v.as.boolean); return 0;
	case TPL_INT:
		if (v.as.integer == INT64_MIN)
			return error("integer overflow in abs()");
		*out = tpl_int(v.as.integer < 0 ? -v.as.integer : v.as.integer);
		return 0;
	case TPL_FLOAT: *out = tpl_float(fabs(v.as.number)); return 0;
	case TPL_UNDEFINED: return tpl_undefined_error(v);
	default: return error("bad operand type for abs(): '%s'", tpl_type_name(v));
	}
}

static int case_filter(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, const char *who,
		       enum tpl_case style, struct tpl_value *out)
{
	struct tpl_value text;
	if (tpl_no_args(a, who) < 0 || tpl_to_string(v, &text) < 0)
		return -1;
	int rc = tpl_change_case(ctx, text.as.string, style, out);
	tpl_unref(text);
	return rc;
}

static int f_capitalize(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	return case_filter(ctx, v, a, "capitalize", TPL_CASE_CAPITALIZE, out);
}

static int f_lower(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	return case_filter(ctx, v, a, "lower", TPL_CASE_LOWER, out);
}

static int f_upper(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	return case_filter(ctx, v, a, "upper", TPL_CASE_UPPER, out);
}

static int f_title(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	return case_filter(ctx, v, a, "title", TPL_CASE_TITLE_FILTER, out);
}

static int f_default(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value arg[2];
	if (tpl_bind(a, "default", (const char *const[]){ "default_value", "boolean", NULL }, 0, arg) < 0)
		return -1;
	if (v.type == TPL_UNDEFINED || (tpl_truthy(arg[1]) && !tpl_truthy(v)))
		*out = tpl_absent(arg[0]) ? tpl_str("", 0) : tpl_ref(arg[0]);
	else
		*out = tpl_ref(v);
	return 0;
}

static int f_escape(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value text;
	struct strbuf sb = { 0 };
	if (tpl_no_args(a, "escape") < 0)
		return -1;
	if (v.type == TPL_STRING && v.as.string->markup) {
		*out = tpl_ref(v);
		return 0;
	}
	if (tpl_to_string(v, &text) < 0)
		return -1;
	tpl_write_html_escaped(&sb, text.as.string->data, text.as.string->len);
	tpl_unref(text);
	if (tpl_take_string(ctx, &sb, out) < 0)
		return -1;
	out->as.string->markup = true;
	return 0;
}

static int f_safe(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value text;
	if (tpl_no_args(a, "safe") < 0 || tpl_to_string(v, &text) < 0)
		return -1;
	*out = tpl_str(text.as.string->data, text.as.string->len);
	out->as.string->markup = true;
	tpl_unref(text);
	return tpl_charge(ctx, out->as.string->len);
}

static int f_string(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	if (tpl_no_args(a, "string") < 0 || tpl_to_string(v, out) < 0)
		return -1;
	return tpl_charge(ctx, out->as.string->len);
}

/* first and last: of a list, string or dict keys; undefined when empty. */
static int first_or_last(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, bool last,
			 struct tpl_value *out)
{
	struct tpl_value items;
	if (tpl_no_args(a, last ? "last" : "first") < 0 ||
	    tpl_iterate(ctx, v, &items) < 0)
		return -1;
	size_t n = items.as.list->len;
	if (n == 0)
		*out = tpl_undefined_why("no %s item, the sequence was empty", last ? "last" : "first");
	else
		*out = tpl_ref(items.as.list->items[last ? n - 1 : 0]);
	tpl_unref(items);
	return 0;
}

static int f_first(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	return first_or_last(ctx, v, a, false, out);
}

static int f_last(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	return first_or_last(ctx, v, a, true, out);
}

static int f_float(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value arg[1];
	double d;
	if (tpl_bind(a, "float", (const char *const[]){ "default", NULL }, 0, arg) < 0)
		return -1;
	switch (v.type) {
	case TPL_UNDEFINED: return tpl_undefined_error(v);
	case TPL_BOOL:
	case TPL_INT:
	case TPL_FLOAT: *out = tpl_float(number_value(v)); return 0;
	case TPL_STRING:
		if (tpl_parse_float(v.as.string->data, v.as.string->len, &d)) {
			*out = tpl_float(d);
			return 0;
		}
		break;
	default: break;
	}
	*out = tpl_absent(arg[0]) ? tpl_float(0.0) : tpl_ref(arg[0]);
	return 0;
}

static int f_int(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value arg[2];
	int64_t base = 10, i;
	double d;
	if (tpl_bind(a, "int", (const char *const[]){ "default", "base", NULL }, 0, arg) < 0 ||
	    (!tpl_absent(arg[1]) && tpl_want_int(arg[1], "int", "base", &base) < 0))
		return -1;
	switch (v.type) {
	case TPL_UNDEFINED: return tpl_undefined_error(v);
	case TPL_BOOL: *out = tpl_int(v.as.boolean); return 0;
	case TPL_INT: *out = tpl_int(v.as.integer); return 0;
	case TPL_FLOAT:
		d = v.as.number;
		if (d > -9.2e18 && d < 9.2e18) {
			*out = tpl_int((int64_t)d);
			return 0;
		}
		break;
	case TPL_STRING:
		if (tpl_parse_int(v.as.string->data, v.as.string->len, (int)base, &i)) {
			*out = tpl_int(i);
			return 0;
		}
		if (tpl_parse_float(v.as.string->data, v.as.string->len, &d) && d > -9.2e18 && d < 9.2e18) {
			*out = tpl_int((int64_t)d);
			return 0;
		}
		break;
	default: break;
	}
	*out = tpl_absent(arg[0]) ? tpl_int(0) : tpl_ref(arg[0]);
	return 0;
}

/* "%s, %s"|format(a, b) or "%(x)s"|format(x=a): Python's % formatting. */
static int f_format(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value text, mapping = tpl_undefined();
	int rc;
	if (a->n_pos && a->n_kw)
		return error("format() takes positional or keyword arguments, not both");
	if (tpl_to_string(v, &text) < 0)
		return -1;
	if (a->n_kw) {
		mapping = tpl_dict_new();
		for (size_t i = 0; i < a->n_kw; i++)
			tpl_dict_set(mapping, tpl_cstr(a->kw_names[i]), tpl_ref(a->kw[i]));
	}
	rc = tpl_percent_format(ctx, text.as.string, a->pos, a->n_pos, mapping, out);
	tpl_unref(mapping);
	tpl_unref(text);
	return rc;
}

static int f_indent(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value arg[3], text, indent;
	struct strbuf sb = { 0 };
	struct tpl_line *lines;
	int64_t width = 4;
	int rc = -1;
	if (tpl_bind(a, "indent", (const char *const[]){ "width", "first", "blank", NULL }, 0, arg) < 0)
		return -1;
	if (arg[0].type == TPL_STRING) {
		indent = tpl_ref(arg[0]);
	} else {
		if (!tpl_absent(arg[0]) && tpl_want_int(arg[0], "indent", "width", &width) < 0)
			return -1;
		if (width > 1024)
			return error("indent(): width %" PRId64 " is too large", width);
		char spaces[1025];
		memset(spaces, ' ', sizeof spaces);
		indent = tpl_str(spaces, width > 0 ? (size_t)width : 0);
	}
	if (tpl_to_string(v, &text) < 0) {
		tpl_unref(indent);
		return -1;
	}
	/* Jinja adds a newline first, so that a final line break keeps its line */
	struct strbuf with_newline = { 0 };
	strbuf_append(&with_newline, text.as.string->data, text.as.string->len);
	strbuf_append(&with_newline, "\n", 1);
	struct tpl_value padded = tpl_str_take(&with_newline);
	size_t n = tpl_split_lines(padded.as.string, &lines);
	const struct tpl_string *in = indent.as.string, *s = padded.as.string;
	if (tpl_truthy(arg[1]))
		strbuf_append(&sb, in->data, in->len);
	for (size_t i = 0; i < n; i++) {
		if (tpl_check_growth(ctx, &sb) < 0)
			goto fail;
		bool empty = lines[i].end == lines[i].start;
		if (i > 0) {
			strbuf_append(&sb, "\n", 1);
			if (!empty || tpl_truthy(arg[2]))
				strbuf_append(&sb, in->data, in->len);
		}
		strbuf_append(&sb, s->data + lines[i].start, lines[i].end - lines[i].start);
	}
	rc = tpl_take_string(ctx, &sb, out);
fail:
	strbuf_free(&sb);
	free(lines);
	tpl_unref(padded);
	tpl_unref(text);
	tpl_unref(indent);
	return rc;
}

static int f_items(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	if (tpl_no_args(a, "items") < 0)
		return -1;
	if (v.type == TPL_UNDEFINED)
		return tpl_new_list(ctx, 0, out);
	if (v.type != TPL_DICT)
		return error("can only get item pairs from a mapping, not '%s'", tpl_type_name(v));
	return tpl_dict_items(ctx, v, out);
}

static int f_join(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value arg[2], items, sep = tpl_undefined();
	struct strbuf sb = { 0 };
	int rc = -1;
	if (tpl_bind(a, "join", (const char *const[]){ "d", "attribute", NULL }, 0, arg) < 0 ||
	    tpl_iterate(ctx, v, &items) < 0)
		return -1;
	if (tpl_to_string(arg[0], &sep) < 0)
		goto fail;
	for (size_t i = 0; i < items.as.list->len; i++) {
		struct tpl_value item = tpl_ref(items.as.list->items[i]);
		if (!tpl_absent_or_none(arg[1])) {
			struct tpl_value attr;
			int got = get_path(item, arg[1], &attr);
			tpl_unref(item);
			if (got < 0)
				goto fail;
			item = attr;
		}
		if (i)
			strbuf_append(&sb, sep.as.string->data, sep.as.string->len);
		int written = tpl_write_str(&sb, item);
		tpl_unref(item);
		if (written < 0 || tpl_check_growth(ctx, &sb) < 0)
			goto fail;
	}
	rc = tpl_take_string(ctx, &sb, out);
fail:
	strbuf_free(&sb);
	tpl_unref(sep);
	tpl_unref(items);
	return rc;
}

static int f_length(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	if (tpl_no_args(a, "length") < 0)
		return -1;
	switch (v.type) {
	case TPL_UNDEFINED: *out = tpl_int(0); return 0;
	case TPL_STRING: *out = tpl_int((int64_t)tpl_utf8_count(v.as.string->data, v.as.string->len)); return 0;
	case TPL_LIST: *out = tpl_int((int64_t)v.as.list->len); return 0;
	case TPL_DICT: *out = tpl_int((int64_t)v.as.dict->len); return 0;
	case TPL_LOOP: *out = tpl_int((int64_t)v.as.loop->items.as.list->len); return 0;
	default: return error("object of type '%s' has no len()", tpl_type_name(v));
	}
}

static int f_list(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value items;
	if (tpl_no_args(a, "list") < 0 || tpl_iterate(ctx, v, &items) < 0)
		return -1;
	if (!items.as.list->tuple) {
		*out = items;
		return 0;
	}
	if (tpl_new_list(ctx, items.as.list->len, out) < 0) {
		tpl_unref(items);
		return -1;
	}
	for (size_t i = 0; i < items.as.list->len; i++)
		tpl_list_push(*out, tpl_ref(items.as.list->items[i]));
	tpl_unref(items);
	return 0;
}

/* map(attribute='x', default=...) or map('filter', args...). */
static int f_map(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value items, list, attribute = tpl_undefined(), fallback = tpl_undefined();
	const struct tpl_builtin *filter = NULL;
	struct tpl_args rest = *a;
	if (a->n_pos == 0) {
		for (size_t i = 0; i < a->n_kw; i++) {
			if (!strcmp(a->kw_names[i], "attribute"))
				attribute = a->kw[i];
			else if (!strcmp(a->kw_names[i], "default"))
				fallback = a->kw[i];
			else
				return error("map() got an unexpected keyword argument '%s'", a->kw_names[i]);
		}
		if (tpl_absent(attribute))
			return error("map() needs a filter name or attribute=");
	} else {
		if (tpl_want_string(a->pos[0], "map", "the filter name") < 0)
			return -1;
		filter = tpl_find_filter(a->pos[0].as.string->data);
		if (!filter)
			return error("no filter named '%s'", a->pos[0].as.string->data);
		rest.pos++;
		rest.n_pos--;
	}
	/* Jinja maps nothing over any false value, none included */
	if (tpl_iterate(ctx, tpl_truthy(v) ? v : tpl_undefined(), &items) < 0)
		return -1;
	if (tpl_new_list(ctx, items.as.list->len, &list) < 0) {
		tpl_unref(items);
		return -1;
	}
	for (size_t i = 0; i < items.as.list->len; i++) {
		struct tpl_value item = items.as.list->items[i], mapped;
		int rc = filter ? filter->fn(ctx, item, &rest, &mapped) : get_path(item, attribute, &mapped);
		if (rc < 0) {
			tpl_unref(list);
			tpl_unref(items);
			return -1;
		}
		if (!filter && mapped.type == TPL_UNDEFINED && !tpl_absent(fallback)) {
			tpl_unref(mapped);
			mapped = tpl_ref(fallback);
		}
		tpl_list_push(list, mapped);
	}
	tpl_unref(items);
	*out = list;
	return 0;
}

static int f_replace(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value arg[3], text, old = tpl_undefined(), new = tpl_undefined();
	int64_t count = -1;
	int rc = -1;
	if (tpl_bind(a, "replace", (const char *const[]){ "old", "new", "count", NULL }, 2, arg) < 0 ||
	    (!tpl_absent_or_none(arg[2]) && tpl_want_int(arg[2], "replace", "count", &count) < 0) ||
	    tpl_to_string(v, &text) < 0)
		return -1;
	if (tpl_to_string(arg[0], &old) == 0 && tpl_to_string(arg[1], &new) == 0)
		rc = tpl_replace(ctx, text.as.string, old.as.string, new.as.string, count, out);
	tpl_unref(old);
	tpl_unref(new);
	tpl_unref(text);
	return rc;
}

static int f_reverse(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value items;
	if (tpl_no_args(a, "reverse") < 0 || tpl_iterate(ctx, v, &items) < 0)
		return -1;
	size_t n = items.as.list->len;
	if (v.type == TPL_STRING) {
		struct strbuf sb = { 0 };
		for (size_t i = n; i-- > 0;)
			tpl_write_str(&sb, items.as.list->items[i]);
		tpl_unref(items);
		return tpl_take_string(ctx, &sb, out);
	}
	if (tpl_new_list(ctx, n, out) < 0) {
		tpl_unref(items);
		return -1;
	}
	for (size_t i = n; i-- > 0;)
		tpl_list_push(*out, tpl_ref(items.as.list->items[i]));
	tpl_unref(items);
	return 0;
}

/* Python's round(x, digits): to the nearest, ties to even digit. */
static double round_half_even(double x, int64_t digits)
{
	char buf[1024];
	if (!isfinite(x) || digits > 330)
		return x;
	if (digits < 0) {
		double scale = pow(10.0, (double)-digits);
		return isfinite(scale) ? nearbyint(x / scale) * scale : 0.0 * x;
	}
	snprintf(buf, sizeof buf, "%.*f", (int)digits, x);
	return strtod(buf, NULL);
}

static int f_round(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value arg[2];
	int64_t digits = 0;
	const char *method = "common";
	if (tpl_bind(a, "round", (const char *const[]){ "precision", "method", NULL }, 0, arg) < 0 ||
	    (!tpl_absent(arg[0]) && tpl_want_int(arg[0], "round", "precision", &digits) < 0))
		return -1;
	if (!tpl_absent(arg[1])) {
		if (tpl_want_string(arg[1], "round", "method") < 0)
			return -1;
		method = arg[1].as.string->data;
	}
	if (strcmp(method, "common") && strcmp(method, "ceil") && strcmp(method, "floor"))
		return error("round(): method must be 'common', 'ceil' or 'floor'");
	if (!tpl_is_number(v))
		return v.type == TPL_UNDEFINED ? tpl_undefined_error(v)
					       : error("type %s doesn't define __round__ method", tpl_type_name(v));
	double x = number_value(v);
	if (!strcmp(method, "common")) {
		/* round() of an int stays an int */
		if (v.type != TPL_FLOAT && digits >= 0)
			*out = tpl_int(v.type == TPL_INT ? v.as.integer : v.as.boolean);
		else if (v.type != TPL_FLOAT)
			*out = tpl_int((int64_t)round_half_even(x, digits));
		else
			*out = tpl_float(round_half_even(x, digits));
		return 0;
	}
	double scale = pow(10.0, (double)digits);
	*out = tpl_float((!strcmp(method, "ceil") ? ceil(x * scale) : floor(x * scale)) / scale);
	return 0;
}

/* select/reject and selectattr/rejectattr: keep the items a test passes
 * (or fails); without a test name, those that are true. */
static int filter_items(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, bool by_attribute,
			bool keep, struct tpl_value *out)
{
	const char *who = keep ? (by_attribute ? "selectattr" : "select") : (by_attribute ? "rejectattr" : "reject");
	struct tpl_args rest = *a;
	struct tpl_value attribute = tpl_undefined(), items, list = tpl_undefined();
	const struct tpl_builtin *test = NULL;
	if (by_attribute) {
		if (rest.n_pos == 0)
			return error("%s() needs an attribute name", who);
		attribute = rest.pos[0];
		rest.pos++;
		rest.n_pos--;
	}
	if (rest.n_pos > 0) {
		if (tpl_want_string(rest.pos[0], who, "the test name") < 0)
			return -1;
		test = tpl_find_test(rest.pos[0].as.string->data);
		if (!test)
			return error("no test named '%s'", rest.pos[0].as.string->data);
		rest.pos++;
		rest.n_pos--;
	}
	/* as with map, a false value (none too) selects nothing */
	if (tpl_iterate(ctx, tpl_truthy(v) ? v : tpl_undefined(), &items) < 0)
		return -1;
	if (tpl_new_list(ctx, items.as.list->len, &list) < 0)
		goto fail;
	for (size_t i = 0; i < items.as.list->len; i++) {
		struct tpl_value item = items.as.list->items[i], subject, verdict = tpl_undefined();
		if (!by_attribute)
			subject = tpl_ref(item);
		else if (get_path(item, attribute, &subject) < 0)
			goto fail;
		int rc = test ? test->fn(ctx, subject, &rest, &verdict) : 0;
		bool pass = test ? tpl_truthy(verdict) : tpl_truthy(subject);
		tpl_unref(subject);
		if (rc < 0)
			goto fail;
		if (pass == keep)
			tpl_list_push(list, tpl_ref(item));
	}
	tpl_unref(items);
	*out = list;
	return 0;
fail:
	tpl_unref(list);
	tpl_unref(items);
	return -1;
}

static int f_select(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	return filter_items(ctx, v, a, false, true, out);
}

static int f_reject(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	return filter_items(ctx, v, a, false, false, out);
}

static int f_selectattr(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	return filter_items(ctx, v, a, true, true, out);
}

static int f_rejectattr(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	return filter_items(ctx, v, a, true, false, out);
}

/* The keys sort and unique compare: an attribute, lower-cased text unless
 * case_sensitive. */
static int sort_keys(struct tpl_ctx *ctx, struct tpl_value items, struct tpl_value attribute, bool case_sensitive,
		     struct tpl_value *keys)
{
	if (tpl_new_list(ctx, items.as.list->len, keys) < 0)
		return -1;
	for (size_t i = 0; i < items.as.list->len; i++) {
		struct tpl_value key, lowered;
		if (tpl_absent_or_none(attribute))
			key = tpl_ref(items.as.list->items[i]);
		else if (get_path(items.as.list->items[i], attribute, &key) < 0)
			goto fail;
		if (!case_sensitive && key.type == TPL_STRING) {
			int rc = tpl_change_case(ctx, key.as.string, TPL_CASE_LOWER, &lowered);
			tpl_unref(key);
			if (rc < 0)
				goto fail;
			key = lowered;
		}
		tpl_list_push(*keys, key);
	}
	return 0;
fail:
	tpl_unref(*keys);
	return -1;
}

struct sort_order {
	const struct tpl_list *keys;
	bool reverse;
};

static int compare_sort_keys(const void *arg, size_t a, size_t b, int *order)
{
	const struct sort_order *so = arg;
	if (tpl_compare(so->keys->items[a], so->keys->items[b], "<", order) < 0)
		return -1;
	if (so->reverse)
		*order = -*order;
	return 0;
}

static int f_sort(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value arg[3], items, keys;
	size_t *order = NULL;
	int rc = -1;
	if (tpl_bind(a, "sort", (const char *const[]){ "reverse", "case_sensitive", "attribute", NULL }, 0, arg) < 0 ||
	    tpl_iterate(ctx, v, &items) < 0)
		return -1;
	if (sort_keys(ctx, items, arg[2], tpl_truthy(arg[1]), &keys) < 0) {
		tpl_unref(items);
		return -1;
	}
	size_t n = items.as.list->len;
	struct sort_order so = { keys.as.list, tpl_truthy(arg[0]) };
	order = xmalloc((n ? n : 1) * sizeof *order);
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	if (tpl_sort_indices(order, n, compare_sort_keys, &so) == 0 && tpl_new_list(ctx, n, out) == 0) {
		for (size_t i = 0; i < n; i++)
			tpl_list_push(*out, tpl_ref(items.as.list->items[order[i]]));
		rc = 0;
	}
	free(order);
	tpl_unref(keys);
	tpl_unref(items);
	return rc;
}

static int f_unique(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value arg[2], items, keys, list, seen;
	int rc = -1;
	if (tpl_bind(a, "unique", (const char *const[]){ "case_sensitive", "attribute", NULL }, 0, arg) < 0 ||
	    tpl_iterate(ctx, v, &items) < 0)
		return -1;
	if (sort_keys(ctx, items, arg[1], tpl_truthy(arg[0]), &keys) < 0) {
		tpl_unref(items);
		return -1;
	}
	list = tpl_list_new(0, false);
	seen = tpl_list_new(0, false);
	for (size_t i = 0; i < items.as.list->len; i++) {
		bool dup = false;
		if (tpl_charge(ctx, seen.as.list->len * sizeof(struct tpl_value)) < 0)
			goto fail;
		for (size_t j = 0; j < seen.as.list->len && !dup; j++)
			dup = tpl_equal(seen.as.list->items[j], keys.as.list->items[i]);
		if (!dup) {
			tpl_list_push(seen, tpl_ref(keys.as.list->items[i]));
			tpl_list_push(list, tpl_ref(items.as.list->items[i]));
		}
	}
	*out = tpl_ref(list);
	rc = 0;
fail:
	tpl_unref(seen);
	tpl_unref(list);
	tpl_unref(keys);
	tpl_unref(items);
	return rc;
}

/* min and max: the first smallest or largest item (by attribute, without
 * case unless case_sensitive); undefined for an empty sequence. */
static int extreme(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, bool largest,
		   struct tpl_value *out)
{
	struct tpl_value arg[2], items, keys;
	size_t best = 0;
	int rc = 0, order;
	const char *const params[] = { "case_sensitive", "attribute", NULL };
	if (tpl_bind(a, largest ? "max" : "min", params, 0, arg) < 0 || tpl_iterate(ctx, v, &items) < 0)
		return -1;
	if (sort_keys(ctx, items, arg[1], tpl_truthy(arg[0]), &keys) < 0) {
		tpl_unref(items);
		return -1;
	}
	for (size_t i = 1; i < items.as.list->len && rc == 0; i++) {
		rc = tpl_compare(keys.as.list->items[i], keys.as.list->items[best], "<", &order);
		if (rc == 0 && (largest ? order > 0 : order < 0))
			best = i;
	}
	if (rc == 0)
		*out = items.as.list->len ? tpl_ref(items.as.list->items[best])
					  : tpl_undefined_why("no aggregated item, the sequence was empty");
	tpl_unref(keys);
	tpl_unref(items);
	return rc;
}

static int f_min(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	return extreme(ctx, v, a, false, out);
}

static int f_max(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	return extreme(ctx, v, a, true, out);
}

static int f_sum(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value arg[2], items, total;
	if (tpl_bind(a, "sum", (const char *const[]){ "attribute", "start", NULL }, 0, arg) < 0 ||
	    tpl_iterate(ctx, v, &items) < 0)
		return -1;
	total = tpl_absent(arg[1]) ? tpl_int(0) : tpl_ref(arg[1]);
	for (size_t i = 0; i < items.as.list->len; i++) {
		struct tpl_value item, next;
		int rc;
		if (tpl_absent_or_none(arg[0]))
			item = tpl_ref(items.as.list->items[i]);
		else if (get_path(items.as.list->items[i], arg[0], &item) < 0)
			goto fail;
		rc = tpl_binary_op(ctx, TPL_OP_ADD, total, item, &next);
		tpl_unref(item);
		if (rc < 0)
			goto fail;
		tpl_unref(total);
		total = next;
	}
	tpl_unref(items);
	*out = total;
	return 0;
fail:
	tpl_unref(total);
	tpl_unref(items);
	return -1;
}

/* A dict's (key, value) pairs sorted by key or by value. */
static int f_dictsort(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value arg[3], pairs, keys;
	size_t *order;
	int rc = -1;
	if (tpl_bind(a, "dictsort", (const char *const[]){ "case_sensitive", "by", "reverse", NULL }, 0, arg) < 0)
		return -1;
	if (v.type != TPL_DICT)
		return v.type == TPL_UNDEFINED ? tpl_undefined_error(v)
					       : error("dictsort(): a dict is required, not '%s'", tpl_type_name(v));
	bool by_value = arg[1].type == TPL_STRING && !strcmp(arg[1].as.string->data, "value");
	bool by_key = arg[1].type == TPL_STRING && !strcmp(arg[1].as.string->data, "key");
	if (!tpl_absent(arg[1]) && !by_value && !by_key)
		return error("dictsort(): you can only sort by either 'key' or 'value'");
	if (tpl_dict_items(ctx, v, &pairs) < 0)
		return -1;
	if (sort_keys(ctx, pairs, tpl_int(by_value), tpl_truthy(arg[0]), &keys) < 0) {
		tpl_unref(pairs);
		return -1;
	}
	size_t n = pairs.as.list->len;
	struct sort_order so = { keys.as.list, tpl_truthy(arg[2]) };
	order = xmalloc((n ? n : 1) * sizeof *order);
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	if (tpl_sort_indices(order, n, compare_sort_keys, &so) == 0 && tpl_new_list(ctx, n, out) == 0) {
		for (size_t i = 0; i < n; i++)
			tpl_list_push(*out, tpl_ref(pairs.as.list->items[order[i]]));
		rc = 0;
	}
	free(order);
	tpl_unref(keys);
	tpl_unref(pairs);
	return rc;
}

/* transformers' tojson: json.dumps(x, ensure_ascii=False, indent=indent,
 * separators=separators, sort_keys=sort_keys). */
static int f_tojson(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value arg[4], indent = tpl_undefined();
	struct tpl_json_style st = { .item_sep = ", ", .key_sep = ": " };
	struct strbuf sb = { 0 };
	int rc = -1;
	if (tpl_bind(a, "tojson", (const char *const[]){ "ensure_ascii", "indent", "separators", "sort_keys", NULL },
		     0, arg) < 0)
		return -1;
	st.ascii = tpl_truthy(arg[0]);
	st.sort_keys = tpl_truthy(arg[3]);
	if (arg[1].type == TPL_STRING) {
		indent = tpl_ref(arg[1]);
	} else if (!tpl_absent_or_none(arg[1])) {
		int64_t width = 0;
		if (tpl_want_int(arg[1], "tojson", "indent", &width) < 0)
			return -1;
		if (width > 1024)
			return error("tojson(): indent %" PRId64 " is too large", width);
		char spaces[1025];
		memset(spaces, ' ', sizeof spaces);
		indent = tpl_str(spaces, width > 0 ? (size_t)width : 0);
	}
	if (indent.type == TPL_STRING) {
		st.indent = indent.as.string->data;
		st.item_sep = ",";
	}
	if (!tpl_absent_or_none(arg[2])) {
		const struct tpl_list *seps = arg[2].type == TPL_LIST ? arg[2].as.list : NULL;
		if (!seps || seps->len != 2 || seps->items[0].type != TPL_STRING || seps->items[1].type != TPL_STRING) {
			error("tojson(): separators must be a pair of strings");
			goto fail;
		}
		st.item_sep = seps->items[0].as.string->data;
		st.key_sep = seps->items[1].as.string->data;
	}
	if (tpl_write_json(&sb, v, &st, 0) == 0)
		rc = tpl_take_string(ctx, &sb, out);
fail:
	strbuf_free(&sb);
	tpl_unref(indent);
	return rc;
}

static int f_trim(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value arg[1], text;
	if (tpl_bind(a, "trim", (const char *const[]){ "chars", NULL }, 0, arg) < 0 || tpl_to_string(v, &text) < 0)
		return -1;
	int rc = tpl_strip(ctx, text.as.string, arg[0], true, true, out);
	tpl_unref(text);
	return rc;
}

static int f_wordcount(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value text;
	int64_t words = 0;
	bool in_word = false;
	if (tpl_no_args(a, "wordcount") < 0 || tpl_to_string(v, &text) < 0)
		return -1;
	const struct tpl_string *s = text.as.string;
	for (size_t pos = 0; pos < s->len;) {
		bool word = tpl_is_word_char(tpl_utf8_next(s->data, s->len, &pos));
		words += word && !in_word;
		in_word = word;
	}
	tpl_unref(text);
	*out = tpl_int(words);
	return 0;
}

/* ---- tests --------------------------------------------------------------- */

/* Tests without arguments; a test's name is its function's without "t_". */
#define TYPE_TEST(fn, cond)                                                                                      \
	static int fn(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out) \
	{                                                                                                        \
		if (tpl_no_args(a, #fn + 2) < 0)                                                                     \
			return -1;                                                                               \
		*out = tpl_bool(cond);                                                                           \
		return 0;                                                                                        \
	}

TYPE_TEST(t_defined, v.type != TPL_UNDEFINED)
TYPE_TEST(t_undefined, v.type == TPL_UNDEFINED)
TYPE_TEST(t_none, v.type == TPL_NONE)
TYPE_TEST(t_boolean, v.type == TPL_BOOL)
TYPE_TEST(t_true, v.type == TPL_BOOL && v.as.boolean)
TYPE_TEST(t_false, v.type == TPL_BOOL && !v.as.boolean)
TYPE_TEST(t_integer, v.type == TPL_INT)
TYPE_TEST(t_float, v.type == TPL_FLOAT)
TYPE_TEST(t_number, tpl_is_number(v))
TYPE_TEST(t_string, v.type == TPL_STRING)
TYPE_TEST(t_mapping, v.type == TPL_DICT)
TYPE_TEST(t_iterable, v.type == TPL_STRING || v.type == TPL_LIST || v.type == TPL_DICT || v.type == TPL_UNDEFINED ||
			      v.type == TPL_LOOP)
TYPE_TEST(t_sequence, v.type == TPL_STRING || v.type == TPL_LIST || v.type == TPL_DICT || v.type == TPL_UNDEFINED)
/* as in Python, an Undefined can be called (to fail) and a loop too */
TYPE_TEST(t_callable, v.type == TPL_MACRO || v.type == TPL_FUNCTION || v.type == TPL_UNDEFINED || v.type == TPL_LOOP)
TYPE_TEST(t_escaped, v.type == TPL_STRING && v.as.string->markup)

/* value % divisor == 0 with Python's numbers. */
static int divisible(struct tpl_value v, struct tpl_value divisor, bool *out)
{
	if (v.type == TPL_UNDEFINED)
		return tpl_undefined_error(v);
	if (!tpl_is_number(v) || !tpl_is_number(divisor))
		return error("unsupported operand type(s) for %%: '%s' and '%s'", tpl_type_name(v),
			     tpl_type_name(divisor));
	if (v.type == TPL_FLOAT || divisor.type == TPL_FLOAT) {
		double x = number_value(v), y = number_value(divisor);
		if (y == 0)
			return error("float modulo by zero");
		*out = fmod(x, y) == 0;
		return 0;
	}
	int64_t x = v.type == TPL_INT ? v.as.integer : v.as.boolean;
	int64_t y = divisor.type == TPL_INT ? divisor.as.integer : divisor.as.boolean;
	if (y == 0)
		return error("integer division or modulo by zero");
	*out = y == -1 || x % y == 0;
	return 0;
}

static int t_even(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	bool yes;
	if (tpl_no_args(a, "even") < 0 || divisible(v, tpl_int(2), &yes) < 0)
		return -1;
	*out = tpl_bool(yes);
	return 0;
}

/* value % 2 == 1, so that 2.5 is neither even nor odd */
static int t_odd(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	if (tpl_no_args(a, "odd") < 0)
		return -1;
	if (v.type == TPL_UNDEFINED)
		return tpl_undefined_error(v);
	if (!tpl_is_number(v))
		return error("unsupported operand type(s) for %%: '%s' and 'int'", tpl_type_name(v));
	if (v.type == TPL_FLOAT) {
		double m = fmod(v.as.number, 2.0);
		*out = tpl_bool(m == 1.0 || m == -1.0);
	} else {
		*out = tpl_bool((v.type == TPL_INT ? v.as.integer : v.as.boolean) % 2 != 0);
	}
	return 0;
}

static int t_divisibleby(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value arg[1];
	bool yes;
	if (tpl_bind(a, "divisibleby", (const char *const[]){ "num", NULL }, 1, arg) < 0 ||
	    divisible(v, arg[0], &yes) < 0)
		return -1;
	*out = tpl_bool(yes);
	return 0;
}

static int t_in(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value arg[1];
	bool yes;
	if (tpl_bind(a, "in", (const char *const[]){ "seq", NULL }, 1, arg) < 0 || tpl_contains(ctx, arg[0], v, &yes) < 0)
		return -1;
	*out = tpl_bool(yes);
	return 0;
}

static int t_sameas(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value arg[1];
	if (tpl_bind(a, "sameas", (const char *const[]){ "other", NULL }, 1, arg) < 0)
		return -1;
	bool same = v.type == arg[0].type;
	if (same && (v.type == TPL_STRING || v.type >= TPL_LIST))
		same = v.as.string == arg[0].as.string; /* the same object: compare the pointers */
	else if (same)
		same = tpl_equal(v, arg[0]);
	*out = tpl_bool(same);
	return 0;
}

/* eq, ne, lt, le, gt, ge and their aliases. */
static int compare_test(const struct tpl_args *a, const char *who, struct tpl_value v, const char *op,
			struct tpl_value *out)
{
	struct tpl_value arg[1];
	int order;
	if (tpl_bind(a, who, (const char *const[]){ "other", NULL }, 1, arg) < 0)
		return -1;
	if (op[0] == '=' || op[0] == '!') {
		*out = tpl_bool(tpl_equal(v, arg[0]) == (op[0] == '='));
		return 0;
	}
	if (tpl_compare(v, arg[0], op, &order) < 0)
		return -1;
	*out = tpl_bool(op[0] == '<' ? (op[1] ? order <= 0 : order < 0) : (op[1] ? order >= 0 : order > 0));
	return 0;
}

#define COMPARE_TEST(fn, op)                                                                                     \
	static int fn(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out) \
	{                                                                                                        \
		return compare_test(a, #fn + 2, v, op, out);                                                     \
	}

COMPARE_TEST(t_eq, "==")
COMPARE_TEST(t_ne, "!=")
COMPARE_TEST(t_lt, "<")
COMPARE_TEST(t_le, "<=")
COMPARE_TEST(t_gt, ">")
COMPARE_TEST(t_ge, ">=")

/* str.islower() and str.isupper(): cased letters, all of one case. */
static int case_test(struct tpl_value v, const struct tpl_args *a, bool upper, struct tpl_value *out)
{
	struct tpl_value text;
	bool cased = false, all = true;
	if (tpl_no_args(a, upper ? "upper" : "lower") < 0 || tpl_to_string(v, &text) < 0)
		return -1;
	const struct tpl_string *s = text.as.string;
	for (size_t pos = 0; pos < s->len;) {
		uint32_t cp = tpl_utf8_next(s->data, s->len, &pos);
		if (!tpl_is_cased(cp))
			continue;
		cased = true;
		all = all && (upper ? tpl_upper(cp) == cp : tpl_lower(cp) == cp);
	}
	tpl_unref(text);
	*out = tpl_bool(cased && all);
	return 0;
}

static int t_lower(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	return case_test(v, a, false, out);
}

static int t_upper(struct tpl_ctx *ctx, struct tpl_value v, const struct tpl_args *a, struct tpl_value *out)
{
	return case_test(v, a, true, out);
}

/* ---- global functions ---------------------------------------------------- */

static int g_range(struct tpl_ctx *ctx, struct tpl_value self, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value arg[3];
	int64_t start = 0, stop = 0, step = 1, count;
	if (tpl_bind(a, "range", (const char *const[]){ "start", "stop", "step", NULL }, 1, arg) < 0)
		return -1;
	if (a->n_pos == 1) {
		if (tpl_want_int(arg[0], "range", "stop", &stop) < 0)
			return -1;
	} else if (tpl_want_int(arg[0], "range", "start", &start) < 0 || tpl_want_int(arg[1], "range", "stop", &stop) < 0 ||
		   (!tpl_absent(arg[2]) && tpl_want_int(arg[2], "range", "step", &step) < 0)) {
		return -1;
	}
	if (step == 0)
		return error("range() arg 3 must not be zero");
	/* in double, so that huge bounds cannot overflow */
	double span = step > 0 ? ((double)stop - (double)start) : ((double)start - (double)stop);
	double steps = span <= 0 ? 0 : ceil(span / fabs((double)step));
	if (steps > TPL_MAX_RANGE)
		return error("range() of more than %d items", TPL_MAX_RANGE);
	count = (int64_t)steps;
	if (tpl_new_list(ctx, (size_t)count, out) < 0)
		return -1;
	for (int64_t i = 0; i < count; i++)
		tpl_list_push(*out, tpl_int(start + i * step));
	return 0;
}

/* Copies the entries of an optional mapping argument and the keyword
 * arguments into d (dict() and namespace()). */
static int fill_mapping(const struct tpl_args *a, const char *who, struct tpl_value d)
{
	if (a->n_pos > 1)
		return error("%s() takes at most 1 positional argument", who);
	if (a->n_pos == 1) {
		if (a->pos[0].type != TPL_DICT)
			return error("%s(): the positional argument must be a dict, not '%s'", who,
				     tpl_type_name(a->pos[0]));
		const struct tpl_dict *src = a->pos[0].as.dict;
		for (size_t i = 0; i < src->len; i++)
			tpl_dict_set(d, tpl_ref(src->entries[i].key), tpl_ref(src->entries[i].value));
	}
	for (size_t i = 0; i < a->n_kw; i++)
		tpl_dict_set(d, tpl_cstr(a->kw_names[i]), tpl_ref(a->kw[i]));
	return 0;
}

static int g_dict(struct tpl_ctx *ctx, struct tpl_value self, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value d = tpl_dict_new();
	if (fill_mapping(a, "dict", d) < 0) {
		tpl_unref(d);
		return -1;
	}
	*out = d;
	return 0;
}

static int g_namespace(struct tpl_ctx *ctx, struct tpl_value self, const struct tpl_args *a, struct tpl_value *out)
{
	struct tpl_value ns = tpl_namespace_new();
	tpl_track_namespace(ctx, ns);
	if (fill_mapping(a, "namespace", ns) < 0) {
		tpl_unref(ns);
		return -1;
	}
	*out = ns;
	return 0;
}

/* The template refuses the conversation: its message is the error. */
static int g_raise_exception(struct tpl_ctx *ctx, struct tpl_value self, const struct tpl_args *a,
			     struct tpl_value *out)
{
	struct tpl_value arg[1], text;
	if (tpl_bind(a, "raise_exception", (const char *const[]){ "message", NULL }, 1, arg) < 0 ||
	    tpl_to_string(arg[0], &text) < 0)
		return -1;
	error("%s", text.as.string->data);
	tpl_unref(text);
	ctx->located = true;
	return -1;
}

static int g_strftime_now(struct tpl_ctx *ctx, struct tpl_value self, const struct tpl_args *a,
			  struct tpl_value *out)
{
	struct tpl_value arg[1];
	struct tm tm;
	if (tpl_bind(a, "strftime_now", (const char *const[]){ "format", NULL }, 1, arg) < 0 ||
	    tpl_want_string(arg[0], "strftime_now", "format") < 0)
		return -1;
	const struct tpl_string *fmt = arg[0].as.string;
	if (fmt->len == 0 || fmt->len > 4096) {
		*out = tpl_str("", 0);
		return fmt->len ? error("strftime_now(): the format is too long") : 0;
	}
	if (!localtime_r(&ctx->now, &tm))
		return error("strftime_now(): cannot convert the time");
	/* strftime() returns 0 both for "too small" and for an empty result */
	for (size_t size = 2 * fmt->len + 64; size <= 64 * fmt->len + 256; size *= 2) {
		char *buf = xmalloc(size);
		size_t n = strftime(buf, size, fmt->data, &tm);
		if (n > 0) {
			*out = tpl_str(buf, n);
			free(buf);
			return 0;
		}
		free(buf);
	}
	*out = tpl_str("", 0);
	return 0;
}

/* ---- tables -------------------------------------------------------------- */

static const struct tpl_builtin filters[] = {
	{ "abs", f_abs },
	{ "capitalize", f_capitalize },
	{ "count", f_length },
	{ "d", f_default },
	{ "default", f_default },
	{ "dictsort", f_dictsort },
	{ "e", f_escape },
	{ "escape", f_escape },
	{ "first", f_first },
	{ "float", f_float },
	{ "format", f_format },
	{ "indent", f_indent },
	{ "int", f_int },
	{ "items", f_items },
	{ "join", f_join },
	{ "last", f_last },
	{ "length", f_length },
	{ "list", f_list },
	{ "lower", f_lower },
	{ "map", f_map },
	{ "max", f_max },
	{ "min", f_min },
	{ "reject", f_reject },
	{ "rejectattr", f_rejectattr },
	{ "replace", f_replace },
	{ "reverse", f_reverse },
	{ "round", f_round },
	{ "safe", f_safe },
	{ "select", f_select },
	{ "selectattr", f_selectattr },
	{ "sort", f_sort },
	{ "string", f_string },
	{ "sum", f_sum },
	{ "title", f_title },
	{ "tojson", f_tojson },
	{ "trim", f_trim },
	{ "unique", f_unique },
	{ "upper", f_upper },
	{ "wordcount", f_wordcount },
};

static const struct tpl_builtin tests[] = {
	{ "!=", t_ne },
	{ "<", t_lt },
	{ "<=", t_le },
	{ "==", t_eq },
	{ ">", t_gt },
	{ ">=", t_ge },
	{ "boolean", t_boolean },
	{ "callable", t_callable },
	{ "defined", t_defined },
	{ "divisibleby", t_divisibleby },
	{ "eq", t_eq },
	{ "equalto", t_eq },
	{ "escaped", t_escaped },
	{ "even", t_even },
	{ "false", t_false },
	{ "float", t_float },
	{ "ge", t_ge },
	{ "greaterthan", t_gt },
	{ "gt", t_gt },
	{ "in", t_in },
	{ "integer", t_integer },
	{ "iterable", t_iterable },
	{ "le", t_le },
	{ "lessthan", t_lt },
	{ "lower", t_lower },
	{ "lt", t_lt },
	{ "mapping", t_mapping },
	{ "ne", t_ne },
	{ "none", t_none },
	{ "number", t_number },
	{ "odd", t_odd },
	{ "sameas", t_sameas },
	{ "sequence", t_sequence },
	{ "string", t_string },
	{ "true", t_true },
	{ "undefined", t_undefined },
	{ "upper", t_upper },
};

static const struct tpl_builtin globals[] = {
	{ "dict", g_dict },
	{ "namespace", g_namespace },
	{ "raise_exception", g_raise_exception },
	{ "range", g_range },
	{ "strftime_now", g_strftime_now },
};

static const struct tpl_builtin *find(const struct tpl_builtin *table, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(table[i].name, name))
			return &table[i];
	return NULL;
}

const struct tpl_builtin *tpl_find_filter(const char *name)
{
	return find(filters, ARRAY_LEN(filters), name);
}

const struct tpl_builtin *tpl_find_test(const char *name)
{
	return find(tests, ARRAY_LEN(tests), name);
}

const struct tpl_builtin *tpl_find_global(const char *name)
{
	return find(globals, ARRAY_LEN(globals), name);
}
