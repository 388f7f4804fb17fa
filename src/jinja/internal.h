/* template_impl.h - internals of the chat template interpreter shared by the
 * template_*.c files: values, text helpers, tokens, the syntax tree and the
 * evaluation context.  Names here carry the internal prefix tpl_. */
#ifndef NIBBLE_TEMPLATE_IMPL_H
#define NIBBLE_TEMPLATE_IMPL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/util.h"

/* Limits that keep any template, however hostile, from hanging or
 * exhausting memory; each is far above what real chat templates need. */
#define TPL_MAX_STEPS 100000             /* loop iterations plus macro calls per render */
#define TPL_MAX_CALL_DEPTH 64            /* macros calling macros */
#define TPL_MAX_NESTING 100              /* brackets and blocks in the source; lists in lists */
#define TPL_MAX_STACK ((size_t)512 << 10) /* bytes of stack the evaluator may use */
#define TPL_MAX_WORK ((size_t)256 << 20) /* bytes of text and list slots made or searched */
#define TPL_MAX_RANGE 100000             /* items of range(), as in Jinja's sandbox */

/* ---- values ------------------------------------------------------------ */

enum tpl_type {
	TPL_UNDEFINED,
	TPL_NONE,
	TPL_BOOL,
	TPL_INT,
	TPL_FLOAT,
	TPL_STRING,
	TPL_LIST, /* and tuples */
	TPL_DICT,
	TPL_NAMESPACE,
	TPL_LOOP,
	TPL_MACRO,
	TPL_FUNCTION,
};

/* A value is passed by copy; the heap part of strings, containers and
 * callables is reference counted.  A function that returns a value through
 * an out pointer hands over one reference; arguments are borrowed. */
struct tpl_value {
	enum tpl_type type;
	union {
		bool boolean;
		int64_t integer;
		double number;
		struct tpl_string *string; /* STRING; UNDEFINED: why it is undefined, or NULL */
		struct tpl_list *list;
		struct tpl_dict *dict; /* DICT and NAMESPACE */
		struct tpl_loop *loop;
		struct tpl_callable *callable; /* MACRO and FUNCTION */
	} as;
};

struct tpl_string {
	int refs;
	bool markup; /* from |safe or |escape: '+' escapes a plain operand */
	size_t len;
	char *data; /* UTF-8, NUL-terminated */
};

struct tpl_list {
	int refs;
	bool tuple;
	unsigned depth; /* lists and dicts nested in it, itself included */
	size_t len, cap;
	struct tpl_value *items;
};

struct tpl_dict_entry {
	struct tpl_value key, value;
};

struct tpl_dict {
	int refs;
	unsigned depth;
	size_t len, cap;
	struct tpl_dict_entry *entries; /* in insertion order */
	size_t *index;                  /* hash slots holding entry + 1 (0: free), once the dict grows */
	size_t index_cap;               /* a power of two */
};

/* The `loop` variable of a for loop: the filtered items and where we are. */
struct tpl_loop {
	int refs;
	struct tpl_value items; /* a list */
	size_t index0;
};

struct tpl_ctx;
struct tpl_args;
struct tpl_node;
struct tpl_frame;

/* A filter, test, method or global function written in C.  self is the
 * filtered or tested value, or the object of a method. */
struct tpl_builtin {
	const char *name;
	int (*fn)(struct tpl_ctx *ctx, struct tpl_value self, const struct tpl_args *args, struct tpl_value *out);
};

struct tpl_callable {
	int refs;
	const struct tpl_builtin *builtin; /* FUNCTION */
	struct tpl_value self;             /* FUNCTION: the object of a bound method */
	const struct tpl_node *macro;      /* MACRO: a macro, or the body of a call block */
	struct tpl_frame *closure;         /* MACRO: the scope it was defined in */
};

/* Arguments of a call, filter or test, all borrowed. */
struct tpl_args {
	size_t n_pos, n_kw;
	struct tpl_value *pos;
	char *const *kw_names;
	struct tpl_value *kw;
};

/* Values without a heap part. */
static inline struct tpl_value tpl_undefined(void)
{
	return (struct tpl_value){ .type = TPL_UNDEFINED };
}
static inline struct tpl_value tpl_none(void)
{
	return (struct tpl_value){ .type = TPL_NONE };
}
static inline struct tpl_value tpl_bool(bool b)
{
	return (struct tpl_value){ .type = TPL_BOOL, .as.boolean = b };
}
static inline struct tpl_value tpl_int(int64_t i)
{
	return (struct tpl_value){ .type = TPL_INT, .as.integer = i };
}
static inline struct tpl_value tpl_float(double d)
{
	return (struct tpl_value){ .type = TPL_FLOAT, .as.number = d };
}
static inline bool tpl_is_number(struct tpl_value v)
{
	return v.type == TPL_BOOL || v.type == TPL_INT || v.type == TPL_FLOAT;
}

