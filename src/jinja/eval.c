/* template_eval.c - runs a parsed template: scopes, statements, operators,
 * attribute and item lookup, macros and loops, with Jinja2's semantics and
 * limits that stop runaway templates. */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strmap.h"
#include "jinja/internal.h"

/* Scopes with more variables than this look them up through a hash map. */
#define FRAME_INDEX_FROM 16

struct tpl_var {
	const char *name; /* owned by the syntax tree, or a string constant */
	struct tpl_value value;
};

/* A scope.  Loop iterations, macro calls and blocks each get one; a
 * macro keeps the scope it was defined in alive as its closure. */
struct tpl_frame {
	int refs;
	struct tpl_frame *parent;
	size_t len, cap;
	struct tpl_var *vars;
	struct strmap index; /* name -> position in vars, once there are many */
};

static struct tpl_frame *frame_new(struct tpl_frame *parent)
{
	struct tpl_frame *f = xcalloc(1, sizeof *f);
	f->refs = 1;
	f->parent = parent;
	if (parent)
		parent->refs++;
	return f;
}

static void frame_clear(struct tpl_frame *f)
{
	for (size_t i = 0; i < f->len; i++)
		tpl_unref(f->vars[i].value);
	free(f->vars);
	strmap_free(&f->index);
	f->vars = NULL;
	f->len = f->cap = 0;
}

void tpl_frame_unref(struct tpl_frame *f)
{
	if (!f || --f->refs > 0)
		return;
	frame_clear(f);
	tpl_frame_unref(f->parent);
	free(f);
}

/* Leaves a scope: its variables go at once, which also breaks the cycle of
 * a macro defined in it, even if the macro lives on elsewhere. */
static void frame_pop(struct tpl_frame *f)
{
	frame_clear(f);
	tpl_frame_unref(f);
}

static struct tpl_value *frame_find(struct tpl_frame *f, const char *name)
{
	if (f->index.cap) {
		int32_t i = strmap_get(&f->index, name, strlen(name));
		return i < 0 ? NULL : &f->vars[i].value;
	}
	for (size_t i = 0; i < f->len; i++)
		if (!strcmp(f->vars[i].name, name))
			return &f->vars[i].value;
	return NULL;
}

/* Sets a variable of f, taking over value. */
static void frame_set(struct tpl_frame *f, const char *name, struct tpl_value value)
{
	struct tpl_value *slot = frame_find(f, name);
	if (slot) {
		tpl_unref(*slot);
		*slot = value;
		return;
	}
	if (f->len == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 8;
		f->vars = xrealloc(f->vars, f->cap * sizeof *f->vars);
	}
	f->vars[f->len++] = (struct tpl_var){ name, value };
	if (!f->index.cap && f->len >= FRAME_INDEX_FROM) {
		strmap_init(&f->index, f->len);
		for (size_t i = 0; i + 1 < f->len; i++)
			strmap_put(&f->index, f->vars[i].name, strlen(f->vars[i].name), (int32_t)i);
	}
	if (f->index.cap)
		strmap_put(&f->index, name, strlen(name), (int32_t)(f->len - 1));
}

void tpl_ctx_init(struct tpl_ctx *ctx, time_t now)
{
	*ctx = (struct tpl_ctx){ .root = frame_new(NULL), .now = now };
}

void tpl_ctx_free(struct tpl_ctx *ctx)
{
	if (!ctx || !ctx->root)
		return;
	frame_clear(ctx->root);
	for (size_t i = 0; i < ctx->n_namespaces; i++)
		tpl_namespace_clear(ctx->namespaces[i]);
	for (size_t i = 0; i < ctx->n_namespaces; i++)
		tpl_unref(ctx->namespaces[i]);
	free(ctx->namespaces);
	tpl_frame_unref(ctx->root);
	*ctx = (struct tpl_ctx){ 0 };
}

void tpl_ctx_define(struct tpl_ctx *ctx, const char *name, struct tpl_value value)
{
	frame_set(ctx->root, name, value);
}

void tpl_track_namespace(struct tpl_ctx *ctx, struct tpl_value ns)
{
	if (ctx->n_namespaces == ctx->cap_namespaces) {
		ctx->cap_namespaces = ctx->cap_namespaces ? 2 * ctx->cap_namespaces : 8;
		ctx->namespaces = xrealloc(ctx->namespaces, ctx->cap_namespaces * sizeof *ctx->namespaces);
	}
	ctx->namespaces[ctx->n_namespaces++] = tpl_ref(ns);
}

int tpl_charge(struct tpl_ctx *ctx, size_t n)
{
	ctx->work += n;
	if (ctx->work > TPL_MAX_WORK)
		return error("the template makes more than %zu MiB of text", TPL_MAX_WORK >> 20);
	return 0;
}

/* The evaluator recurses as deep as a template nests (macros calling
 * macros, long operator chains).  It stops at a fixed amount of stack
 * rather than a count of calls, as frame sizes vary with the compiler and
 * grow several times under sanitizers. */
static int check_stack(const struct tpl_ctx *ctx)
{
	char here;
	uintptr_t at = (uintptr_t)&here;
	size_t used = at < ctx->stack_base ? ctx->stack_base - at : at - ctx->stack_base;
	if (used > TPL_MAX_STACK)
		return error("the template recurses too deeply");
	return 0;
}

/* Adds "template line N: " to the error unless some inner node did. */
static int locate(struct tpl_ctx *ctx, const struct tpl_node *n)
{
	if (!ctx->located) {
		error_prefix("template line %d", n->line);
		ctx->located = true;
	}
	return -1;
}

struct tpl_value tpl_function(const struct tpl_builtin *b, struct tpl_value self)
{
	struct tpl_callable *c = xcalloc(1, sizeof *c);
	c->refs = 1;
	c->builtin = b;
	c->self = tpl_ref(self);
	return (struct tpl_value){ .type = TPL_FUNCTION, .as.callable = c };
}

static struct tpl_value macro_value(const struct tpl_node *macro, struct tpl_frame *closure)
{
	struct tpl_callable *c = xcalloc(1, sizeof *c);
	c->refs = 1;
	c->macro = macro;
	c->closure = closure;
	closure->refs++;
	return (struct tpl_value){ .type = TPL_MACRO, .as.callable = c };
}

/* ---- lookup ---------------------------------------------------------------- */

static int loop_cycle(struct tpl_ctx *ctx, struct tpl_value self, const struct tpl_args *args,
		      struct tpl_value *out)
{
	if (args->n_pos == 0)
		return error("no items for cycling given");
	*out = tpl_ref(args->pos[self.as.loop->index0 % args->n_pos]);
	return 0;
}

