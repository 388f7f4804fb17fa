/* template_parse.c - builds the syntax tree of a Jinja template from its
 * tokens, with Jinja's operator precedence and statement forms. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jinja/internal.h"

/* How deep statements and expressions may nest (and how long an operator
 * chain may be, as a chain nests in the tree): the tree is walked
 * recursively, so its height must stay far from the stack's limits. */
#define MAX_SYNTAX_DEPTH 256
/* Macro arguments are matched to parameters by name, one by one. */
#define MAX_PARAMS 256

struct parser {
	const struct tpl_token *tok;
	size_t pos;
	int depth;
	int loop_depth;         /* for break and continue */
	struct tpl_node *macro; /* the innermost macro being parsed */
};

static const struct tpl_token *cur(const struct parser *p)
{
	return &p->tok[p->pos];
}

static const struct tpl_token *ahead(const struct parser *p)
{
	return cur(p)->kind == TPL_TOK_EOF ? cur(p) : &p->tok[p->pos + 1];
}

static void next(struct parser *p)
{
	if (cur(p)->kind != TPL_TOK_EOF)
		p->pos++;
}

static bool tok_is_op(const struct tpl_token *t, const char *op)
{
	return t->kind == TPL_TOK_OP && strcmp(t->text, op) == 0;
}

static bool tok_is_name(const struct tpl_token *t, const char *name)
{
	return t->kind == TPL_TOK_NAME && strcmp(t->text, name) == 0;
}

static bool is_op(const struct parser *p, const char *op)
{
	return tok_is_op(cur(p), op);
}

static bool is_name(const struct parser *p, const char *name)
{
	return tok_is_name(cur(p), name);
}

static bool skip_op(struct parser *p, const char *op)
{
	if (!is_op(p, op))
		return false;
	next(p);
	return true;
}

static bool skip_name(struct parser *p, const char *name)
{
	if (!is_name(p, name))
		return false;
	next(p);
	return true;
}

static void describe(const struct tpl_token *t, char *buf, size_t size)
{
	switch (t->kind) {
	case TPL_TOK_TEXT: snprintf(buf, size, "template text"); break;
	case TPL_TOK_PRINT_BEGIN: snprintf(buf, size, "'{{'"); break;
	case TPL_TOK_PRINT_END: snprintf(buf, size, "'}}'"); break;
	case TPL_TOK_BLOCK_BEGIN: snprintf(buf, size, "'{%%'"); break;
	case TPL_TOK_BLOCK_END: snprintf(buf, size, "'%%}'"); break;
	case TPL_TOK_STRING: snprintf(buf, size, "a string"); break;
	case TPL_TOK_EOF: snprintf(buf, size, "the end of the template"); break;
	default: snprintf(buf, size, "'%.40s'", t->text); break;
	}
}

