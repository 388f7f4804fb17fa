/* template_value.c - the template interpreter's values: reference counting,
 * strings, lists, dicts and namespaces, and the Python semantics of
 * truth, equality, ordering, str(), repr() and json.dumps(). */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jinja/internal.h"

struct tpl_value tpl_ref(struct tpl_value v)
{
	switch (v.type) {
	case TPL_UNDEFINED:
		if (v.as.string)
			v.as.string->refs++;
		break;
	case TPL_STRING: v.as.string->refs++; break;
	case TPL_LIST: v.as.list->refs++; break;
	case TPL_DICT:
	case TPL_NAMESPACE: v.as.dict->refs++; break;
	case TPL_LOOP: v.as.loop->refs++; break;
	case TPL_MACRO:
	case TPL_FUNCTION: v.as.callable->refs++; break;
	default: break;
	}
	return v;
}

static void string_unref(struct tpl_string *s)
{
	if (s && --s->refs == 0) {
		free(s->data);
		free(s);
	}
}

static void dict_clear(struct tpl_dict *d)
{
	for (size_t i = 0; i < d->len; i++) {
		tpl_unref(d->entries[i].key);
		tpl_unref(d->entries[i].value);
	}
	free(d->entries);
	free(d->index);
	d->entries = NULL;
	d->index = NULL;
	d->len = d->cap = d->index_cap = 0;
}

void tpl_unref(struct tpl_value v)
{
	switch (v.type) {
	case TPL_UNDEFINED:
	case TPL_STRING: string_unref(v.as.string); break;
	case TPL_LIST:
		if (--v.as.list->refs == 0) {
			for (size_t i = 0; i < v.as.list->len; i++)
				tpl_unref(v.as.list->items[i]);
			free(v.as.list->items);
			free(v.as.list);
		}
		break;
	case TPL_DICT:
	case TPL_NAMESPACE:
		if (--v.as.dict->refs == 0) {
			dict_clear(v.as.dict);
			free(v.as.dict);
		}
		break;
	case TPL_LOOP:
		if (--v.as.loop->refs == 0) {
			tpl_unref(v.as.loop->items);
			free(v.as.loop);
		}
		break;
	case TPL_MACRO:
	case TPL_FUNCTION:
		if (--v.as.callable->refs == 0) {
			tpl_unref(v.as.callable->self);
			tpl_frame_unref(v.as.callable->closure);
			free(v.as.callable);
		}
		break;
	default: break;
	}
}

static struct tpl_string *string_adopt(char *data, size_t len)
{
	struct tpl_string *s = xmalloc(sizeof *s);
	s->refs = 1;
	s->markup = false;
	s->len = len;
	s->data = data;
	return s;
}

struct tpl_value tpl_str(const char *data, size_t len)
{
	return (struct tpl_value){ .type = TPL_STRING, .as.string = string_adopt(xstrndup(data, len), len) };
}

struct tpl_value tpl_cstr(const char *s)
{
	return tpl_str(s, strlen(s));
}

struct tpl_value tpl_str_take(struct strbuf *sb)
{
	struct tpl_value v;
	if (!sb->data)
		return tpl_str("", 0);
	v = (struct tpl_value){ .type = TPL_STRING, .as.string = string_adopt(sb->data, sb->len) };
	*sb = (struct strbuf){ 0 };
	return v;
}

struct tpl_value tpl_undefined_why(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	struct tpl_value v = tpl_cstr(buf);
	v.type = TPL_UNDEFINED;
	return v;
}

int tpl_undefined_error(struct tpl_value v)
{
	if (v.type == TPL_UNDEFINED && v.as.string)
		return error("%s", v.as.string->data);
	return error("undefined value");
}

struct tpl_value tpl_list_new(size_t cap, bool tuple)
{
	struct tpl_list *l = xcalloc(1, sizeof *l);
	l->refs = 1;
	l->tuple = tuple;
	l->depth = 1;
	l->cap = cap;
	l->items = cap ? xmalloc(cap * sizeof *l->items) : NULL;
	return (struct tpl_value){ .type = TPL_LIST, .as.list = l };
}

unsigned tpl_depth(struct tpl_value v)
{
	if (v.type == TPL_LIST)
		return v.as.list->depth;
	if (v.type == TPL_DICT)
		return v.as.dict->depth;
	return 0;
}