static const struct tpl_builtin loop_cycle_builtin = { "cycle", loop_cycle };

static int loop_attr(struct tpl_value loop, const char *name, struct tpl_value *out)
{
	const struct tpl_loop *l = loop.as.loop;
	const struct tpl_list *items = l->items.as.list;
	int64_t i = (int64_t)l->index0, n = (int64_t)items->len;
	if (!strcmp(name, "index"))
		*out = tpl_int(i + 1);
	else if (!strcmp(name, "index0"))
		*out = tpl_int(i);
	else if (!strcmp(name, "revindex"))
		*out = tpl_int(n - i);
	else if (!strcmp(name, "revindex0"))
		*out = tpl_int(n - i - 1);
	else if (!strcmp(name, "first"))
		*out = tpl_bool(i == 0);
	else if (!strcmp(name, "last"))
		*out = tpl_bool(i == n - 1);
	else if (!strcmp(name, "length"))
		*out = tpl_int(n);
	else if (!strcmp(name, "depth"))
		*out = tpl_int(1);
	else if (!strcmp(name, "depth0"))
		*out = tpl_int(0);
	else if (!strcmp(name, "previtem"))
		*out = i > 0 ? tpl_ref(items->items[i - 1]) : tpl_undefined_why("there is no previous item");
	else if (!strcmp(name, "nextitem"))
		*out = i + 1 < n ? tpl_ref(items->items[i + 1]) : tpl_undefined_why("there is no next item");
	else if (!strcmp(name, "cycle"))
		*out = tpl_function(&loop_cycle_builtin, loop);
	else
		*out = tpl_undefined_why("'LoopContext object' has no attribute '%s'", name);
	return 0;
}

int tpl_getattr(struct tpl_value obj, const char *name, struct tpl_value *out)
{
	const struct tpl_builtin *method;
	struct tpl_value *v;
	bool unsafe = false;
	switch (obj.type) {
	case TPL_UNDEFINED: return tpl_undefined_error(obj);
	case TPL_LOOP: return loop_attr(obj, name, out);
	case TPL_NAMESPACE:
		v = tpl_dict_get_str(obj, name);
		if (v) {
			*out = tpl_ref(*v);
			return 0;
		}
		break;
	case TPL_STRING:
	case TPL_LIST:
	case TPL_DICT:
		/* as in Python, methods come before dict keys: d.items is a method */
		method = tpl_find_method(obj.type, name, &unsafe);
		if (method) {
			*out = tpl_function(method, obj);
			return 0;
		}
		if (unsafe) {
			*out = tpl_undefined_why("access to attribute '%s' of '%s' object is unsafe", name,
						 tpl_type_name(obj));
			return 0;
		}
		v = obj.type == TPL_DICT ? tpl_dict_get_str(obj, name) : NULL;
		if (v) {
			*out = tpl_ref(*v);
			return 0;
		}
		break;
	default: break;
	}
	*out = tpl_undefined_why("'%s object' has no attribute '%s'", tpl_type_name(obj), name);
	return 0;
}

/* The byte offset of code point i of s (the length of s for i == count). */
static size_t utf8_offset(const char *s, size_t len, size_t i)
{
	size_t pos = 0;
	while (i-- > 0 && pos < len)
		tpl_utf8_next(s, len, &pos);
	return pos;
}

int tpl_getitem(struct tpl_value obj, struct tpl_value key, struct tpl_value *out)
{
	struct tpl_value *v;
	char what[64];
	if (obj.type == TPL_UNDEFINED)
		return tpl_undefined_error(obj);
	if (obj.type == TPL_DICT && key.type != TPL_LIST && key.type != TPL_DICT && (v = tpl_dict_get(obj, key))) {
		*out = tpl_ref(*v);
		return 0;
	}
	if ((obj.type == TPL_LIST || obj.type == TPL_STRING) && (key.type == TPL_INT || key.type == TPL_BOOL)) {
		int64_t i = key.type == TPL_INT ? key.as.integer : key.as.boolean;
		if (obj.type == TPL_LIST) {
			int64_t n = (int64_t)obj.as.list->len;
			if (i < 0)
				i += n;
			if (i >= 0 && i < n) {
				*out = tpl_ref(obj.as.list->items[i]);
				return 0;
			}
		} else {
			const char *s = obj.as.string->data;
			size_t len = obj.as.string->len;
			int64_t n = (int64_t)tpl_utf8_count(s, len);
			if (i < 0)
				i += n;
			if (i >= 0 && i < n) {
				size_t start = utf8_offset(s, len, (size_t)i), end = start;
				tpl_utf8_next(s, len, &end);
				*out = tpl_str(s + start, end - start);
				return 0;
			}
		}
	}
	if (key.type == TPL_STRING && obj.type != TPL_DICT)
		return tpl_getattr(obj, key.as.string->data, out);
	if (key.type == TPL_INT)
		snprintf(what, sizeof what, "%" PRId64, key.as.integer);
	else if (key.type == TPL_STRING)
		snprintf(what, sizeof what, "'%.40s'", key.as.string->data);
	else
		snprintf(what, sizeof what, "of type %s", tpl_type_name(key));
	*out = tpl_undefined_why("%s object has no element %s", tpl_type_name(obj), what);
	return 0;
}

/* Python's slice.indices(): the start and step of count items. */
static int slice_indices(int64_t len, struct tpl_value vstart, struct tpl_value vstop, struct tpl_value vstep,
			 int64_t *start, int64_t *step, int64_t *count)
{
	int64_t stop;
	*step = vstep.type == TPL_INT ? vstep.as.integer : 1;
	if (*step == 0)
		return error("slice step cannot be zero");
	bool up = *step > 0;
	*start = up ? 0 : len - 1;
	stop = up ? len : -1;
	if (vstart.type == TPL_INT) {
		*start = vstart.as.integer < 0 ? vstart.as.integer + len : vstart.as.integer;
		if (*start < 0)
			*start = up ? 0 : -1;
		else if (*start >= len)
			*start = up ? len : len - 1;
	}
	if (vstop.type == TPL_INT) {
		stop = vstop.as.integer < 0 ? vstop.as.integer + len : vstop.as.integer;
		if (stop < 0)
			stop = up ? 0 : -1;
		else if (stop >= len)
			stop = up ? len : len - 1;
	}
	if (up)
		*count = stop > *start ? (stop - *start - 1) / *step + 1 : 0;
	else
		*count = *start > stop ? (*start - stop - 1) / -*step + 1 : 0;
	return 0;
}

/* Slices are Python subscripts in Jinja too: only strings and lists take
 * them, with integers or none as bounds. */