static void *fail(const struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void *fail(const struct parser *p, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	error("template line %d: %s", cur(p)->line, msg);
	return NULL;
}

static void *fail_expected(const struct parser *p, const char *what)
{
	char got[64];
	describe(cur(p), got, sizeof got);
	return fail(p, "expected %s, got %s", what, got);
}

static bool expect_op(struct parser *p, const char *op)
{
	char what[16];
	if (skip_op(p, op))
		return true;
	snprintf(what, sizeof what, "'%s'", op);
	fail_expected(p, what);
	return false;
}

static bool expect_block_end(struct parser *p)
{
	if (cur(p)->kind == TPL_TOK_BLOCK_END) {
		next(p);
		return true;
	}
	fail_expected(p, "'%}'");
	return false;
}

/* Counts one more level of nesting; false (with the error set) past the
 * limit.  Every enter() is paired with p->depth-- by the caller. */
static bool enter(struct parser *p)
{
	if (++p->depth <= MAX_SYNTAX_DEPTH)
		return true;
	fail(p, "the template is nested too deeply");
	return false;
}

static struct tpl_node *new_node(enum tpl_node_kind kind, int line)
{
	struct tpl_node *n = xcalloc(1, sizeof *n);
	n->kind = kind;
	n->line = line;
	return n;
}

/* Appends to an array whose capacity is its length rounded up to a power
 * of two. */
static void push_node(struct tpl_node ***items, size_t *len, struct tpl_node *n)
{
	if ((*len & (*len - 1)) == 0)
		*items = xrealloc(*items, (*len ? 2 * *len : 1) * sizeof **items);
	(*items)[(*len)++] = n;
}

static void node_free(struct tpl_node *n);

static void nodes_free(struct tpl_node **items, size_t len)
{
	for (size_t i = 0; i < len; i++)
		node_free(items[i]);
	free(items);
}

static void call_args_free(struct tpl_call_args *a)
{
	for (size_t i = 0; i < a->kw.len; i++)
		free(a->kw_names[i]);
	free(a->kw_names);
	nodes_free(a->pos.items, a->pos.len);
	nodes_free(a->kw.items, a->kw.len);
}

void tpl_body_free(struct tpl_body *b)
{
	if (!b)
		return;
	nodes_free(b->nodes, b->len);
	*b = (struct tpl_body){ 0 };
}

static void node_free(struct tpl_node *n)
{
	if (!n)
		return;
	switch (n->kind) {
	case TPL_N_TEXT:
	case TPL_N_LITERAL: tpl_unref(n->u.literal); break;
	case TPL_N_NAME: free(n->u.name); break;
	case TPL_N_PRINT:
	case TPL_N_NOT:
	case TPL_N_NEG:
	case TPL_N_POS: node_free(n->u.operand); break;
	case TPL_N_LIST:
	case TPL_N_TUPLE:
	case TPL_N_DICT: nodes_free(n->u.items.items, n->u.items.len); break;
	case TPL_N_ATTR:
		node_free(n->u.attr.object);
		free(n->u.attr.name);
		break;
	case TPL_N_ITEM:
		node_free(n->u.item.object);
		node_free(n->u.item.index);
		break;
	case TPL_N_SLICE:
		node_free(n->u.slice.object);
		node_free(n->u.slice.start);
		node_free(n->u.slice.stop);
		node_free(n->u.slice.step);
		break;
	case TPL_N_CALL:
		node_free(n->u.call.callee);
		call_args_free(&n->u.call.args);
		break;
	case TPL_N_FILTER:
	case TPL_N_TEST:
		node_free(n->u.filter.operand);
		call_args_free(&n->u.filter.args);
		break;
	case TPL_N_BINARY:
	case TPL_N_AND:
	case TPL_N_OR:
		node_free(n->u.binary.left);
		node_free(n->u.binary.right);
		break;
	case TPL_N_COMPARE:
		node_free(n->u.compare.first);
		free(n->u.compare.ops);
		nodes_free(n->u.compare.rest.items, n->u.compare.rest.len);
		break;
	case TPL_N_COND:
		node_free(n->u.cond.cond);
		node_free(n->u.cond.then);
		node_free(n->u.cond.otherwise);
		break;
	case TPL_N_IF:
		node_free(n->u.if_.cond);
		tpl_body_free(&n->u.if_.then);
		tpl_body_free(&n->u.if_.otherwise);
		break;
	case TPL_N_FOR:
		node_free(n->u.for_.target);
		node_free(n->u.for_.iter);
		node_free(n->u.for_.filter);
		tpl_body_free(&n->u.for_.body);
		tpl_body_free(&n->u.for_.otherwise);
		break;
	case TPL_N_SET:
		node_free(n->u.set.target);
		node_free(n->u.set.value);
		break;
	case TPL_N_SET_BLOCK:
	case TPL_N_FILTER_BLOCK:
		node_free(n->u.set_block.target);
		nodes_free(n->u.set_block.filters.items, n->u.set_block.filters.len);
		tpl_body_free(&n->u.set_block.body);
		break;
	case TPL_N_MACRO:
		free(n->u.macro.name);
		for (size_t i = 0; i < n->u.macro.n_params; i++) {
			free(n->u.macro.params[i]);
			node_free(n->u.macro.defaults[i]);
		}
		free(n->u.macro.params);
		free(n->u.macro.defaults);
		tpl_body_free(&n->u.macro.body);
		break;
	case TPL_N_CALL_BLOCK:
		node_free(n->u.call_block.call);
		node_free(n->u.call_block.caller);
		break;
	case TPL_N_WITH:
		nodes_free(n->u.with.targets.items, n->u.with.targets.len);
		nodes_free(n->u.with.values.items, n->u.with.values.len);
		tpl_body_free(&n->u.with.body);
		break;
	case TPL_N_SCOPE: tpl_body_free(&n->u.scope); break;
	case TPL_N_BREAK:
	case TPL_N_CONTINUE: break;
	}
	free(n);
}

/* ---- expressions --------------------------------------------------------- */

static struct tpl_node *parse_expression(struct parser *p, bool with_condexpr);
static struct tpl_node *parse_tuple(struct parser *p, bool with_condexpr, bool parenthesized);
static struct tpl_node *parse_unary(struct parser *p, bool with_filter);

static struct tpl_node *literal(struct tpl_value v, int line)
{
	struct tpl_node *n = new_node(TPL_N_LITERAL, line);
	n->u.literal = v;
	return n;
}

/* Parses "(a, b=1, ...)" with the '(' current. */
static bool parse_call_args(struct parser *p, struct tpl_call_args *args)
{
	next(p);
	while (!is_op(p, ")")) {
		if ((args->pos.len || args->kw.len) && !expect_op(p, ","))
			return false;
		if (is_op(p, ")"))
			break;
		if (is_op(p, "*") || is_op(p, "**")) {
			fail(p, "*args and **kwargs in calls are not supported");
			return false;
		}
		bool keyword = cur(p)->kind == TPL_TOK_NAME && tok_is_op(ahead(p), "=");
		char *name = keyword ? xstrdup(cur(p)->text) : NULL;
		if (keyword) {
			next(p);
			next(p);
		} else if (args->kw.len) {
			fail(p, "a positional argument follows a keyword argument");
			return false;
		}
		struct tpl_node *value = parse_expression(p, true);
		if (!value) {
			free(name);
			return false;
		}
		if (keyword) {
			size_t n = args->kw.len;
			push_node(&args->kw.items, &args->kw.len, value);
			if ((n & (n - 1)) == 0)
				args->kw_names = xrealloc(args->kw_names, (n ? 2 * n : 1) * sizeof *args->kw_names);
			args->kw_names[n] = name;
		} else {
			push_node(&args->pos.items, &args->pos.len, value);
		}
	}
	next(p);
	return true;
}

static struct tpl_node *parse_list(struct parser *p, int line)
{
	struct tpl_node *n = new_node(TPL_N_LIST, line);
	next(p);
	while (!is_op(p, "]")) {
		if (n->u.items.len && !expect_op(p, ","))
			goto fail;
		if (is_op(p, "]"))
			break;
		struct tpl_node *item = parse_expression(p, true);
		if (!item)
			goto fail;
		push_node(&n->u.items.items, &n->u.items.len, item);
	}
	next(p);
	return n;
fail:
	node_free(n);
	return NULL;
}

static struct tpl_node *parse_dict(struct parser *p, int line)
{
	struct tpl_node *n = new_node(TPL_N_DICT, line);
	next(p);
	while (!is_op(p, "}")) {
		if (n->u.items.len && !expect_op(p, ","))
			goto fail;
		if (is_op(p, "}"))
			break;
		struct tpl_node *key = parse_expression(p, true);
		if (!key)
			goto fail;
		push_node(&n->u.items.items, &n->u.items.len, key);
		if (!expect_op(p, ":"))
			goto fail;
		struct tpl_node *value = parse_expression(p, true);
		if (!value)
			goto fail;
		push_node(&n->u.items.items, &n->u.items.len, value);
	}
	next(p);
	return n;
fail:
	node_free(n);
	return NULL;
}

static struct tpl_node *parse_primary(struct parser *p)
{
	const struct tpl_token *t = cur(p);
	int line = t->line;
	switch (t->kind) {
	case TPL_TOK_NAME: {
		next(p);
		if (!strcmp(t->text, "true") || !strcmp(t->text, "True"))
			return literal(tpl_bool(true), line);
		if (!strcmp(t->text, "false") || !strcmp(t->text, "False"))
			return literal(tpl_bool(false), line);
		if (!strcmp(t->text, "none") || !strcmp(t->text, "None"))
			return literal(tpl_none(), line);
		if (p->macro && !strcmp(t->text, "varargs"))
			p->macro->u.macro.uses_varargs = true;
		if (p->macro && !strcmp(t->text, "kwargs"))
			p->macro->u.macro.uses_kwargs = true;
		struct tpl_node *n = new_node(TPL_N_NAME, line);
		n->u.name = xstrdup(t->text);
		return n;
	}
	case TPL_TOK_STRING: {
		struct strbuf sb = { 0 };
		while (cur(p)->kind == TPL_TOK_STRING) {
			strbuf_append(&sb, cur(p)->text, cur(p)->len);
			next(p);
		}
		return literal(tpl_str_take(&sb), line);
	}
	case TPL_TOK_INT: next(p); return literal(tpl_int(t->integer), line);
	case TPL_TOK_FLOAT: next(p); return literal(tpl_float(t->number), line);
	default: break;
	}
	if (is_op(p, "(")) {
		next(p);
		struct tpl_node *n = parse_tuple(p, true, true);
		if (n && !expect_op(p, ")")) {
			node_free(n);
			return NULL;
		}
		return n;
	}
	if (is_op(p, "["))
		return parse_list(p, line);
	if (is_op(p, "{"))
		return parse_dict(p, line);
	return fail_expected(p, "an expression");
}

/* obj[...] with the '[' current: an index, a slice, or a tuple index. */
static struct tpl_node *parse_subscript(struct parser *p, struct tpl_node *object)
{
	struct tpl_node *parts[3] = { NULL, NULL, NULL }, *n;
	int line = cur(p)->line, part = 0;
	next(p);
	if (!is_op(p, ":")) {
		parts[0] = parse_tuple(p, true, false);
		if (!parts[0])
			goto fail;
	}
	while (part < 2 && skip_op(p, ":")) {
		part++;
		if (!is_op(p, "]") && !is_op(p, ":")) {
			parts[part] = parse_expression(p, true);
			if (!parts[part])
				goto fail;
		}
	}
	if (!expect_op(p, "]"))
		goto fail;
	if (part == 0) {
		n = new_node(TPL_N_ITEM, line);
		n->u.item.object = object;
		n->u.item.index = parts[0];
		return n;
	}
	n = new_node(TPL_N_SLICE, line);
	n->u.slice.object = object;
	n->u.slice.start = parts[0];
	n->u.slice.stop = parts[1];
	n->u.slice.step = parts[2];
	return n;
fail:
	for (int i = 0; i < 3; i++)
		node_free(parts[i]);
	node_free(object);
	return NULL;
}

static struct tpl_node *parse_call(struct parser *p, struct tpl_node *callee)
{
	struct tpl_node *n = new_node(TPL_N_CALL, cur(p)->line);
	n->u.call.callee = callee;
	if (!parse_call_args(p, &n->u.call.args)) {
		node_free(n);
		return NULL;
	}
	return n;
}

/* Attribute access, subscripts and calls after a primary expression. */
static struct tpl_node *parse_postfix(struct parser *p, struct tpl_node *n)
{
	int entered = 0;
	while (n) {
		if (!enter(p)) {
			node_free(n);
			n = NULL;
			entered++;
			break;
		}
		entered++;
		if (is_op(p, ".")) {
			int line = cur(p)->line;
			next(p);
			if (cur(p)->kind == TPL_TOK_NAME) {
				struct tpl_node *attr = new_node(TPL_N_ATTR, line);
				attr->u.attr.object = n;
				attr->u.attr.name = xstrdup(cur(p)->text);
				next(p);
				n = attr;
			} else if (cur(p)->kind == TPL_TOK_INT) {
				struct tpl_node *item = new_node(TPL_N_ITEM, line);
				item->u.item.object = n;
				item->u.item.index = literal(tpl_int(cur(p)->integer), line);
				next(p);
				n = item;
			} else {
				node_free(n);
				n = fail_expected(p, "a name or number after '.'");
			}
		} else if (is_op(p, "[")) {
			n = parse_subscript(p, n);
		} else if (is_op(p, "(")) {
			n = parse_call(p, n);
		} else {
			break;
		}
	}
	p->depth -= entered;
	return n;
}

/* "|name" or "|name(args)" with the name current; operand may be NULL in
 * the filter chain of a block. */
static struct tpl_node *parse_filter(struct parser *p, struct tpl_node *operand)
{
	if (cur(p)->kind != TPL_TOK_NAME) {
		node_free(operand);
		return fail_expected(p, "a filter name");
	}
	const struct tpl_builtin *b = tpl_find_filter(cur(p)->text);
	if (!b) {
		node_free(operand);
		return fail(p, "no filter named '%s'", cur(p)->text);
	}
	struct tpl_node *n = new_node(TPL_N_FILTER, cur(p)->line);
	n->u.filter.operand = operand;
	n->u.filter.builtin = b;
	next(p);
	if (is_op(p, "(") && !parse_call_args(p, &n->u.filter.args)) {
		node_free(n);
		return NULL;
	}
	return n;
}

/* "is [not] name", "is name(args)" or "is name arg" with 'is' consumed. */
static struct tpl_node *parse_test(struct parser *p, struct tpl_node *operand)
{
	bool negated = skip_name(p, "not");
	if (cur(p)->kind != TPL_TOK_NAME) {
		node_free(operand);
		return fail_expected(p, "a test name");
	}
	const struct tpl_builtin *b = tpl_find_test(cur(p)->text);
	if (!b) {
		node_free(operand);
		return fail(p, "no test named '%s'", cur(p)->text);
	}
	struct tpl_node *n = new_node(TPL_N_TEST, cur(p)->line);
	n->u.filter.operand = operand;
	n->u.filter.builtin = b;
	n->u.filter.negated = negated;
	next(p);
	const struct tpl_token *t = cur(p);
	bool bare_arg = t->kind == TPL_TOK_STRING || t->kind == TPL_TOK_INT || t->kind == TPL_TOK_FLOAT ||
			tok_is_op(t, "[") || tok_is_op(t, "{") ||
			(t->kind == TPL_TOK_NAME && !tok_is_name(t, "else") && !tok_is_name(t, "or") &&
			 !tok_is_name(t, "and"));
	if (is_op(p, "(")) {
		if (!parse_call_args(p, &n->u.filter.args))
			goto fail;
	} else if (bare_arg) {
		if (is_name(p, "is")) {
			fail(p, "tests cannot be chained with 'is'");
			goto fail;
		}
		struct tpl_node *arg = parse_postfix(p, parse_primary(p));
		if (!arg)
			goto fail;
		push_node(&n->u.filter.args.pos.items, &n->u.filter.args.pos.len, arg);
	}
	return n;
fail:
	node_free(n);
	return NULL;
}

static struct tpl_node *parse_filter_expr(struct parser *p, struct tpl_node *n)
{
	int entered = 0;
	while (n) {
		if (!enter(p)) {
			node_free(n);
			n = NULL;
			entered++;
			break;
		}
		entered++;
		if (skip_op(p, "|"))
			n = parse_filter(p, n);
		else if (skip_name(p, "is"))
			n = parse_test(p, n);
		else if (is_op(p, "("))
			n = parse_call(p, n);
		else
			break;
	}
	p->depth -= entered;
	return n;
}

static struct tpl_node *parse_unary(struct parser *p, bool with_filter)
{
	struct tpl_node *n;
	int line = cur(p)->line;
	if (!enter(p))
		return NULL;
	if (is_op(p, "-") || is_op(p, "+")) {
		enum tpl_node_kind kind = is_op(p, "-") ? TPL_N_NEG : TPL_N_POS;
		next(p);
		struct tpl_node *operand = parse_unary(p, false);
		n = NULL;
		if (operand) {
			n = new_node(kind, line);
			n->u.operand = operand;
		}
	} else {
		n = parse_primary(p);
	}
	n = parse_postfix(p, n);
	if (with_filter)
		n = parse_filter_expr(p, n);
	p->depth--;
	return n;
}

struct binary_level {
	const char *ops[4];
	enum tpl_op codes[4];
	struct tpl_node *(*operand)(struct parser *p);
};

/* A left-associative chain of the binary operators of one level. */
static struct tpl_node *parse_binary(struct parser *p, const struct binary_level *level)
{
	struct tpl_node *left = level->operand(p);
	int entered = 0;
	while (left) {
		int which = -1;
		for (int i = 0; i < 4 && level->ops[i]; i++)
			if (is_op(p, level->ops[i]))
				which = i;
		if (which < 0)
			break;
		int line = cur(p)->line;
		if (!enter(p)) {
			node_free(left);
			left = NULL;
			entered++;
			break;
		}
		entered++;
		next(p);
		struct tpl_node *right = level->operand(p);
		if (!right) {
			node_free(left);
			left = NULL;
			break;
		}
		struct tpl_node *n = new_node(TPL_N_BINARY, line);
		n->u.binary.op = level->codes[which];
		n->u.binary.left = left;
		n->u.binary.right = right;
		left = n;
	}
	p->depth -= entered;
	return left;
}

static struct tpl_node *parse_unary_filtered(struct parser *p)
{
	return parse_unary(p, true);
}

static struct tpl_node *parse_pow(struct parser *p)
{
	static const struct binary_level level = { { "**" }, { TPL_OP_POW }, parse_unary_filtered };
	return parse_binary(p, &level);
}

static struct tpl_node *parse_math2(struct parser *p)
{
	static const struct binary_level level = {
		{ "*", "/", "//", "%" }, { TPL_OP_MUL, TPL_OP_DIV, TPL_OP_FLOORDIV, TPL_OP_MOD }, parse_pow
	};
	return parse_binary(p, &level);
}

static struct tpl_node *parse_concat(struct parser *p)
{
	static const struct binary_level level = { { "~" }, { TPL_OP_CONCAT }, parse_math2 };
	return parse_binary(p, &level);
}

static struct tpl_node *parse_math1(struct parser *p)
{
	static const struct binary_level level = { { "+", "-" }, { TPL_OP_ADD, TPL_OP_SUB }, parse_concat };
	return parse_binary(p, &level);
}

static bool compare_op(struct parser *p, enum tpl_op *op)
{
	static const struct {
		const char *text;
		enum tpl_op op;
	} ops[] = {
		{ "==", TPL_OP_EQ }, { "!=", TPL_OP_NE }, { "<", TPL_OP_LT },
		{ "<=", TPL_OP_LE }, { ">", TPL_OP_GT },  { ">=", TPL_OP_GE },
	};
	for (size_t i = 0; i < ARRAY_LEN(ops); i++) {
		if (skip_op(p, ops[i].text)) {
			*op = ops[i].op;
			return true;
		}
	}
	if (skip_name(p, "in")) {
		*op = TPL_OP_IN;
		return true;
	}
	if (is_name(p, "not") && tok_is_name(ahead(p), "in")) {
		next(p);
		next(p);
		*op = TPL_OP_NOT_IN;
		return true;
	}
	return false;
}

static struct tpl_node *parse_compare(struct parser *p)
{
	struct tpl_node *first = parse_math1(p), *n = NULL;
	enum tpl_op op;
	if (!first)
		return NULL;
	while (compare_op(p, &op)) {
		if (!n) {
			n = new_node(TPL_N_COMPARE, first->line);
			n->u.compare.first = first;
		}
		size_t len = n->u.compare.rest.len;
		if (len == MAX_SYNTAX_DEPTH) {
			node_free(n);
			return fail(p, "too many comparisons in a chain");
		}
		n->u.compare.ops = xrealloc(n->u.compare.ops, (len + 1) * sizeof *n->u.compare.ops);
		n->u.compare.ops[len] = op;
		struct tpl_node *operand = parse_math1(p);
		if (!operand) {
			node_free(n);
			return NULL;
		}
		push_node(&n->u.compare.rest.items, &n->u.compare.rest.len, operand);
	}
	return n ? n : first;
}

static struct tpl_node *parse_not(struct parser *p)
{
	int line = cur(p)->line;
	if (!is_name(p, "not"))
		return parse_compare(p);
	if (!enter(p))
		return NULL;
	next(p);
	struct tpl_node *operand = parse_not(p), *n = NULL;
	if (operand) {
		n = new_node(TPL_N_NOT, line);
		n->u.operand = operand;
	}
	p->depth--;
	return n;
}

static struct tpl_node *parse_logic(struct parser *p, const char *word, enum tpl_node_kind kind,
				    struct tpl_node *(*operand)(struct parser *p))
{
	struct tpl_node *left = operand(p);
	int entered = 0;
	while (left && is_name(p, word)) {
		int line = cur(p)->line;
		entered++;
		if (!enter(p)) {
			node_free(left);
			left = NULL;
			break;
		}
		next(p);
		struct tpl_node *right = operand(p);
		if (!right) {
			node_free(left);
			left = NULL;
			break;
		}
		struct tpl_node *n = new_node(kind, line);
		n->u.binary.left = left;
		n->u.binary.right = right;
		left = n;
	}
	p->depth -= entered;
	return left;
}

static struct tpl_node *parse_and(struct parser *p)
{
	return parse_logic(p, "and", TPL_N_AND, parse_not);
}

static struct tpl_node *parse_or(struct parser *p)
{
	return parse_logic(p, "or", TPL_N_OR, parse_and);
}

/* `a if cond else b`; without else the value is undefined. */
static struct tpl_node *parse_condexpr(struct parser *p)
{
	struct tpl_node *n = parse_or(p);
	if (!n || !is_name(p, "if"))
		return n;
	if (!enter(p)) {
		node_free(n);
		return NULL;
	}
	struct tpl_node *cond = new_node(TPL_N_COND, cur(p)->line);
	cond->u.cond.then = n;
	next(p);
	cond->u.cond.cond = parse_or(p);
	if (cond->u.cond.cond && skip_name(p, "else")) {
		cond->u.cond.otherwise = parse_condexpr(p);
		if (!cond->u.cond.otherwise) {
			node_free(cond);
			cond = NULL;
		}
	} else if (!cond->u.cond.cond) {
		node_free(cond);
		cond = NULL;
	}
	p->depth--;
	return cond;
}

static struct tpl_node *parse_expression(struct parser *p, bool with_condexpr)
{
	return with_condexpr ? parse_condexpr(p) : parse_or(p);
}

static bool is_tuple_end(const struct parser *p)
{
	enum tpl_token_kind k = cur(p)->kind;
	return k == TPL_TOK_PRINT_END || k == TPL_TOK_BLOCK_END || k == TPL_TOK_EOF || is_op(p, ")") ||
	       is_op(p, "]") || is_op(p, ":") || is_name(p, "recursive");
}

/* One expression, or several separated by commas as a tuple. */
static struct tpl_node *parse_tuple(struct parser *p, bool with_condexpr, bool parenthesized)
{
	struct tpl_node *n = new_node(TPL_N_TUPLE, cur(p)->line);
	bool is_tuple = false;
	for (;;) {
		if (is_tuple_end(p))
			break;
		struct tpl_node *item = parse_expression(p, with_condexpr);
		if (!item)
			goto fail;
		push_node(&n->u.items.items, &n->u.items.len, item);
		if (!skip_op(p, ","))
			break;
		is_tuple = true;
	}
	if (is_tuple || (parenthesized && n->u.items.len == 0))
		return n;
	if (n->u.items.len == 0) {
		fail_expected(p, "an expression");
		goto fail;
	}
	struct tpl_node *single = n->u.items.items[0];
	free(n->u.items.items);
	free(n);
	return single;
fail:
	node_free(n);
	return NULL;
}

/* ---- statements ---------------------------------------------------------- */

static int parse_body(struct parser *p, struct tpl_body *body, const char *const *stops, const char *opener,
		      int opener_line);

/* A name, or names separated by commas (in parentheses if you like) to
 * unpack into; with_namespace also takes ns.attr. */
static struct tpl_node *parse_target(struct parser *p, bool with_namespace)
{
	if (with_namespace && cur(p)->kind == TPL_TOK_NAME && tok_is_op(ahead(p), ".")) {
		struct tpl_node *n = new_node(TPL_N_ATTR, cur(p)->line), *ns = new_node(TPL_N_NAME, cur(p)->line);
		ns->u.name = xstrdup(cur(p)->text);
		n->u.attr.object = ns;
		next(p);
		next(p);
		if (cur(p)->kind != TPL_TOK_NAME) {
			node_free(n);
			return fail_expected(p, "an attribute name");
		}
		n->u.attr.name = xstrdup(cur(p)->text);
		next(p);
		return n;
	}
	struct tpl_node *tuple = new_node(TPL_N_TUPLE, cur(p)->line);
	bool is_tuple = false;
	if (!enter(p)) {
		node_free(tuple);
		return NULL;
	}
	do {
		struct tpl_node *item;
		if (skip_op(p, "(")) {
			item = parse_target(p, false);
			if (item && !expect_op(p, ")")) {
				node_free(item);
				item = NULL;
			}
		} else if (cur(p)->kind == TPL_TOK_NAME) {
			item = new_node(TPL_N_NAME, cur(p)->line);
			item->u.name = xstrdup(cur(p)->text);
			next(p);
		} else {
			item = fail_expected(p, "a name to assign to");
		}
		if (!item) {
			node_free(tuple);
			p->depth--;
			return NULL;
		}
		push_node(&tuple->u.items.items, &tuple->u.items.len, item);
		if (is_op(p, ","))
			is_tuple = true;
	} while (skip_op(p, ",") && (cur(p)->kind == TPL_TOK_NAME || is_op(p, "(")));
	p->depth--;
	if (is_tuple)
		return tuple;
	struct tpl_node *single = tuple->u.items.items[0];
	free(tuple->u.items.items);
	free(tuple);
	return single;
}

/* Parses a body up to one of stops and past that tag's closing %}. */
static bool parse_block(struct parser *p, struct tpl_body *body, const char *end, const char *opener, int line)
{
	const char *stops[] = { end, NULL };
	if (parse_body(p, body, stops, opener, line) < 0)
		return false;
	next(p);
	return expect_block_end(p);
}

static struct tpl_node *parse_if(struct parser *p, int line)
{
	static const char *const stops[] = { "elif", "else", "endif", NULL };
	struct tpl_node *root = new_node(TPL_N_IF, line), *n = root;
	int elifs = 0; /* each elif nests an if in the else of the one before */
	for (;;) {
		n->u.if_.cond = parse_tuple(p, false, false);
		if (!n->u.if_.cond || !expect_block_end(p) || parse_body(p, &n->u.if_.then, stops, "if", line) < 0)
			goto fail;
		if (!skip_name(p, "elif"))
			break;
		elifs++;
		if (!enter(p))
			goto fail;
		struct tpl_node *elif = new_node(TPL_N_IF, cur(p)->line);
		push_node(&n->u.if_.otherwise.nodes, &n->u.if_.otherwise.len, elif);
		n = elif;
	}
	if (skip_name(p, "else")) {
		if (!expect_block_end(p) || !parse_block(p, &n->u.if_.otherwise, "endif", "if", line))
			goto fail;
	} else {
		next(p);
		if (!expect_block_end(p))
			goto fail;
	}
	p->depth -= elifs;
	return root;
fail:
	p->depth -= elifs;
	node_free(root);
	return NULL;
}

static struct tpl_node *parse_for(struct parser *p, int line)
{
	static const char *const stops[] = { "else", "endfor", NULL };
	struct tpl_node *n = new_node(TPL_N_FOR, line);
	n->u.for_.target = parse_target(p, false);
	if (!n->u.for_.target)
		goto fail;
	if (!skip_name(p, "in")) {
		fail_expected(p, "'in'");
		goto fail;
	}
	n->u.for_.iter = parse_tuple(p, false, false);
	if (!n->u.for_.iter)
		goto fail;
	if (skip_name(p, "if") && !(n->u.for_.filter = parse_expression(p, true)))
		goto fail;
	if (is_name(p, "recursive")) {
		fail(p, "recursive loops are not supported");
		goto fail;
	}
	if (!expect_block_end(p))
		goto fail;
	p->loop_depth++;
	int rc = parse_body(p, &n->u.for_.body, stops, "for", line);
	p->loop_depth--;
	if (rc < 0)
		goto fail;
	if (skip_name(p, "else")) {
		if (!expect_block_end(p) || !parse_block(p, &n->u.for_.otherwise, "endfor", "for", line))
			goto fail;
	} else {
		next(p);
		if (!expect_block_end(p))
			goto fail;
	}
	return n;
fail:
	node_free(n);
	return NULL;
}

/* The filters of {% filter a|b(x) %} or {% set x | a %}. */
static bool parse_filter_chain(struct parser *p, struct tpl_node_list *filters)
{
	do {
		struct tpl_node *f = parse_filter(p, NULL);
		if (!f)
			return false;
		push_node(&filters->items, &filters->len, f);
	} while (skip_op(p, "|"));
	return true;
}

static struct tpl_node *parse_set(struct parser *p, int line)
{
	struct tpl_node *target = parse_target(p, true), *n;
	if (!target)
		return NULL;
	if (skip_op(p, "=")) {
		n = new_node(TPL_N_SET, line);
		n->u.set.target = target;
		n->u.set.value = parse_tuple(p, true, false);
		if (!n->u.set.value || !expect_block_end(p))
			goto fail;
		return n;
	}
	n = new_node(TPL_N_SET_BLOCK, line);
	n->u.set_block.target = target;
	if (skip_op(p, "|") && !parse_filter_chain(p, &n->u.set_block.filters))
		goto fail;
	if (!expect_block_end(p) || !parse_block(p, &n->u.set_block.body, "endset", "set", line))
		goto fail;
	return n;
fail:
	node_free(n);
	return NULL;
}

/* The "(a, b=1)" of a macro or call block, into macro. */
static bool parse_params(struct parser *p, struct tpl_node *macro)
{
	if (!expect_op(p, "("))
		return false;
	while (!skip_op(p, ")")) {
		size_t n = macro->u.macro.n_params;
		if (n && !expect_op(p, ","))
			return false;
		if (cur(p)->kind != TPL_TOK_NAME) {
			fail_expected(p, "a parameter name");
			return false;
		}
		if (n == MAX_PARAMS) {
			fail(p, "a macro takes at most %d parameters", MAX_PARAMS);
			return false;
		}
		if ((n & (n - 1)) == 0) {
			size_t cap = n ? 2 * n : 1;
			macro->u.macro.params = xrealloc(macro->u.macro.params, cap * sizeof(char *));
			macro->u.macro.defaults = xrealloc(macro->u.macro.defaults, cap * sizeof(struct tpl_node *));
		}
		macro->u.macro.params[n] = xstrdup(cur(p)->text);
		macro->u.macro.defaults[n] = NULL;
		macro->u.macro.n_params++;
		next(p);
		if (skip_op(p, "=") && !(macro->u.macro.defaults[n] = parse_expression(p, true)))
			return false;
	}
	return true;
}

/* A macro's body: loops outside do not reach into it. */
static bool parse_macro_body(struct parser *p, struct tpl_node *macro, const char *end, const char *opener,
			     int line)
{
	struct tpl_node *outer_macro = p->macro;
	int outer_loops = p->loop_depth;
	p->macro = macro;
	p->loop_depth = 0;
	bool ok = parse_block(p, &macro->u.macro.body, end, opener, line);
	p->macro = outer_macro;
	p->loop_depth = outer_loops;
	return ok;
}

static struct tpl_node *parse_macro(struct parser *p, int line)
{
	struct tpl_node *n = new_node(TPL_N_MACRO, line);
	if (cur(p)->kind != TPL_TOK_NAME) {
		fail_expected(p, "a macro name");
		goto fail;
	}
	n->u.macro.name = xstrdup(cur(p)->text);
	next(p);
	if (!parse_params(p, n) || !expect_block_end(p) || !parse_macro_body(p, n, "endmacro", "macro", line))
		goto fail;
	return n;
fail:
	node_free(n);
	return NULL;
}

static struct tpl_node *parse_call_block(struct parser *p, int line)
{
	struct tpl_node *n = new_node(TPL_N_CALL_BLOCK, line), *caller = new_node(TPL_N_MACRO, line);
	n->u.call_block.caller = caller;
	caller->u.macro.name = xstrdup("caller");
	if (is_op(p, "(") && !parse_params(p, caller))
		goto fail;
	n->u.call_block.call = parse_expression(p, true);
	if (!n->u.call_block.call)
		goto fail;
	if (n->u.call_block.call->kind != TPL_N_CALL) {
		fail(p, "a call block needs a macro call");
		goto fail;
	}
	if (!expect_block_end(p) || !parse_macro_body(p, caller, "endcall", "call", line))
		goto fail;
	return n;
fail:
	node_free(n);
	return NULL;
}

static struct tpl_node *parse_with(struct parser *p, int line)
{
	struct tpl_node *n = new_node(TPL_N_WITH, line);
	while (cur(p)->kind != TPL_TOK_BLOCK_END) {
		if (n->u.with.targets.len && !expect_op(p, ","))
			goto fail;
		struct tpl_node *target = parse_target(p, false);
		if (!target)
			goto fail;
		push_node(&n->u.with.targets.items, &n->u.with.targets.len, target);
		struct tpl_node *value = expect_op(p, "=") ? parse_expression(p, true) : NULL;
		if (!value)
			goto fail;
		push_node(&n->u.with.values.items, &n->u.with.values.len, value);
	}
	next(p);
	if (!parse_block(p, &n->u.with.body, "endwith", "with", line))
		goto fail;
	return n;
fail:
	node_free(n);
	return NULL;
}

static struct tpl_node *parse_statement(struct parser *p)
{
	static const char *const closers[] = { "elif", "else", "endif", "endfor", "endset", "endmacro", "endcall",
					       "endfilter", "endwith", "endraw", "endgeneration", NULL };
	static const char *const unsupported[] = { "extends", "block", "include", "import", "from",
						   "do", "autoescape", "trans", NULL };
	const char *name = cur(p)->text;
	int line = cur(p)->line;
	struct tpl_node *n;
	if (cur(p)->kind != TPL_TOK_NAME)
		return fail_expected(p, "a tag name");
	next(p);
	if (!strcmp(name, "if"))
		return parse_if(p, line);
	if (!strcmp(name, "for"))
		return parse_for(p, line);
	if (!strcmp(name, "set"))
		return parse_set(p, line);
	if (!strcmp(name, "macro"))
		return parse_macro(p, line);
	if (!strcmp(name, "call"))
		return parse_call_block(p, line);
	if (!strcmp(name, "with"))
		return parse_with(p, line);
	if (!strcmp(name, "filter")) {
		n = new_node(TPL_N_FILTER_BLOCK, line);
		if (!parse_filter_chain(p, &n->u.set_block.filters) || !expect_block_end(p) ||
		    !parse_block(p, &n->u.set_block.body, "endfilter", "filter", line)) {
			node_free(n);
			return NULL;
		}
		return n;
	}
	if (!strcmp(name, "generation")) {
		n = new_node(TPL_N_SCOPE, line);
		if (!expect_block_end(p) || !parse_block(p, &n->u.scope, "endgeneration", "generation", line)) {
			node_free(n);
			return NULL;
		}
		return n;
	}
	if (!strcmp(name, "break") || !strcmp(name, "continue")) {
		if (p->loop_depth == 0)
			return fail(p, "'%s' outside of a loop", name);
		if (!expect_block_end(p))
			return NULL;
		return new_node(!strcmp(name, "break") ? TPL_N_BREAK : TPL_N_CONTINUE, line);
	}
	for (size_t i = 0; closers[i]; i++)
		if (!strcmp(name, closers[i]))
			return fail(p, "unexpected '%s'", name);
	for (size_t i = 0; unsupported[i]; i++)
		if (!strcmp(name, unsupported[i]))
			return fail(p, "'%s' tags are not supported", name);
	return fail(p, "unknown tag '%s'", name);
}

static bool is_stop(const struct parser *p, const char *const *stops)
{
	for (size_t i = 0; stops && stops[i]; i++)
		if (is_name(p, stops[i]))
			return true;
	return false;
}

/* Statements up to a {% tag %} named in stops, leaving that name current
 * (or to the end of the template when stops is NULL). */
static int parse_body(struct parser *p, struct tpl_body *body, const char *const *stops, const char *opener,
		      int opener_line)
{
	if (!enter(p))
		return -1;
	for (;;) {
		const struct tpl_token *t = cur(p);
		struct tpl_node *n;
		if (t->kind == TPL_TOK_EOF) {
			if (!stops)
				break;
			fail(p, "unexpected end of template, '%s' on line %d is not closed", opener, opener_line);
			goto fail;
		}
		if (t->kind == TPL_TOK_TEXT) {
			n = literal(tpl_str(t->text, t->len), t->line);
			n->kind = TPL_N_TEXT;
			next(p);
		} else if (t->kind == TPL_TOK_PRINT_BEGIN) {
			next(p);
			struct tpl_node *expr = parse_tuple(p, true, false);
			if (!expr)
				goto fail;
			n = new_node(TPL_N_PRINT, t->line);
			n->u.operand = expr;
			if (cur(p)->kind != TPL_TOK_PRINT_END) {
				node_free(n);
				fail_expected(p, "'}}'");
				goto fail;
			}
			next(p);
		} else if (t->kind == TPL_TOK_BLOCK_BEGIN) {
			next(p);
			if (is_stop(p, stops))
				break;
			n = parse_statement(p);
			if (!n)
				goto fail;
		} else {
			fail_expected(p, "template text or a tag");
			goto fail;
		}
		push_node(&body->nodes, &body->len, n);
	}
	p->depth--;
	return 0;
fail:
	p->depth--;
	return -1;
}

int tpl_parse(const char *source, size_t len, struct tpl_body *out)
{
	struct tpl_tokens tokens;
	*out = (struct tpl_body){ 0 };
	if (tpl_lex(source, len, &tokens) < 0)
		return -1;
	struct parser p = { .tok = tokens.items };
	int rc = parse_body(&p, out, NULL, NULL, 0);
	tpl_tokens_free(&tokens);
	if (rc < 0)
		tpl_body_free(out);
	return rc;
}