/* ---- values (template_value.c) ------------------------------------------ */

/* Take and drop a reference; tpl_ref() returns v for convenience.  Both
 * do nothing for values without a heap part. */
struct tpl_value tpl_ref(struct tpl_value v);
void tpl_unref(struct tpl_value v);
/* New strings copied from data (len bytes) or from a C string. */
struct tpl_value tpl_str(const char *data, size_t len);
struct tpl_value tpl_cstr(const char *s);
/* Takes the buffer of sb (leaving it empty) as the text of a new string. */
struct tpl_value tpl_str_take(struct strbuf *sb);
/* An undefined value that remembers why, for the error when it is misused. */
struct tpl_value tpl_undefined_why(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The error for misusing an undefined value: "'x' is undefined". */
int tpl_undefined_error(struct tpl_value v);
/* An empty list (or tuple) with room for cap items. */
struct tpl_value tpl_list_new(size_t cap, bool tuple);
/* Appends item to a list under construction, taking over its reference. */
void tpl_list_push(struct tpl_value list, struct tpl_value item);
/* An empty dict, or namespace (a dict of attributes that `set` may change). */
struct tpl_value tpl_dict_new(void);
struct tpl_value tpl_namespace_new(void);
/* Sets key to value in a dict or namespace, taking over both references;
 * fails (and drops them) for a key Python could not hash. */
int tpl_dict_set(struct tpl_value dict, struct tpl_value key, struct tpl_value value);
/* The value stored under key (or under the string key), borrowed, or NULL. */
struct tpl_value *tpl_dict_get(struct tpl_value dict, struct tpl_value key);
struct tpl_value *tpl_dict_get_str(struct tpl_value dict, const char *key);
/* Empties a namespace (breaking reference cycles through it). */
void tpl_namespace_clear(struct tpl_value ns);
/* How deep lists and dicts nest in v: 0 for other values. */
unsigned tpl_depth(struct tpl_value v);
/* Python's truth: empty, zero, none and undefined are false. */
bool tpl_truthy(struct tpl_value v);
/* Python ==, with 1 == 1.0 == True. */
bool tpl_equal(struct tpl_value a, struct tpl_value b);
/* Python ordering (numbers, strings, lists): *order < 0, 0 or > 0; op
 * names the operator in the error for values that have no order. */
int tpl_compare(struct tpl_value a, struct tpl_value b, const char *op, int *order);
/* Stable sort of indices by cmp, which may fail. */
int tpl_sort_indices(size_t *idx, size_t n, int (*cmp)(const void *arg, size_t a, size_t b, int *order),
		     const void *arg);
/* Python's type name: 'str', 'NoneType', 'dict', ... */
const char *tpl_type_name(struct tpl_value v);
/* Appends Python's str(v) (repr() with the second, depth 0 at the top) to
 * sb; fails for values nested too deeply or too big to write out. */
int tpl_write_str(struct strbuf *sb, struct tpl_value v);
int tpl_write_repr(struct strbuf *sb, struct tpl_value v, int depth);
/* str(v) as a string value, a new reference (v itself for strings). */
int tpl_to_string(struct tpl_value v, struct tpl_value *out);

struct tpl_json_style {
	const char *indent;   /* NULL: all on one line */
	const char *item_sep; /* ", " or "," */
	const char *key_sep;  /* ": " */
	bool sort_keys, ascii;
};
/* Appends json.dumps(v, ...) as Python writes it (level 0 at the top);
 * fails for values JSON cannot hold (undefined, macros...). */
int tpl_write_json(struct strbuf *sb, struct tpl_value v, const struct tpl_json_style *style, int level);
/* The template value of a json-c value (depth 0 at the top). */
int tpl_from_json(json_object *j, struct tpl_value *out, int depth);

/* ---- text (template_text.c) --------------------------------------------- */

/* UTF-8 and the few Unicode properties Python's string methods need.  A
 * byte that is not valid UTF-8 decodes to TPL_RAW_BYTE + byte and is
 * written back unchanged. */
#define TPL_RAW_BYTE 0x110000u
/* The code point at *pos (which must be < len), moving *pos past it. */
uint32_t tpl_utf8_next(const char *s, size_t len, size_t *pos);
void tpl_utf8_put(struct strbuf *sb, uint32_t cp);
/* Code points in s, as Python's len() counts them. */
size_t tpl_utf8_count(const char *s, size_t len);
/* str.isspace(), case mapping, whether a character has case, \w. */
bool tpl_is_space(uint32_t cp);
uint32_t tpl_upper(uint32_t cp);
uint32_t tpl_lower(uint32_t cp);
bool tpl_is_cased(uint32_t cp);
bool tpl_is_word_char(uint32_t cp);
/* Python's repr() of a string and of a float; JSON string escaping. */
void tpl_write_str_repr(struct strbuf *sb, const char *s, size_t len);
void tpl_write_float(struct strbuf *sb, double d);
void tpl_write_json_string(struct strbuf *sb, const char *s, size_t len, bool ascii);
/* HTML escaping as markupsafe does it. */
void tpl_write_html_escaped(struct strbuf *sb, const char *s, size_t len);
/* Parses Python int() / float() text; false when it is not a number. */
bool tpl_parse_int(const char *s, size_t len, int base, int64_t *out);
bool tpl_parse_float(const char *s, size_t len, double *out);

/* ---- tokens (template_lex.c) -------------------------------------------- */

enum tpl_token_kind {
	TPL_TOK_TEXT,        /* template data, whitespace control applied */
	TPL_TOK_PRINT_BEGIN, /* {{ */
	TPL_TOK_PRINT_END,   /* }} */
	TPL_TOK_BLOCK_BEGIN, /* {% */
	TPL_TOK_BLOCK_END,   /* %} */
	TPL_TOK_NAME,
	TPL_TOK_STRING,
	TPL_TOK_INT,
	TPL_TOK_FLOAT,
	TPL_TOK_OP, /* an operator or punctuation, in text */
	TPL_TOK_EOF,
};

struct tpl_token {
	enum tpl_token_kind kind;
	int line;
	char *text; /* TEXT, NAME, STRING (unescaped), OP */
	size_t len;
	int64_t integer;
	double number;
};

struct tpl_tokens {
	struct tpl_token *items;
	size_t len, cap;
};

/* Splits template source into tokens, ending with TPL_TOK_EOF; the caller
 * frees them with tpl_tokens_free(). */
int tpl_lex(const char *source, size_t len, struct tpl_tokens *out);
void tpl_tokens_free(struct tpl_tokens *t);

/* ---- syntax tree (template_parse.c) ------------------------------------- */

enum tpl_node_kind {
	/* statements */
	TPL_N_TEXT,
	TPL_N_PRINT,
	TPL_N_IF,
	TPL_N_FOR,
	TPL_N_SET,
	TPL_N_SET_BLOCK,
	TPL_N_MACRO,
	TPL_N_CALL_BLOCK,
	TPL_N_FILTER_BLOCK,
	TPL_N_WITH,
	TPL_N_SCOPE, /* a body rendered as is ({% generation %}) */
	TPL_N_BREAK,
	TPL_N_CONTINUE,
	/* expressions */
	TPL_N_LITERAL,
	TPL_N_NAME,
	TPL_N_LIST,
	TPL_N_TUPLE,
	TPL_N_DICT,
	TPL_N_ATTR,
	TPL_N_ITEM,
	TPL_N_SLICE,
	TPL_N_CALL,
	TPL_N_FILTER,
	TPL_N_TEST,
	TPL_N_NOT,
	TPL_N_NEG,
	TPL_N_POS,
	TPL_N_BINARY,
	TPL_N_AND,
	TPL_N_OR,
	TPL_N_COMPARE,
	TPL_N_COND,
};

enum tpl_op {
	TPL_OP_ADD,
	TPL_OP_SUB,
	TPL_OP_MUL,
	TPL_OP_DIV,
	TPL_OP_FLOORDIV,
	TPL_OP_MOD,
	TPL_OP_POW,
	TPL_OP_CONCAT,
	TPL_OP_EQ,
	TPL_OP_NE,
	TPL_OP_LT,
	TPL_OP_LE,
	TPL_OP_GT,
	TPL_OP_GE,
	TPL_OP_IN,
	TPL_OP_NOT_IN,
};

struct tpl_body {
	struct tpl_node **nodes;
	size_t len;
};

struct tpl_node_list {
	struct tpl_node **items;
	size_t len;
};

struct tpl_call_args {
	struct tpl_node_list pos;
	struct tpl_node_list kw;
	char **kw_names;
};

struct tpl_node {
	enum tpl_node_kind kind;
	int line;
	union {
		struct tpl_value literal; /* LITERAL, TEXT */
		char *name;               /* NAME */
		struct tpl_node *operand; /* PRINT, NOT, NEG, POS */
		struct tpl_node_list items; /* LIST, TUPLE; DICT: key, value, key, value... */
		struct {
			struct tpl_node *object;
			char *name;
		} attr;
		struct {
			struct tpl_node *object, *index;
		} item;
		struct {
			struct tpl_node *object, *start, *stop, *step; /* each may be NULL */
		} slice;
		struct {
			struct tpl_node *callee;
			struct tpl_call_args args;
		} call;
		struct {
			struct tpl_node *operand; /* NULL in the chain of a filter block */
			const struct tpl_builtin *builtin;
			struct tpl_call_args args;
			bool negated; /* TEST: `is not` */
		} filter;         /* FILTER, TEST */
		struct {
			enum tpl_op op;
			struct tpl_node *left, *right;
		} binary; /* BINARY, AND, OR */
		struct {
			struct tpl_node *first;
			enum tpl_op *ops;
			struct tpl_node_list rest;
		} compare;
		struct {
			struct tpl_node *cond, *then, *otherwise; /* otherwise may be NULL */
		} cond;
		struct {
			struct tpl_node *cond;
			struct tpl_body then, otherwise;
		} if_;
		struct {
			struct tpl_node *target; /* NAME or TUPLE of NAMEs */
			struct tpl_node *iter, *filter; /* filter may be NULL */
			struct tpl_body body, otherwise;
		} for_;
		struct {
			struct tpl_node *target; /* NAME, TUPLE of NAMEs, or ATTR (ns.x) */
			struct tpl_node *value;
		} set;
		struct {
			struct tpl_node *target;
			struct tpl_node_list filters; /* FILTER nodes without operand */
			struct tpl_body body;
		} set_block; /* SET_BLOCK, FILTER_BLOCK (no target) */
		struct {
			char *name;
			char **params;
			struct tpl_node **defaults; /* by parameter, NULL where none */
			size_t n_params;
			struct tpl_body body;
			bool uses_varargs, uses_kwargs;
		} macro; /* MACRO; also the caller of a CALL_BLOCK */
		struct {
			struct tpl_node *call;   /* a CALL */
			struct tpl_node *caller; /* a MACRO named "caller" */
		} call_block;
		struct {
			struct tpl_node_list targets, values;
			struct tpl_body body;
		} with;
		struct tpl_body scope;
	} u;
};

/* Parses a whole template into out, which the caller frees with
 * tpl_body_free(); fails with "template line N: ..." for a syntax error. */
int tpl_parse(const char *source, size_t len, struct tpl_body *out);
void tpl_body_free(struct tpl_body *b);

/* ---- evaluation (template_eval.c) --------------------------------------- */

enum tpl_control {
	TPL_CONTROL_NONE,
	TPL_CONTROL_BREAK,
	TPL_CONTROL_CONTINUE,
};

struct tpl_ctx {
	struct tpl_frame *root;
	time_t now;
	size_t steps, work;
	uintptr_t stack_base; /* where the stack was when the render began */
	int call_depth;
	bool located; /* the error message already says where (or is the template's own) */
	enum tpl_control control;
	struct tpl_value *namespaces; /* every namespace made, to break cycles at the end */
	size_t n_namespaces, cap_namespaces;
};

/* The state of one render (now: for strftime_now()); tpl_ctx_free() drops
 * every value the render made. */
void tpl_ctx_init(struct tpl_ctx *ctx, time_t now);
void tpl_ctx_free(struct tpl_ctx *ctx);
/* Defines a variable of the template's top scope, taking over value. */
void tpl_ctx_define(struct tpl_ctx *ctx, const char *name, struct tpl_value value);
/* Renders a parsed template, appending to out. */
int tpl_exec(struct tpl_ctx *ctx, const struct tpl_body *body, struct strbuf *out);
/* Drops a reference to a scope (a macro's closure). */
void tpl_frame_unref(struct tpl_frame *f);
/* Keeps a new namespace until the render ends, when it is emptied: values
 * can refer to each other in cycles only through namespaces. */
void tpl_track_namespace(struct tpl_ctx *ctx, struct tpl_value ns);
/* Counts n bytes of work against TPL_MAX_WORK. */
int tpl_charge(struct tpl_ctx *ctx, size_t n);
/* tpl_str_take() for text a filter or operator made, counted as work. */
int tpl_take_string(struct tpl_ctx *ctx, struct strbuf *sb, struct tpl_value *out);
/* obj.name and obj[key] with Jinja's sandboxed lookup rules. */
int tpl_getattr(struct tpl_value obj, const char *name, struct tpl_value *out);
int tpl_getitem(struct tpl_value obj, struct tpl_value key, struct tpl_value *out);
/* Calls a macro or built-in function. */
int tpl_call(struct tpl_ctx *ctx, struct tpl_value callee, const struct tpl_args *args, struct tpl_value *out);
/* a + b, a % b, a ~ b... with Python's semantics (not comparisons). */
int tpl_binary_op(struct tpl_ctx *ctx, enum tpl_op op, struct tpl_value a, struct tpl_value b, struct tpl_value *out);
/* The items of anything a for loop can walk, as a list (a new reference). */
int tpl_iterate(struct tpl_ctx *ctx, struct tpl_value v, struct tpl_value *out);
/* Python's `item in container`. */
int tpl_contains(struct tpl_ctx *ctx, struct tpl_value container, struct tpl_value item, bool *out);
/* A built-in as a value; self is the object of a method (or undefined). */
struct tpl_value tpl_function(const struct tpl_builtin *b, struct tpl_value self);

/* ---- builtins (template_builtins.c) ------------------------------------- */

/* The filter, test or global function of that name, or NULL. */
const struct tpl_builtin *tpl_find_filter(const char *name);
const struct tpl_builtin *tpl_find_test(const char *name);
const struct tpl_builtin *tpl_find_global(const char *name);
/* Matches args to parameter names (NULL-terminated); slots not given stay
 * undefined.  Fails for unknown keywords, too many or missing arguments. */
int tpl_bind(const struct tpl_args *args, const char *who, const char *const *params, size_t n_required,
	     struct tpl_value *slots);
static inline int tpl_no_args(const struct tpl_args *args, const char *who)
{
	return tpl_bind(args, who, (const char *const[]){ NULL }, 0, NULL);
}
/* An argument that was left out (an undefined variable passed in is given). */
static inline bool tpl_absent(struct tpl_value v)
{
	return v.type == TPL_UNDEFINED && !v.as.string;
}
static inline bool tpl_absent_or_none(struct tpl_value v)
{
	return tpl_absent(v) || v.type == TPL_NONE;
}
/* Argument checks: fail with "who(): what must be ..." otherwise. */
int tpl_want_int(struct tpl_value v, const char *who, const char *what, int64_t *out);
int tpl_want_string(struct tpl_value v, const char *who, const char *what);
/* Fails when text being built outgrows what the render may still make. */
int tpl_check_growth(const struct tpl_ctx *ctx, const struct strbuf *sb);
/* An empty list for n items, counted as work. */
int tpl_new_list(struct tpl_ctx *ctx, size_t n, struct tpl_value *out);

/* ---- methods and string operations (template_methods.c) ----------------- */

/* A method of str, dict or list values; *unsafe is set for the methods that
 * would modify a value, which the sandbox refuses. */
const struct tpl_builtin *tpl_find_method(enum tpl_type type, const char *name, bool *unsafe);

enum tpl_case {
	TPL_CASE_UPPER,
	TPL_CASE_LOWER,
	TPL_CASE_CAPITALIZE,   /* str.capitalize() */
	TPL_CASE_TITLE,        /* str.title(): words are runs of cased letters */
	TPL_CASE_TITLE_FILTER, /* |title: words are split at white space and -({[< */
};
/* s with its case changed the way Python's str methods (or |title) do. */
int tpl_change_case(struct tpl_ctx *ctx, const struct tpl_string *s, enum tpl_case style, struct tpl_value *out);
/* str.strip(chars) (chars undefined or none: white space), or one side. */
int tpl_strip(struct tpl_ctx *ctx, const struct tpl_string *s, struct tpl_value chars, bool left, bool right,
	      struct tpl_value *out);
/* str.replace(old, new, count); count < 0: all. */
int tpl_replace(struct tpl_ctx *ctx, const struct tpl_string *s, const struct tpl_string *old,
		const struct tpl_string *new, int64_t count, struct tpl_value *out);
/* The lines of s as str.splitlines() finds them: [start, end) of each
 * line's text, and next, the end of its line break. */
struct tpl_line {
	size_t start, end, next;
};
size_t tpl_split_lines(const struct tpl_string *s, struct tpl_line **out);
/* Python's fmt % args: printf-style conversions of args, or of the
 * entries of mapping (a dict, or undefined) for %(key)s. */
int tpl_percent_format(struct tpl_ctx *ctx, const struct tpl_string *fmt, const struct tpl_value *args,
		       size_t n_args, struct tpl_value mapping, struct tpl_value *out);
/* dict.items(): a list of (key, value) tuples. */
int tpl_dict_items(struct tpl_ctx *ctx, struct tpl_value dict, struct tpl_value *out);

#endif