static int slice(struct tpl_ctx *ctx, struct tpl_value obj, struct tpl_value start, struct tpl_value stop,
		 struct tpl_value step, struct tpl_value *out)
{
	struct tpl_value parts[3] = { start, stop, step };
	int64_t first, stride, count;
	if (obj.type == TPL_UNDEFINED)
		return tpl_undefined_error(obj);
	if (obj.type != TPL_LIST && obj.type != TPL_STRING)
		return error("'%s' object is not subscriptable", tpl_type_name(obj));
	for (int i = 0; i < 3; i++) {
		if (parts[i].type == TPL_BOOL)
			parts[i] = tpl_int(parts[i].as.boolean);
		else if (parts[i].type != TPL_INT && parts[i].type != TPL_NONE)
			return error("slice indices must be integers or None");
	}
	start = parts[0];
	stop = parts[1];
	step = parts[2];
	if (obj.type == TPL_LIST) {
		const struct tpl_list *l = obj.as.list;
		if (slice_indices((int64_t)l->len, start, stop, step, &first, &stride, &count) < 0 ||
		    tpl_charge(ctx, (size_t)count * sizeof(struct tpl_value)) < 0)
			return -1;
		*out = tpl_list_new((size_t)count, l->tuple);
		for (int64_t i = 0; i < count; i++)
			tpl_list_push(*out, tpl_ref(l->items[first + i * stride]));
		return 0;
	}
	const char *s = obj.as.string->data;
	size_t len = obj.as.string->len, n = tpl_utf8_count(s, len);
	if (slice_indices((int64_t)n, start, stop, step, &first, &stride, &count) < 0 ||
	    tpl_charge(ctx, len) < 0)
		return -1;
	size_t *offsets = xmalloc((n + 1) * sizeof *offsets);
	struct strbuf sb = { 0 };
	for (size_t i = 0, pos = 0; i <= n; i++) {
		offsets[i] = pos;
		if (i < n)
			tpl_utf8_next(s, len, &pos);
	}
	for (int64_t i = 0; i < count; i++) {
		size_t c = (size_t)(first + i * stride);
		strbuf_append(&sb, s + offsets[c], offsets[c + 1] - offsets[c]);
	}
	free(offsets);
	*out = tpl_str_take(&sb);
	return 0;
}

int tpl_iterate(struct tpl_ctx *ctx, struct tpl_value v, struct tpl_value *out)
{
	struct tpl_value list;
	switch (v.type) {
	case TPL_UNDEFINED: *out = tpl_list_new(0, false); return 0;
	case TPL_LIST: *out = tpl_ref(v); return 0;
	case TPL_DICT:
		if (tpl_charge(ctx, v.as.dict->len * sizeof(struct tpl_value)) < 0)
			return -1;
		list = tpl_list_new(v.as.dict->len, false);
		for (size_t i = 0; i < v.as.dict->len; i++)
			tpl_list_push(list, tpl_ref(v.as.dict->entries[i].key));
		*out = list;
		return 0;
	case TPL_STRING: {
		const char *s = v.as.string->data;
		size_t len = v.as.string->len;
		if (tpl_charge(ctx, len * sizeof(struct tpl_value)) < 0)
			return -1;
		list = tpl_list_new(len, false);
		for (size_t pos = 0, start = 0; pos < len; start = pos) {
			tpl_utf8_next(s, len, &pos);
			tpl_list_push(list, tpl_str(s + start, pos - start));
		}
		*out = list;
		return 0;
	}
	default: return error("'%s' object is not iterable", tpl_type_name(v));
	}
}

int tpl_contains(struct tpl_ctx *ctx, struct tpl_value container, struct tpl_value item, bool *out)
{
	switch (container.type) {
	case TPL_UNDEFINED: *out = false; return 0;
	case TPL_STRING: {
		const struct tpl_string *hay = container.as.string;
		if (item.type != TPL_STRING)
			return error("'in <string>' requires string as left operand, not %s", tpl_type_name(item));
		if (tpl_charge(ctx, hay->len) < 0)
			return -1;
		*out = item.as.string->len == 0 ||
		       memmem(hay->data, hay->len, item.as.string->data, item.as.string->len) != NULL;
		return 0;
	}
	case TPL_LIST:
		if (tpl_charge(ctx, container.as.list->len * sizeof(struct tpl_value)) < 0)
			return -1;
		*out = false;
		for (size_t i = 0; i < container.as.list->len && !*out; i++)
			*out = tpl_equal(container.as.list->items[i], item);
		return 0;
	case TPL_DICT:
		if (item.type == TPL_DICT || (item.type == TPL_LIST && !item.as.list->tuple))
			return error("unhashable type: '%s'", tpl_type_name(item));
		*out = tpl_dict_get(container, item) != NULL;
		return 0;
	default: return error("argument of type '%s' is not iterable", tpl_type_name(container));
	}
}

/* ---- operators ----------------------------------------------------------- */

static const char *op_symbol(enum tpl_op op)
{
	static const char *const symbols[] = { "+", "-", "*", "/", "//", "%", "**", "~",
					       "==", "!=", "<", "<=", ">", ">=", "in", "not in" };
	return symbols[op];
}

static double to_double(struct tpl_value v)
{
	return v.type == TPL_FLOAT ? v.as.number : v.type == TPL_BOOL ? v.as.boolean : (double)v.as.integer;
}

static int64_t to_int(struct tpl_value v)
{
	return v.type == TPL_BOOL ? v.as.boolean : v.as.integer;
}

/* Python's float // and %: the quotient is floored, the remainder takes
 * the sign of the divisor. */
static void float_divmod(double x, double y, double *div, double *mod)
{
	double m = fmod(x, y), d = (x - m) / y;
	if (m != 0 && ((y < 0) != (m < 0))) {
		m += y;
		d -= 1;
	}
	if (m == 0)
		m = copysign(0.0, y);
	if (d != 0) {
		double floored = floor(d);
		d = d - floored > 0.5 ? floored + 1 : floored;
	} else {
		d = copysign(0.0, x / y);
	}
	*div = d;
	*mod = m;
}