void tpl_list_push(struct tpl_value list, struct tpl_value item)
{
	struct tpl_list *l = list.as.list;
	if (l->len == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 4;
		l->items = xrealloc(l->items, l->cap * sizeof *l->items);
	}
	l->items[l->len++] = item;
	if (tpl_depth(item) + 1 > l->depth)
		l->depth = tpl_depth(item) + 1;
}

static struct tpl_value dict_new(enum tpl_type type)
{
	struct tpl_dict *d = xcalloc(1, sizeof *d);
	d->refs = 1;
	d->depth = 1;
	return (struct tpl_value){ .type = type, .as.dict = d };
}

struct tpl_value tpl_dict_new(void)
{
	return dict_new(TPL_DICT);
}

struct tpl_value tpl_namespace_new(void)
{
	return dict_new(TPL_NAMESPACE);
}

static bool hashable(struct tpl_value v)
{
	if (v.type == TPL_DICT || (v.type == TPL_LIST && !v.as.list->tuple))
		return false;
	if (v.type == TPL_LIST)
		for (size_t i = 0; i < v.as.list->len; i++)
			if (!hashable(v.as.list->items[i]))
				return false;
	return true;
}

/* ---- dict lookup: linear while small, then through a hash index -------- */

#define DICT_INDEX_FROM 8

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static uint64_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return mix(h);
}

/* Equal keys hash alike, as in Python: 1, 1.0 and True are one key. */
static uint64_t hash_value(struct tpl_value v)
{
	uint64_t h;
	switch (v.type) {
	case TPL_STRING: return hash_bytes(v.as.string->data, v.as.string->len);
	case TPL_BOOL: return mix((uint64_t)v.as.boolean);
	case TPL_INT: return mix((uint64_t)v.as.integer);
	case TPL_FLOAT:
		if (v.as.number == floor(v.as.number) && fabs(v.as.number) < 9.2e18)
			return mix((uint64_t)(int64_t)v.as.number);
		memcpy(&h, &v.as.number, sizeof h);
		return mix(h);
	case TPL_LIST: /* a tuple */
		h = v.as.list->len;
		for (size_t i = 0; i < v.as.list->len; i++)
			h = mix(h * 31 + hash_value(v.as.list->items[i]));
		return h;
	case TPL_UNDEFINED:
	case TPL_NONE: return (uint64_t)v.type;
	default: return mix((uint64_t)(uintptr_t)v.as.callable); /* by identity */
	}
}

static void index_insert(struct tpl_dict *d, size_t entry)
{
	size_t mask = d->index_cap - 1, i = hash_value(d->entries[entry].key) & mask;
	while (d->index[i])
		i = (i + 1) & mask;
	d->index[i] = entry + 1;
}

static void index_rebuild(struct tpl_dict *d)
{
	free(d->index);
	d->index_cap = 4 * DICT_INDEX_FROM;
	while (d->index_cap < 2 * d->len)
		d->index_cap *= 2;
	d->index = xcalloc(d->index_cap, sizeof *d->index);
	for (size_t i = 0; i < d->len; i++)
		index_insert(d, i);
}

struct tpl_value *tpl_dict_get(struct tpl_value dict, struct tpl_value key)
{
	struct tpl_dict *d = dict.as.dict;
	if (!d->index) {
		for (size_t i = 0; i < d->len; i++)
			if (tpl_equal(d->entries[i].key, key))
				return &d->entries[i].value;
		return NULL;
	}
	size_t mask = d->index_cap - 1;
	for (size_t i = hash_value(key) & mask; d->index[i]; i = (i + 1) & mask)
		if (tpl_equal(d->entries[d->index[i] - 1].key, key))
			return &d->entries[d->index[i] - 1].value;
	return NULL;
}

static bool key_is(struct tpl_value k, const char *s, size_t len)
{
	return k.type == TPL_STRING && k.as.string->len == len && memcmp(k.as.string->data, s, len) == 0;
}

struct tpl_value *tpl_dict_get_str(struct tpl_value dict, const char *key)
{
	struct tpl_dict *d = dict.as.dict;
	size_t len = strlen(key);
	if (!d->index) {
		for (size_t i = 0; i < d->len; i++)
			if (key_is(d->entries[i].key, key, len))
				return &d->entries[i].value;
		return NULL;
	}
	size_t mask = d->index_cap - 1;
	for (size_t i = hash_bytes(key, len) & mask; d->index[i]; i = (i + 1) & mask)
		if (key_is(d->entries[d->index[i] - 1].key, key, len))
			return &d->entries[d->index[i] - 1].value;
	return NULL;
}