static int float_op(enum tpl_op op, double x, double y, struct tpl_value *out)
{
	double div, mod;
	switch (op) {
	case TPL_OP_ADD: *out = tpl_float(x + y); return 0;
	case TPL_OP_SUB: *out = tpl_float(x - y); return 0;
	case TPL_OP_MUL: *out = tpl_float(x * y); return 0;
	case TPL_OP_DIV:
		if (y == 0)
			return error("division by zero");
		*out = tpl_float(x / y);
		return 0;
	case TPL_OP_FLOORDIV:
	case TPL_OP_MOD:
		if (y == 0)
			return error("float division by zero");
		float_divmod(x, y, &div, &mod);
		*out = tpl_float(op == TPL_OP_MOD ? mod : div);
		return 0;
	case TPL_OP_POW:
		if (x == 0 && y < 0)
			return error("0.0 cannot be raised to a negative power");
		if (x < 0 && y != floor(y))
			return error("a negative number cannot be raised to a fractional power");
		*out = tpl_float(pow(x, y));
		return 0;
	default: return error("unsupported operator '%s' for numbers", op_symbol(op));
	}
}

static int int_op(enum tpl_op op, int64_t x, int64_t y, struct tpl_value *out)
{
	int64_t r;
	switch (op) {
	case TPL_OP_ADD:
		if (__builtin_add_overflow(x, y, &r))
			goto overflow;
		break;
	case TPL_OP_SUB:
		if (__builtin_sub_overflow(x, y, &r))
			goto overflow;
		break;
	case TPL_OP_MUL:
		if (__builtin_mul_overflow(x, y, &r))
			goto overflow;
		break;
	case TPL_OP_FLOORDIV:
	case TPL_OP_MOD:
		if (y == 0)
			return error("integer division or modulo by zero");
		if (x == INT64_MIN && y == -1) {
			if (op == TPL_OP_FLOORDIV)
				goto overflow;
			r = 0;
			break;
		}
		r = op == TPL_OP_FLOORDIV ? x / y : x % y;
		if (x % y != 0 && ((x < 0) != (y < 0)))
			r = op == TPL_OP_FLOORDIV ? r - 1 : r + y;
		break;
	case TPL_OP_POW:
		if (y < 0)
			return float_op(op, (double)x, (double)y, out);
		r = 1;
		for (int64_t base = x; y > 0; y >>= 1) {
			if ((y & 1) && __builtin_mul_overflow(r, base, &r))
				goto overflow;
			if (y > 1 && __builtin_mul_overflow(base, base, &base))
				goto overflow;
		}
		break;
	default: return float_op(op, (double)x, (double)y, out);
	}
	*out = tpl_int(r);
	return 0;
overflow:
	return error("integer overflow in '%s' (numbers are limited to 64 bits)", op_symbol(op));
}

int tpl_take_string(struct tpl_ctx *ctx, struct strbuf *sb, struct tpl_value *out)
{
	if (tpl_charge(ctx, sb->len) < 0) {
		strbuf_free(sb);
		return -1;
	}
	*out = tpl_str_take(sb);
	return 0;
}

static int finish_string(struct tpl_ctx *ctx, struct strbuf *sb, bool markup, struct tpl_value *out)
{
	if (tpl_take_string(ctx, sb, out) < 0)
		return -1;
	out->as.string->markup = markup;
	return 0;
}

/* '+' on strings; a string marked safe escapes the other operand first. */
static int add_strings(struct tpl_ctx *ctx, const struct tpl_string *a, const struct tpl_string *b,
		       struct tpl_value *out)
{
	struct strbuf sb = { 0 };
	bool markup = a->markup || b->markup;
	const struct tpl_string *parts[2] = { a, b };
	for (int i = 0; i < 2; i++) {
		if (markup && !parts[i]->markup)
			tpl_write_html_escaped(&sb, parts[i]->data, parts[i]->len);
		else
			strbuf_append(&sb, parts[i]->data, parts[i]->len);
	}
	return finish_string(ctx, &sb, markup, out);
}

static int repeat(struct tpl_ctx *ctx, struct tpl_value seq, int64_t times, struct tpl_value *out)
{
	size_t n = times > 0 ? (size_t)times : 0, unit, total;
	if (seq.type == TPL_STRING) {
		unit = seq.as.string->len;
		if (__builtin_mul_overflow(unit, n, &total) || tpl_charge(ctx, total) < 0)
			return error("repeated string is too long");
		char *data = xmalloc(total + 1);
		for (size_t i = 0; i < n; i++)
			memcpy(data + i * unit, seq.as.string->data, unit);
		data[total] = '\0';
		struct strbuf sb = { data, total, total + 1 };
		*out = tpl_str_take(&sb);
		out->as.string->markup = seq.as.string->markup;
		return 0;
	}
	unit = seq.as.list->len;
	if (__builtin_mul_overflow(unit, n, &total) || tpl_charge(ctx, total * sizeof(struct tpl_value)) < 0)
		return error("repeated list is too long");
	*out = tpl_list_new(total, seq.as.list->tuple);
	for (size_t i = 0; i < total; i++)
		tpl_list_push(*out, tpl_ref(seq.as.list->items[i % unit]));
	return 0;
}

int tpl_binary_op(struct tpl_ctx *ctx, enum tpl_op op, struct tpl_value a, struct tpl_value b, struct tpl_value *out)
{
	if (op == TPL_OP_CONCAT) {
		struct strbuf sb = { 0 };
		if (tpl_write_str(&sb, a) < 0 || tpl_write_str(&sb, b) < 0) {
			strbuf_free(&sb);
			return -1;
		}
		return finish_string(ctx, &sb, false, out);
	}
	if (a.type == TPL_UNDEFINED)
		return tpl_undefined_error(a);
	if (b.type == TPL_UNDEFINED)
		return tpl_undefined_error(b);
	if (tpl_is_number(a) && tpl_is_number(b)) {
		if (a.type == TPL_FLOAT || b.type == TPL_FLOAT || op == TPL_OP_DIV)
			return float_op(op, to_double(a), to_double(b), out);
		return int_op(op, to_int(a), to_int(b), out);
	}
	if (op == TPL_OP_ADD && a.type == TPL_STRING && b.type == TPL_STRING)
		return add_strings(ctx, a.as.string, b.as.string, out);
	if (op == TPL_OP_ADD && a.type == TPL_LIST && b.type == TPL_LIST && a.as.list->tuple == b.as.list->tuple) {
		size_t n = a.as.list->len + b.as.list->len;
		if (tpl_charge(ctx, n * sizeof(struct tpl_value)) < 0)
			return -1;
		*out = tpl_list_new(n, a.as.list->tuple);
		for (size_t i = 0; i < a.as.list->len; i++)
			tpl_list_push(*out, tpl_ref(a.as.list->items[i]));
		for (size_t i = 0; i < b.as.list->len; i++)
			tpl_list_push(*out, tpl_ref(b.as.list->items[i]));
		return 0;
	}
	if (op == TPL_OP_MUL) {
		bool a_seq = a.type == TPL_STRING || a.type == TPL_LIST, b_seq = b.type == TPL_STRING || b.type == TPL_LIST;
		bool a_int = a.type == TPL_INT || a.type == TPL_BOOL, b_int = b.type == TPL_INT || b.type == TPL_BOOL;
		if (a_seq && b_int)
			return repeat(ctx, a, to_int(b), out);
		if (a_int && b_seq)
			return repeat(ctx, b, to_int(a), out);
	}
	if (op == TPL_OP_MOD && a.type == TPL_STRING) {
		/* a tuple gives the arguments, anything else is the one argument */
		bool tuple = b.type == TPL_LIST && b.as.list->tuple;
		return tpl_percent_format(ctx, a.as.string, tuple ? b.as.list->items : &b, tuple ? b.as.list->len : 1,
					  b, out);
	}
	return error("unsupported operand type(s) for %s: '%s' and '%s'", op_symbol(op), tpl_type_name(a),
		     tpl_type_name(b));
}

static int compare_op(struct tpl_ctx *ctx, enum tpl_op op, struct tpl_value a, struct tpl_value b, bool *result)
{
	int order;
	switch (op) {
	case TPL_OP_EQ: *result = tpl_equal(a, b); return 0;
	case TPL_OP_NE: *result = !tpl_equal(a, b); return 0;
	case TPL_OP_IN: return tpl_contains(ctx, b, a, result);
	case TPL_OP_NOT_IN:
		if (tpl_contains(ctx, b, a, result) < 0)
			return -1;
		*result = !*result;
		return 0;
	default: break;
	}
	if (tpl_compare(a, b, op_symbol(op), &order) < 0)
		return -1;
	*result = op == TPL_OP_LT ? order < 0 : op == TPL_OP_LE ? order <= 0 : op == TPL_OP_GT ? order > 0 : order >= 0;
	return 0;
}

/* ---- expressions --------------------------------------------------------- */

static int eval(struct tpl_ctx *ctx, struct tpl_frame *f, const struct tpl_node *n, struct tpl_value *out);
static int exec_body(struct tpl_ctx *ctx, struct tpl_frame *f, const struct tpl_body *b, struct strbuf *out);

static void args_free(struct tpl_args *a)
{
	for (size_t i = 0; i < a->n_pos; i++)
		tpl_unref(a->pos[i]);
	for (size_t i = 0; i < a->n_kw; i++)
		tpl_unref(a->kw[i]);
	free(a->pos);
	free(a->kw);
}

static int eval_args(struct tpl_ctx *ctx, struct tpl_frame *f, const struct tpl_call_args *spec,
		     struct tpl_args *out)
{
	*out = (struct tpl_args){ .kw_names = spec->kw_names };
	out->pos = xcalloc(spec->pos.len, sizeof *out->pos);
	out->kw = xcalloc(spec->kw.len, sizeof *out->kw);
	for (; out->n_pos < spec->pos.len; out->n_pos++)
		if (eval(ctx, f, spec->pos.items[out->n_pos], &out->pos[out->n_pos]) < 0)
			goto fail;
	for (; out->n_kw < spec->kw.len; out->n_kw++)
		if (eval(ctx, f, spec->kw.items[out->n_kw], &out->kw[out->n_kw]) < 0)
			goto fail;
	return 0;
fail:
	args_free(out);
	return -1;
}

static int eval_name(struct tpl_frame *f, const char *name, struct tpl_value *out)
{
	const struct tpl_builtin *global;
	for (; f; f = f->parent) {
		struct tpl_value *v = frame_find(f, name);
		if (v) {
			*out = tpl_ref(*v);
			return 0;
		}
	}
	global = tpl_find_global(name);
	*out = global ? tpl_function(global, tpl_undefined()) : tpl_undefined_why("'%s' is undefined", name);
	return 0;
}

static int eval_sequence(struct tpl_ctx *ctx, struct tpl_frame *f, const struct tpl_node *n, struct tpl_value *out)
{
	const struct tpl_node_list *items = &n->u.items;
	struct tpl_value v, seq;
	if (n->kind == TPL_N_DICT) {
		seq = tpl_dict_new();
		for (size_t i = 0; i + 1 < items->len; i += 2) {
			struct tpl_value key;
			if (eval(ctx, f, items->items[i], &key) < 0)
				goto fail;
			if (eval(ctx, f, items->items[i + 1], &v) < 0) {
				tpl_unref(key);
				goto fail;
			}
			if (tpl_dict_set(seq, key, v) < 0)
				goto fail;
		}
	} else {
		seq = tpl_list_new(items->len, n->kind == TPL_N_TUPLE);
		for (size_t i = 0; i < items->len; i++) {
			if (eval(ctx, f, items->items[i], &v) < 0)
				goto fail;
			tpl_list_push(seq, v);
		}
	}
	*out = seq;
	return 0;
fail:
	tpl_unref(seq);
	return -1;
}

static int apply_filter(struct tpl_ctx *ctx, struct tpl_frame *f, const struct tpl_node *filter,
			struct tpl_value input, struct tpl_value *out)
{
	struct tpl_args args;
	if (eval_args(ctx, f, &filter->u.filter.args, &args) < 0)
		return -1;
	int rc = filter->u.filter.builtin->fn(ctx, input, &args, out);
	args_free(&args);
	if (rc < 0)
		return locate(ctx, filter);
	return 0;
}

static int eval_compare(struct tpl_ctx *ctx, struct tpl_frame *f, const struct tpl_node *n, struct tpl_value *out)
{
	struct tpl_value left, right;
	bool result = true;
	if (eval(ctx, f, n->u.compare.first, &left) < 0)
		return -1;
	for (size_t i = 0; i < n->u.compare.rest.len && result; i++) {
		if (eval(ctx, f, n->u.compare.rest.items[i], &right) < 0) {
			tpl_unref(left);
			return -1;
		}
		int rc = compare_op(ctx, n->u.compare.ops[i], left, right, &result);
		tpl_unref(left);
		left = right;
		if (rc < 0) {
			tpl_unref(left);
			return -1;
		}
	}
	tpl_unref(left);
	*out = tpl_bool(result);
	return 0;
}

static int eval_call(struct tpl_ctx *ctx, struct tpl_frame *f, const struct tpl_node *n, struct tpl_value *out)
{
	struct tpl_value callee;
	struct tpl_args args;
	if (eval(ctx, f, n->u.call.callee, &callee) < 0)
		return -1;
	if (eval_args(ctx, f, &n->u.call.args, &args) < 0) {
		tpl_unref(callee);
		return -1;
	}
	int rc = tpl_call(ctx, callee, &args, out);
	args_free(&args);
	tpl_unref(callee);
	return rc;
}