int tpl_dict_set(struct tpl_value dict, struct tpl_value key, struct tpl_value value)
{
	struct tpl_dict *d = dict.as.dict;
	struct tpl_value *slot;
	if (!hashable(key)) {
		int rc = error("unhashable type: '%s'", tpl_type_name(key));
		tpl_unref(key);
		tpl_unref(value);
		return rc;
	}
	slot = tpl_dict_get(dict, key);
	if (slot) {
		tpl_unref(key);
		tpl_unref(*slot);
		*slot = value;
	} else {
		if (d->len == d->cap) {
			d->cap = d->cap ? 2 * d->cap : 4;
			d->entries = xrealloc(d->entries, d->cap * sizeof *d->entries);
		}
		d->entries[d->len].key = key;
		d->entries[d->len++].value = value;
		if (d->index && 2 * d->len <= d->index_cap)
			index_insert(d, d->len - 1);
		else if (d->len >= DICT_INDEX_FROM)
			index_rebuild(d);
	}
	if (dict.type == TPL_DICT && tpl_depth(value) + 1 > d->depth)
		d->depth = tpl_depth(value) + 1;
	return 0;
}

void tpl_namespace_clear(struct tpl_value ns)
{
	dict_clear(ns.as.dict);
}

bool tpl_truthy(struct tpl_value v)
{
	switch (v.type) {
	case TPL_UNDEFINED:
	case TPL_NONE: return false;
	case TPL_BOOL: return v.as.boolean;
	case TPL_INT: return v.as.integer != 0;
	case TPL_FLOAT: return v.as.number != 0;
	case TPL_STRING: return v.as.string->len != 0;
	case TPL_LIST: return v.as.list->len != 0;
	case TPL_DICT: return v.as.dict->len != 0;
	default: return true;
	}
}

static double as_double(struct tpl_value v)
{
	if (v.type == TPL_FLOAT)
		return v.as.number;
	return v.type == TPL_BOOL ? v.as.boolean : (double)v.as.integer;
}

static int64_t as_int(struct tpl_value v)
{
	return v.type == TPL_BOOL ? v.as.boolean : v.as.integer;
}

bool tpl_equal(struct tpl_value a, struct tpl_value b)
{
	if (tpl_is_number(a) && tpl_is_number(b)) {
		if (a.type == TPL_FLOAT || b.type == TPL_FLOAT)
			return as_double(a) == as_double(b);
		return as_int(a) == as_int(b);
	}
	if (a.type != b.type)
		return false;
	switch (a.type) {
	case TPL_UNDEFINED:
	case TPL_NONE: return true;
	case TPL_STRING:
		return a.as.string == b.as.string || (a.as.string->len == b.as.string->len &&
						      memcmp(a.as.string->data, b.as.string->data, a.as.string->len) == 0);
	case TPL_LIST:
		if (a.as.list->tuple != b.as.list->tuple || a.as.list->len != b.as.list->len)
			return false;
		for (size_t i = 0; i < a.as.list->len; i++)
			if (!tpl_equal(a.as.list->items[i], b.as.list->items[i]))
				return false;
		return true;
	case TPL_DICT:
		if (a.as.dict->len != b.as.dict->len)
			return false;
		for (size_t i = 0; i < a.as.dict->len; i++) {
			struct tpl_value *other = tpl_dict_get(b, a.as.dict->entries[i].key);
			if (!other || !tpl_equal(a.as.dict->entries[i].value, *other))
				return false;
		}
		return true;
	case TPL_NAMESPACE: return a.as.dict == b.as.dict;
	case TPL_LOOP: return a.as.loop == b.as.loop;
	default: return a.as.callable == b.as.callable;
	}
}