static int eval_slice(struct tpl_ctx *ctx, struct tpl_frame *f, const struct tpl_node *n, struct tpl_value *out)
{
	const struct tpl_node *nodes[4] = { n->u.slice.object, n->u.slice.start, n->u.slice.stop, n->u.slice.step };
	struct tpl_value v[4] = { tpl_undefined(), tpl_none(), tpl_none(), tpl_none() };
	int rc = -1;
	for (int i = 0; i < 4; i++)
		if (nodes[i] && eval(ctx, f, nodes[i], &v[i]) < 0)
			goto fail;
	rc = slice(ctx, v[0], v[1], v[2], v[3], out);
fail:
	for (int i = 0; i < 4; i++)
		tpl_unref(v[i]);
	return rc;
}

static int eval_node(struct tpl_ctx *ctx, struct tpl_frame *f, const struct tpl_node *n, struct tpl_value *out)
{
	struct tpl_value a = tpl_undefined(), b = tpl_undefined();
	int rc = -1;
	switch (n->kind) {
	case TPL_N_LITERAL: *out = tpl_ref(n->u.literal); return 0;
	case TPL_N_NAME: return eval_name(f, n->u.name, out);
	case TPL_N_LIST:
	case TPL_N_TUPLE:
	case TPL_N_DICT: return eval_sequence(ctx, f, n, out);
	case TPL_N_CALL: return eval_call(ctx, f, n, out);
	case TPL_N_SLICE: return eval_slice(ctx, f, n, out);
	case TPL_N_COMPARE: return eval_compare(ctx, f, n, out);
	case TPL_N_ATTR:
		if (eval(ctx, f, n->u.attr.object, &a) == 0)
			rc = tpl_getattr(a, n->u.attr.name, out);
		break;
	case TPL_N_ITEM:
		if (eval(ctx, f, n->u.item.object, &a) == 0 && eval(ctx, f, n->u.item.index, &b) == 0)
			rc = tpl_getitem(a, b, out);
		break;
	case TPL_N_FILTER:
		if (eval(ctx, f, n->u.filter.operand, &a) == 0)
			rc = apply_filter(ctx, f, n, a, out);
		break;
	case TPL_N_TEST:
		if (eval(ctx, f, n->u.filter.operand, &a) == 0 && apply_filter(ctx, f, n, a, &b) == 0) {
			*out = tpl_bool(tpl_truthy(b) != n->u.filter.negated);
			rc = 0;
		}
		break;
	case TPL_N_NOT:
		if (eval(ctx, f, n->u.operand, &a) == 0) {
			*out = tpl_bool(!tpl_truthy(a));
			rc = 0;
		}
		break;
	case TPL_N_NEG:
	case TPL_N_POS:
		if (eval(ctx, f, n->u.operand, &a) < 0)
			break;
		if (!tpl_is_number(a)) {
			rc = a.type == TPL_UNDEFINED ? tpl_undefined_error(a)
						     : error("bad operand type for unary %s: '%s'",
							     n->kind == TPL_N_NEG ? "-" : "+", tpl_type_name(a));
			break;
		}
		rc = n->kind == TPL_N_POS ? tpl_binary_op(ctx, TPL_OP_ADD, tpl_int(0), a, out)
					  : tpl_binary_op(ctx, TPL_OP_SUB, tpl_int(0), a, out);
		if (rc == 0 && a.type == TPL_FLOAT && n->kind == TPL_N_NEG)
			*out = tpl_float(-a.as.number); /* keeps the sign of -0.0 */
		break;
	case TPL_N_BINARY:
		if (eval(ctx, f, n->u.binary.left, &a) == 0 && eval(ctx, f, n->u.binary.right, &b) == 0)
			rc = tpl_binary_op(ctx, n->u.binary.op, a, b, out);
		break;
	case TPL_N_AND:
	case TPL_N_OR:
		/* Python returns the operand that decided */
		if (eval(ctx, f, n->u.binary.left, &a) < 0)
			break;
		if (tpl_truthy(a) == (n->kind == TPL_N_OR)) {
			*out = a;
			return 0;
		}
		rc = eval(ctx, f, n->u.binary.right, out);
		break;
	case TPL_N_COND:
		if (eval(ctx, f, n->u.cond.cond, &a) < 0)
			break;
		if (tpl_truthy(a))
			rc = eval(ctx, f, n->u.cond.then, out);
		else if (n->u.cond.otherwise)
			rc = eval(ctx, f, n->u.cond.otherwise, out);
		else {
			*out = tpl_undefined_why("the inline if-expression evaluated to false and has no else");
			rc = 0;
		}
		break;
	default: rc = error("a statement where an expression belongs");
	}
	tpl_unref(a);
	tpl_unref(b);
	return rc;
}

static int eval(struct tpl_ctx *ctx, struct tpl_frame *f, const struct tpl_node *n, struct tpl_value *out)
{
	int rc = check_stack(ctx);
	if (rc == 0)
		rc = eval_node(ctx, f, n, out);
	if (rc == 0 && tpl_depth(*out) > TPL_MAX_NESTING) {
		tpl_unref(*out);
		rc = error("lists or dicts nested more than %d deep", TPL_MAX_NESTING);
	}
	return rc < 0 ? locate(ctx, n) : 0;
}

/* ---- macros -------------------------------------------------------------- */

static int bind_macro_args(struct tpl_ctx *ctx, struct tpl_frame *frame, const struct tpl_node *m,
			   const struct tpl_args *args)
{
	const char *name = m->u.macro.name;
	size_t n_params = m->u.macro.n_params;
	struct tpl_value varargs = tpl_list_new(0, true), kwargs = tpl_dict_new();
	int rc = -1;
	for (size_t i = 0; i < args->n_pos; i++) {
		if (i < n_params)
			frame_set(frame, m->u.macro.params[i], tpl_ref(args->pos[i]));
		else if (m->u.macro.uses_varargs)
			tpl_list_push(varargs, tpl_ref(args->pos[i]));
		else {
			error("macro '%s' takes not more than %zu argument(s)", name, n_params);
			goto fail;
		}
	}
	for (size_t i = 0; i < args->n_kw; i++) {
		const char *kw = args->kw_names[i];
		size_t p = 0;
		while (p < n_params && strcmp(m->u.macro.params[p], kw))
			p++;
		if (p < n_params && frame_find(frame, kw)) {
			error("macro '%s' got multiple values for argument '%s'", name, kw);
			goto fail;
		} else if (p < n_params) {
			frame_set(frame, m->u.macro.params[p], tpl_ref(args->kw[i]));
		} else if (m->u.macro.uses_kwargs) {
			tpl_dict_set(kwargs, tpl_cstr(kw), tpl_ref(args->kw[i]));
		} else {
			error("macro '%s' takes no keyword argument '%s'", name, kw);
			goto fail;
		}
	}
	for (size_t p = 0; p < n_params; p++) {
		struct tpl_value v;
		if (frame_find(frame, m->u.macro.params[p]))
			continue;
		if (m->u.macro.defaults[p]) {
			if (eval(ctx, frame, m->u.macro.defaults[p], &v) < 0)
				goto fail;
		} else {
			v = tpl_undefined_why("parameter '%s' was not provided", m->u.macro.params[p]);
		}
		frame_set(frame, m->u.macro.params[p], v);
	}
	if (m->u.macro.uses_varargs)
		frame_set(frame, "varargs", tpl_ref(varargs));
	if (m->u.macro.uses_kwargs)
		frame_set(frame, "kwargs", tpl_ref(kwargs));
	rc = 0;
fail:
	tpl_unref(varargs);
	tpl_unref(kwargs);
	return rc;
}

/* Runs a macro (or a call block's caller); its output is the result. */
static int call_macro(struct tpl_ctx *ctx, const struct tpl_callable *macro, const struct tpl_args *args,
		      struct tpl_value caller, struct tpl_value *out)
{
	const struct tpl_node *m = macro->macro;
	struct strbuf sb = { 0 };
	if (++ctx->steps > TPL_MAX_STEPS)
		return error("more than %d loop iterations and macro calls", TPL_MAX_STEPS);
	if (ctx->call_depth >= TPL_MAX_CALL_DEPTH)
		return error("macro calls nested more than %d deep", TPL_MAX_CALL_DEPTH);
	struct tpl_frame *frame = frame_new(macro->closure);
	int rc = bind_macro_args(ctx, frame, m, args);
	if (rc == 0 && caller.type == TPL_MACRO)
		frame_set(frame, "caller", tpl_ref(caller));
	if (rc == 0) {
		ctx->call_depth++;
		rc = exec_body(ctx, frame, &m->u.macro.body, &sb);
		ctx->call_depth--;
	}
	frame_pop(frame);
	if (rc < 0) {
		strbuf_free(&sb);
		return -1;
	}
	*out = tpl_str_take(&sb);
	return 0;
}

int tpl_call(struct tpl_ctx *ctx, struct tpl_value callee, const struct tpl_args *args, struct tpl_value *out)
{
	switch (callee.type) {
	case TPL_FUNCTION: return callee.as.callable->builtin->fn(ctx, callee.as.callable->self, args, out);
	case TPL_MACRO: return call_macro(ctx, callee.as.callable, args, tpl_undefined(), out);
	case TPL_UNDEFINED: return tpl_undefined_error(callee);
	default: return error("'%s' object is not callable", tpl_type_name(callee));
	}
}

/* ---- statements ---------------------------------------------------------- */

/* Binds target (a name, names to unpack, or ns.attr) to value, taking it. */
static int assign(struct tpl_ctx *ctx, struct tpl_frame *f, const struct tpl_node *target, struct tpl_value value)
{
	struct tpl_value items;
	int rc = 0;
	switch (target->kind) {
	case TPL_N_NAME: frame_set(f, target->u.name, value); return 0;
	case TPL_N_ATTR: {
		struct tpl_value ns;
		eval_name(f, target->u.attr.object->u.name, &ns);
		if (ns.type != TPL_NAMESPACE) {
			tpl_unref(ns);
			tpl_unref(value);
			return error("cannot assign attribute on non-namespace object");
		}
		rc = tpl_dict_set(ns, tpl_cstr(target->u.attr.name), value);
		tpl_unref(ns);
		return rc;
	}
	default: break;
	}
	/* a tuple of targets */
	rc = tpl_iterate(ctx, value, &items);
	tpl_unref(value);
	if (rc < 0)
		return -1;
	size_t want = target->u.items.len, got = items.as.list->len;
	if (got != want) {
		tpl_unref(items);
		if (got > want)
			return error("too many values to unpack (expected %zu)", want);
		return error("not enough values to unpack (expected %zu, got %zu)", want, got);
	}
	for (size_t i = 0; i < want && rc == 0; i++)
		rc = assign(ctx, f, target->u.items.items[i], tpl_ref(items.as.list->items[i]));
	tpl_unref(items);
	return rc;
}

static int write_value(struct tpl_ctx *ctx, struct strbuf *out, struct tpl_value v)
{
	size_t before = out->len;
	if (tpl_write_str(out, v) < 0)
		return -1;
	return tpl_charge(ctx, out->len - before);
}

/* The items a for loop walks: all of them, or those its `if` lets through. */
static int loop_items(struct tpl_ctx *ctx, struct tpl_frame *f, const struct tpl_node *n, struct tpl_value *out)
{
	struct tpl_value iterable, all, kept;
	int rc = eval(ctx, f, n->u.for_.iter, &iterable);
	if (rc < 0)
		return -1;
	rc = tpl_iterate(ctx, iterable, &all);
	tpl_unref(iterable);
	if (rc < 0 || !n->u.for_.filter) {
		*out = all;
		return rc;
	}
	kept = tpl_list_new(all.as.list->len, false);
	for (size_t i = 0; i < all.as.list->len && rc == 0; i++) {
		struct tpl_frame *frame = frame_new(f);
		struct tpl_value test = tpl_undefined();
		if (++ctx->steps > TPL_MAX_STEPS)
			rc = error("more than %d loop iterations and macro calls", TPL_MAX_STEPS);
		if (rc == 0)
			rc = assign(ctx, frame, n->u.for_.target, tpl_ref(all.as.list->items[i]));
		if (rc == 0)
			rc = eval(ctx, frame, n->u.for_.filter, &test);
		if (rc == 0 && tpl_truthy(test))
			tpl_list_push(kept, tpl_ref(all.as.list->items[i]));
		tpl_unref(test);
		frame_pop(frame);
	}
	tpl_unref(all);
	if (rc < 0) {
		tpl_unref(kept);
		return -1;
	}
	*out = kept;
	return 0;
}