int tpl_compare(struct tpl_value a, struct tpl_value b, const char *op, int *order)
{
	if (tpl_is_number(a) && tpl_is_number(b)) {
		if (a.type == TPL_FLOAT || b.type == TPL_FLOAT) {
			double x = as_double(a), y = as_double(b);
			*order = (x > y) - (x < y);
		} else {
			int64_t x = as_int(a), y = as_int(b);
			*order = (x > y) - (x < y);
		}
		return 0;
	}
	if (a.type == TPL_STRING && b.type == TPL_STRING) {
		size_t n = a.as.string->len < b.as.string->len ? a.as.string->len : b.as.string->len;
		int c = memcmp(a.as.string->data, b.as.string->data, n);
		if (c == 0)
			c = (a.as.string->len > b.as.string->len) - (a.as.string->len < b.as.string->len);
		*order = c;
		return 0;
	}
	if (a.type == TPL_LIST && b.type == TPL_LIST && a.as.list->tuple == b.as.list->tuple) {
		size_t n = a.as.list->len < b.as.list->len ? a.as.list->len : b.as.list->len;
		for (size_t i = 0; i < n; i++)
			if (!tpl_equal(a.as.list->items[i], b.as.list->items[i]))
				return tpl_compare(a.as.list->items[i], b.as.list->items[i], op, order);
		*order = (a.as.list->len > b.as.list->len) - (a.as.list->len < b.as.list->len);
		return 0;
	}
	if (a.type == TPL_UNDEFINED)
		return tpl_undefined_error(a);
	if (b.type == TPL_UNDEFINED)
		return tpl_undefined_error(b);
	return error("'%s' not supported between instances of '%s' and '%s'", op, tpl_type_name(a),
		     tpl_type_name(b));
}

const char *tpl_type_name(struct tpl_value v)
{
	switch (v.type) {
	case TPL_UNDEFINED: return "Undefined";
	case TPL_NONE: return "NoneType";
	case TPL_BOOL: return "bool";
	case TPL_INT: return "int";
	case TPL_FLOAT: return "float";
	case TPL_STRING: return "str";
	case TPL_LIST: return v.as.list->tuple ? "tuple" : "list";
	case TPL_DICT: return "dict";
	case TPL_NAMESPACE: return "Namespace";
	case TPL_LOOP: return "LoopContext";
	case TPL_MACRO: return "Macro";
	case TPL_FUNCTION: return "builtin_function_or_method";
	}
	return "object";
}

static void write_int(struct strbuf *sb, int64_t i)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%" PRId64, i);
	strbuf_append(sb, buf, (size_t)n);
}

static void write_cstr(struct strbuf *sb, const char *s)
{
	strbuf_append(sb, s, strlen(s));
}

/* Text written for one value may not outgrow what a render may make. */
static int check_size(const struct strbuf *sb, size_t more)
{
	if (sb->len > TPL_MAX_WORK || more > TPL_MAX_WORK - sb->len)
		return error("a value is too big to write out (over %zu MiB)", TPL_MAX_WORK >> 20);
	return 0;
}

static int write_entries(struct strbuf *sb, const struct tpl_dict *d, int depth)
{
	for (size_t i = 0; i < d->len; i++) {
		if (check_size(sb, 0) < 0)
			return -1;
		if (i)
			write_cstr(sb, ", ");
		if (tpl_write_repr(sb, d->entries[i].key, depth + 1) < 0)
			return -1;
		write_cstr(sb, ": ");
		if (tpl_write_repr(sb, d->entries[i].value, depth + 1) < 0)
			return -1;
	}
	return 0;
}

int tpl_write_repr(struct strbuf *sb, struct tpl_value v, int depth)
{
	if (depth > TPL_MAX_NESTING)
		return error("a value is nested too deeply to print");
	switch (v.type) {
	case TPL_UNDEFINED: write_cstr(sb, "Undefined"); return 0;
	case TPL_STRING:
		if (v.as.string->markup)
			write_cstr(sb, "Markup(");
		tpl_write_str_repr(sb, v.as.string->data, v.as.string->len);
		if (v.as.string->markup)
			write_cstr(sb, ")");
		return 0;
	case TPL_LIST:
		write_cstr(sb, v.as.list->tuple ? "(" : "[");
		for (size_t i = 0; i < v.as.list->len; i++) {
			if (check_size(sb, 0) < 0)
				return -1;
			if (i)
				write_cstr(sb, ", ");
			if (tpl_write_repr(sb, v.as.list->items[i], depth + 1) < 0)
				return -1;
		}
		write_cstr(sb, !v.as.list->tuple ? "]" : v.as.list->len == 1 ? ",)" : ")");
		return 0;
	case TPL_DICT:
		write_cstr(sb, "{");
		if (write_entries(sb, v.as.dict, depth) < 0)
			return -1;
		write_cstr(sb, "}");
		return 0;
	case TPL_NAMESPACE:
		write_cstr(sb, "<Namespace {");
		if (write_entries(sb, v.as.dict, depth) < 0)
			return -1;
		write_cstr(sb, "}>");
		return 0;
	case TPL_LOOP: {
		char buf[64];
		int n = snprintf(buf, sizeof buf, "<LoopContext %zu/%zu>", v.as.loop->index0 + 1,
				 v.as.loop->items.as.list->len);
		strbuf_append(sb, buf, (size_t)n);
		return 0;
	}
	case TPL_MACRO:
		write_cstr(sb, "<Macro '");
		write_cstr(sb, v.as.callable->macro->u.macro.name);
		write_cstr(sb, "'>");
		return 0;
	case TPL_FUNCTION:
		write_cstr(sb, "<built-in function ");
		write_cstr(sb, v.as.callable->builtin->name);
		write_cstr(sb, ">");
		return 0;
	default: return tpl_write_str(sb, v);
	}
}