static int exec_for(struct tpl_ctx *ctx, struct tpl_frame *f, const struct tpl_node *n, struct strbuf *out)
{
	struct tpl_value items;
	int rc = 0;
	if (loop_items(ctx, f, n, &items) < 0)
		return -1;
	size_t len = items.as.list->len;
	if (len == 0) {
		tpl_unref(items);
		return exec_body(ctx, f, &n->u.for_.otherwise, out);
	}
	struct tpl_loop *l = xcalloc(1, sizeof *l);
	l->refs = 1;
	l->items = items;
	struct tpl_value loop = { .type = TPL_LOOP, .as.loop = l };
	for (size_t i = 0; i < len && rc == 0; i++) {
		struct tpl_frame *frame;
		if (++ctx->steps > TPL_MAX_STEPS) {
			rc = error("more than %d loop iterations and macro calls", TPL_MAX_STEPS);
			break;
		}
		l->index0 = i;
		frame = frame_new(f);
		rc = assign(ctx, frame, n->u.for_.target, tpl_ref(items.as.list->items[i]));
		if (rc == 0) {
			frame_set(frame, "loop", tpl_ref(loop));
			rc = exec_body(ctx, frame, &n->u.for_.body, out);
		}
		frame_pop(frame);
		if (ctx->control == TPL_CONTROL_BREAK)
			len = 0;
		ctx->control = TPL_CONTROL_NONE;
	}
	tpl_unref(loop);
	return rc;
}

/* Renders a body in a scope of its own, into a string. */
static int render_scoped(struct tpl_ctx *ctx, struct tpl_frame *f, const struct tpl_body *body,
			 struct tpl_value *out)
{
	struct strbuf sb = { 0 };
	struct tpl_frame *frame = frame_new(f);
	int rc = exec_body(ctx, frame, body, &sb);
	frame_pop(frame);
	if (rc < 0) {
		strbuf_free(&sb);
		return -1;
	}
	*out = tpl_str_take(&sb);
	return 0;
}

/* {% set x | filters %}...{% endset %} and {% filter ... %}...{% endfilter %} */
static int exec_captured(struct tpl_ctx *ctx, struct tpl_frame *f, const struct tpl_node *n, struct strbuf *out)
{
	const struct tpl_node_list *filters = &n->u.set_block.filters;
	struct tpl_value value, next;
	if (render_scoped(ctx, f, &n->u.set_block.body, &value) < 0)
		return -1;
	for (size_t i = 0; i < filters->len; i++) {
		int rc = apply_filter(ctx, f, filters->items[i], value, &next);
		tpl_unref(value);
		if (rc < 0)
			return -1;
		value = next;
	}
	if (n->kind == TPL_N_SET_BLOCK)
		return assign(ctx, f, n->u.set_block.target, value);
	int rc = write_value(ctx, out, value);
	tpl_unref(value);
	return rc;
}

static int exec_call_block(struct tpl_ctx *ctx, struct tpl_frame *f, const struct tpl_node *n, struct strbuf *out)
{
	const struct tpl_node *call = n->u.call_block.call;
	struct tpl_value callee, caller, result;
	struct tpl_args args;
	int rc = -1;
	if (eval(ctx, f, call->u.call.callee, &callee) < 0)
		return -1;
	if (callee.type != TPL_MACRO) {
		tpl_unref(callee);
		return error("a call block can only call a macro");
	}
	if (eval_args(ctx, f, &call->u.call.args, &args) < 0) {
		tpl_unref(callee);
		return -1;
	}
	caller = macro_value(n->u.call_block.caller, f);
	if (call_macro(ctx, callee.as.callable, &args, caller, &result) == 0) {
		rc = write_value(ctx, out, result);
		tpl_unref(result);
	}
	tpl_unref(caller);
	args_free(&args);
	tpl_unref(callee);
	return rc;
}

static int exec_with(struct tpl_ctx *ctx, struct tpl_frame *f, const struct tpl_node *n, struct strbuf *out)
{
	struct tpl_frame *frame = frame_new(f);
	int rc = 0;
	for (size_t i = 0; i < n->u.with.targets.len && rc == 0; i++) {
		struct tpl_value v;
		rc = eval(ctx, f, n->u.with.values.items[i], &v);
		if (rc == 0)
			rc = assign(ctx, frame, n->u.with.targets.items[i], v);
	}
	if (rc == 0)
		rc = exec_body(ctx, frame, &n->u.with.body, out);
	frame_pop(frame);
	return rc;
}

static int exec_node(struct tpl_ctx *ctx, struct tpl_frame *f, const struct tpl_node *n, struct strbuf *out)
{
	struct tpl_value v;
	int rc;
	switch (n->kind) {
	case TPL_N_TEXT: return write_value(ctx, out, n->u.literal);
	case TPL_N_PRINT:
		if (eval(ctx, f, n->u.operand, &v) < 0)
			return -1;
		rc = write_value(ctx, out, v);
		tpl_unref(v);
		return rc;
	case TPL_N_IF:
		if (eval(ctx, f, n->u.if_.cond, &v) < 0)
			return -1;
		rc = exec_body(ctx, f, tpl_truthy(v) ? &n->u.if_.then : &n->u.if_.otherwise, out);
		tpl_unref(v);
		return rc;
	case TPL_N_FOR: return exec_for(ctx, f, n, out);
	case TPL_N_SET:
		if (eval(ctx, f, n->u.set.value, &v) < 0)
			return -1;
		return assign(ctx, f, n->u.set.target, v);
	case TPL_N_SET_BLOCK:
	case TPL_N_FILTER_BLOCK: return exec_captured(ctx, f, n, out);
	case TPL_N_MACRO: frame_set(f, n->u.macro.name, macro_value(n, f)); return 0;
	case TPL_N_CALL_BLOCK: return exec_call_block(ctx, f, n, out);
	case TPL_N_WITH: return exec_with(ctx, f, n, out);
	case TPL_N_SCOPE:
		if (render_scoped(ctx, f, &n->u.scope, &v) < 0)
			return -1;
		rc = write_value(ctx, out, v);
		tpl_unref(v);
		return rc;
	case TPL_N_BREAK: ctx->control = TPL_CONTROL_BREAK; return 0;
	case TPL_N_CONTINUE: ctx->control = TPL_CONTROL_CONTINUE; return 0;
	default: return error("an expression where a statement belongs");
	}
}

static int exec_body(struct tpl_ctx *ctx, struct tpl_frame *f, const struct tpl_body *b, struct strbuf *out)
{
	for (size_t i = 0; i < b->len && ctx->control == TPL_CONTROL_NONE; i++) {
		int rc = check_stack(ctx);
		if (rc == 0)
			rc = exec_node(ctx, f, b->nodes[i], out);
		if (rc < 0)
			return locate(ctx, b->nodes[i]);
	}
	return 0;
}

int tpl_exec(struct tpl_ctx *ctx, const struct tpl_body *body, struct strbuf *out)
{
	char base;
	ctx->stack_base = (uintptr_t)&base;
	return exec_body(ctx, ctx->root, body, out);
}