int tpl_write_str(struct strbuf *sb, struct tpl_value v)
{
	switch (v.type) {
	case TPL_UNDEFINED: return 0;
	case TPL_NONE: write_cstr(sb, "None"); return 0;
	case TPL_BOOL: write_cstr(sb, v.as.boolean ? "True" : "False"); return 0;
	case TPL_INT: write_int(sb, v.as.integer); return 0;
	case TPL_FLOAT: tpl_write_float(sb, v.as.number); return 0;
	case TPL_STRING: strbuf_append(sb, v.as.string->data, v.as.string->len); return 0;
	default: return tpl_write_repr(sb, v, 0);
	}
}

int tpl_to_string(struct tpl_value v, struct tpl_value *out)
{
	struct strbuf sb = { 0 };
	if (v.type == TPL_STRING) {
		*out = tpl_ref(v);
		return 0;
	}
	if (tpl_write_str(&sb, v) < 0) {
		strbuf_free(&sb);
		return -1;
	}
	*out = tpl_str_take(&sb);
	return 0;
}

/* ---- JSON ---------------------------------------------------------------- */

static int json_newline(struct strbuf *sb, const struct tpl_json_style *st, int level)
{
	if (!st->indent)
		return 0;
	if (check_size(sb, strlen(st->indent) * (size_t)level) < 0)
		return -1;
	write_cstr(sb, "\n");
	for (int i = 0; i < level; i++)
		write_cstr(sb, st->indent);
	return 0;
}

/* A dict key as json.dumps writes it: keys that are not strings become
 * the JSON text of their value, quoted. */
static int json_key(struct strbuf *sb, struct tpl_value key, const struct tpl_json_style *st)
{
	struct strbuf text = { 0 };
	switch (key.type) {
	case TPL_STRING: tpl_write_json_string(sb, key.as.string->data, key.as.string->len, st->ascii); return 0;
	case TPL_NONE: write_cstr(&text, "null"); break;
	case TPL_BOOL: write_cstr(&text, key.as.boolean ? "true" : "false"); break;
	case TPL_INT:
	case TPL_FLOAT: tpl_write_json(&text, key, st, 0); break;
	default: return error("keys must be str, int, float, bool or None, not %s", tpl_type_name(key));
	}
	tpl_write_json_string(sb, text.data, text.len, st->ascii);
	strbuf_free(&text);
	return 0;
}

static int compare_keys(const void *arg, size_t a, size_t b, int *order)
{
	const struct tpl_dict *d = arg;
	return tpl_compare(d->entries[a].key, d->entries[b].key, "<", order);
}

int tpl_write_json(struct strbuf *sb, struct tpl_value v, const struct tpl_json_style *st, int level)
{
	size_t *order = NULL;
	int rc = -1;
	if (level > TPL_MAX_NESTING)
		return error("a value is nested too deeply for tojson");
	if (check_size(sb, 0) < 0)
		return -1;
	switch (v.type) {
	case TPL_NONE: write_cstr(sb, "null"); return 0;
	case TPL_BOOL: write_cstr(sb, v.as.boolean ? "true" : "false"); return 0;
	case TPL_INT: write_int(sb, v.as.integer); return 0;
	case TPL_FLOAT:
		if (isnan(v.as.number))
			write_cstr(sb, "NaN");
		else if (isinf(v.as.number))
			write_cstr(sb, v.as.number < 0 ? "-Infinity" : "Infinity");
		else
			tpl_write_float(sb, v.as.number);
		return 0;
	case TPL_STRING: tpl_write_json_string(sb, v.as.string->data, v.as.string->len, st->ascii); return 0;
	case TPL_LIST:
		if (v.as.list->len == 0) {
			write_cstr(sb, "[]");
			return 0;
		}
		write_cstr(sb, "[");
		for (size_t i = 0; i < v.as.list->len; i++) {
			if (i)
				write_cstr(sb, st->item_sep);
			if (json_newline(sb, st, level + 1) < 0 ||
			    tpl_write_json(sb, v.as.list->items[i], st, level + 1) < 0)
				return -1;
		}
		if (json_newline(sb, st, level) < 0)
			return -1;
		write_cstr(sb, "]");
		return 0;
	case TPL_DICT: {
		const struct tpl_dict *d = v.as.dict;
		if (d->len == 0) {
			write_cstr(sb, "{}");
			return 0;
		}
		order = xmalloc(d->len * sizeof *order);
		for (size_t i = 0; i < d->len; i++)
			order[i] = i;
		if (st->sort_keys && tpl_sort_indices(order, d->len, compare_keys, d) < 0)
			goto fail;
		write_cstr(sb, "{");
		for (size_t i = 0; i < d->len; i++) {
			if (i)
				write_cstr(sb, st->item_sep);
			if (json_newline(sb, st, level + 1) < 0 || json_key(sb, d->entries[order[i]].key, st) < 0)
				goto fail;
			write_cstr(sb, st->key_sep);
			if (tpl_write_json(sb, d->entries[order[i]].value, st, level + 1) < 0)
				goto fail;
		}
		if (json_newline(sb, st, level) < 0)
			goto fail;
		write_cstr(sb, "}");
		rc = 0;
		goto fail;
	}
	default: return error("object of type '%s' is not JSON serializable", tpl_type_name(v));
	}
fail:
	free(order);
	return rc;
}

int tpl_from_json(json_object *j, struct tpl_value *out, int depth)
{
	if (depth > TPL_MAX_NESTING)
		return error("the messages are nested too deeply");
	switch (json_object_get_type(j)) {
	case json_type_null: *out = tpl_none(); return 0;
	case json_type_boolean: *out = tpl_bool(json_object_get_boolean(j)); return 0;
	case json_type_int: *out = tpl_int(json_object_get_int64(j)); return 0;
	case json_type_double: *out = tpl_float(json_object_get_double(j)); return 0;
	case json_type_string:
		*out = tpl_str(json_object_get_string(j), (size_t)json_object_get_string_len(j));
		return 0;
	case json_type_array: {
		size_t n = json_object_array_length(j);
		struct tpl_value list = tpl_list_new(n, false), item;
		for (size_t i = 0; i < n; i++) {
			if (tpl_from_json(json_object_array_get_idx(j, i), &item, depth + 1) < 0) {
				tpl_unref(list);
				return -1;
			}
			tpl_list_push(list, item);
		}
		*out = list;
		return 0;
	}
	case json_type_object: {
		struct tpl_value dict = tpl_dict_new(), item;
		json_object_object_foreach(j, key, val)
		{
			if (tpl_from_json(val, &item, depth + 1) < 0) {
				tpl_unref(dict);
				return -1;
			}
			tpl_dict_set(dict, tpl_cstr(key), item);
		}
		*out = dict;
		return 0;
	}
	}
	return error("unexpected JSON value in the messages");
}

/* ---- sorting ------------------------------------------------------------- */

static int merge_sort(size_t *idx, size_t *tmp, size_t n,
		      int (*cmp)(const void *arg, size_t a, size_t b, int *order), const void *arg)
{
	size_t half = n / 2, i = 0, j = half, k = 0;
	int order;
	if (n < 2)
		return 0;
	if (merge_sort(idx, tmp, half, cmp, arg) < 0 || merge_sort(idx + half, tmp, n - half, cmp, arg) < 0)
		return -1;
	while (i < half && j < n) {
		if (cmp(arg, idx[j], idx[i], &order) < 0)
			return -1;
		tmp[k++] = order < 0 ? idx[j++] : idx[i++];
	}
	while (i < half)
		tmp[k++] = idx[i++];
	while (j < n)
		tmp[k++] = idx[j++];
	memcpy(idx, tmp, n * sizeof *idx);
	return 0;
}

int tpl_sort_indices(size_t *idx, size_t n, int (*cmp)(const void *arg, size_t a, size_t b, int *order),
		     const void *arg)
{
	size_t *tmp = xmalloc((n ? n : 1) * sizeof *tmp);
	int rc = merge_sort(idx, tmp, n, cmp, arg);
	free(tmp);
	return rc;
}
