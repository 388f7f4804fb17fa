/* test_template.c - the Jinja chat template interpreter: every case of
 * ../shared/chat/chat-template-cases.jsonl (real templates, renderings by
 * transformers), then features and limits those cases do not reach. */
#include "config.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixtures.h"
#include "tap.h"
#include "jinja/jinja.h"
#include "base/util.h"

/* The day the goldens were rendered on, at noon local time. */
static time_t golden_day(void)
{
	struct tm tm = { .tm_year = 2026 - 1900, .tm_mon = 6, .tm_mday = 26, .tm_hour = 12, .tm_isdst = -1 };
	return mktime(&tm);
}

/* Up to max bytes of s from its start, with control characters escaped. */
static const char *excerpt(const char *s, size_t max, char *buf, size_t size)
{
	size_t n = 0;
	for (size_t i = 0; s[i] && i < max && n + 5 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n')
			n += (size_t)snprintf(buf + n, size - n, "\\n");
		else if (c < 0x20)
			n += (size_t)snprintf(buf + n, size - n, "\\x%02x", c);
		else
			buf[n++] = (char)c;
	}
	buf[n] = '\0';
	return buf;
}

/* Where got first differs from want, and both strings around it. */
static void diff_hint(const char *want, const char *got)
{
	char a[256], b[256];
	size_t i = 0;
	while (want[i] && want[i] == got[i])
		i++;
	size_t from = i > 30 ? i - 30 : 0;
	diag("first difference at byte %zu (expected %zu bytes, got %zu)", i, strlen(want), strlen(got));
	diag("expected: ...%s", excerpt(want + from, 80, a, sizeof a));
	diag("got:      ...%s", excerpt(got + from, 80, b, sizeof b));
}

static const char *get_string(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static void check_golden_case(json_object *c, time_t now)
{
	json_object *messages = NULL, *flag;
	const char *name = get_string(c, "name"), *conversation = get_string(c, "conversation");
	const char *expected = get_string(c, "expected");
	bool want_error = json_object_object_get_ex(c, "error", &flag) && json_object_get_boolean(flag);
	struct template_vars vars = {
		.bos_token = get_string(c, "bos_token"),
		.eos_token = get_string(c, "eos_token"),
		.now = now,
	};
	struct strbuf out = { 0 };
	json_object_object_get_ex(c, "messages", &messages);
	vars.add_generation_prompt = json_object_object_get_ex(c, "add_generation_prompt", &flag) &&
				     json_object_get_boolean(flag);
	int rc = template_render(get_string(c, "template"), messages, &vars, &out);
	const char *got = out.data ? out.data : "";
	if (want_error) {
		const char *msg = error_message();
		if (!ok(rc == -1 && msg[0] && !strchr(msg, '\n'), "%s / %s / add_generation_prompt=%d: refused", name,
			conversation, vars.add_generation_prompt))
			diag("rc %d, message '%s', output '%.200s'", rc, rc < 0 ? msg : "", got);
	} else if (!ok(rc == 0 && expected && strcmp(got, expected) == 0, "%s / %s / add_generation_prompt=%d", name,
		       conversation, vars.add_generation_prompt)) {
		if (rc < 0)
			diag("error: %s", error_message());
		else if (expected)
			diff_hint(expected, got);
	}
	strbuf_free(&out);
}

static void check_golden_cases(void)
{
	size_t len;
	char *text = read_file(fixture("chat/chat-template-cases.jsonl"), &len);
	time_t now = golden_day();
	int n = 0;
	if (!ok(text != NULL, "chat-template-cases.jsonl is readable")) {
		diag("%s", error_message());
		return;
	}
	for (char *line = text, *end; *line; line = end) {
		end = strchr(line, '\n');
		end = end ? (*end = '\0', end + 1) : line + strlen(line);
		if (!*line)
			continue;
		json_object *c = json_tokener_parse(line);
		if (!c) {
			ok(0, "case %d is valid JSON", n + 1);
			continue;
		}
		check_golden_case(c, now);
		json_object_put(c);
		n++;
	}
	ok(n == 320, "all 320 cases were checked (%d)", n);
	free(text);
}

/* Renders src over messages_json (NULL: one user message). */
static int render(const char *src, const char *messages_json, struct strbuf *out)
{
	json_object *messages = json_tokener_parse(messages_json ? messages_json
								   : "[{\"role\": \"user\", \"content\": \"hi\"}]");
	struct template_vars vars = { .bos_token = "<s>", .eos_token = "</s>", .now = golden_day() };
	int rc = template_render(src, messages, &vars, out);
	json_object_put(messages);
	return rc;
}

static void check_render(const char *what, const char *src, const char *messages_json, const char *want)
{
	struct strbuf out = { 0 };
	int rc = render(src, messages_json, &out);
	const char *got = out.data ? out.data : "";
	if (!ok(rc == 0 && strcmp(got, want) == 0, "%s", what)) {
		if (rc < 0)
			diag("error: %s", error_message());
		else
			diff_hint(want, got);
	}
	strbuf_free(&out);
}

/* The render must fail with a message containing want. */
static void check_error(const char *what, const char *src, const char *messages_json, const char *want)
{
	struct strbuf out = { 0 };
	int rc = render(src, messages_json, &out);
	const char *msg = error_message();
	if (!ok(rc == -1 && strstr(msg, want) && !strchr(msg, '\n') && out.len == 0, "%s", what))
		diag("rc %d, message '%s', wanted '%s'", rc, rc < 0 ? msg : "", want);
	strbuf_free(&out);
}

/* Expected outputs come from Jinja2 3.1 with transformers' settings. */
static void check_features(void)
{
	check_render("whitespace control and trim_blocks",
		     "a  {%- if true -%}  b  {%- endif %}\n  c\n  {% if 1 %}\nd{% endif %}", NULL, "ab  c\nd");
	check_render("comments, raw and lstrip_blocks", "x\n  {# note #}\ny {% raw %}{{ kept }}{% endraw %}", NULL,
		     "x\ny {{ kept }}");
	check_render("loop variables", "{% for x in 'abc' %}{{ loop.index }}{{ loop.revindex0 }}{{ loop.first }}"
		     "{{ loop.length }}{{ loop.previtem }}|{% endfor %}", NULL,
		     "12True3|21False3a|30False3b|");
	check_render("for with a filter, else, break and continue",
		     "{% for x in range(10) if x is odd %}{% if x > 6 %}{% break %}{% endif %}{% if x == 3 %}"
		     "{% continue %}{% endif %}{{ x }}{% endfor %}{% for x in [] %}no{% else %}empty{% endfor %}",
		     NULL, "15empty");
	check_render("unpacking dict items", "{% for k, v in {'b': 1, 'a': [2]}.items() %}{{ k }}={{ v }};{% endfor %}",
		     NULL, "b=1;a=[2];");
	check_render("set in a loop stays in the loop; namespaces do not",
		     "{% set x = 1 %}{% set ns = namespace(n=0) %}{% for i in [1, 2] %}{% set x = 5 %}"
		     "{% set ns.n = ns.n + i %}{% endfor %}{{ x }} {{ ns.n }}",
		     NULL, "1 3");
	check_render("macros with defaults, keywords, call and caller",
		     "{% macro m(a, b='B') %}[{{ a }}{{ b }}{{ caller() if caller is defined }}]{% endmacro %}"
		     "{{ m(1) }}{{ m(2, b=3) }}{% call m('c') %}body{% endcall %}",
		     NULL, "[1B][23][cBbody]");
	check_render("block set with a filter", "{% set s | upper %} hi {% endset %}[{{ s }}]", NULL, "[ HI ]");
	check_render("Python printing of values",
		     "{{ 1.0 }} {{ 1e20 }} {{ 0.1 + 0.2 }} {{ 10 / 4 }} {{ none }} {{ true }} {{ [1, 'a', none] }} "
		     "{{ {'k': (1,)} }} {{ 'it\\'s' ~ [\"it's\"] }}",
		     NULL, "1.0 1e+20 0.30000000000000004 2.5 None True [1, 'a', None] {'k': (1,)} it's[\"it's\"]");
	check_render("integer division and modulo of negatives", "{{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 2 ** 10 }}",
		     NULL, "-4 2 -2 1024");
	check_render("string repetition, slicing and indexing",
		     "{{ 'ab' * 3 }} {{ 'hello'[::-1] }} {{ 'hello'[1:3] }} {{ [1, 2, 3][-1] }} {{ 'héllo'[1] }}", NULL,
		     "ababab olleh el 3 é");
	check_render("string methods",
		     "{{ '  a b  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|"
		     "{{ 'Hello'.startswith('He') }}{{ 'Hello'.endswith(('x', 'lo')) }}|{{ 'abcabc'.find('c') }}"
		     "{{ 'abcabc'.count('bc') }}|{{ 'hello world'.title() }}|{{ '{} and {x}'.format(1, x=2) }}",
		     NULL, "a b|hi|['a', 'b', '', 'c']|['a', 'b']|TrueTrue|22|Hello World|1 and 2");
	check_render("filters",
		     "{{ [3, 1, 2]|sort|join(',') }} {{ ['b', 'A', 'a']|unique|list }} {{ 'hello world'|title }} "
		     "{{ 'ab'|upper }} {{ -3|abs }} {{ 2.5|round }} {{ '42'|int + 1 }} {{ [1, 2]|last }} "
		     "{{ 'a\\nb'|indent(2, true) }} {{ 'x y z'|wordcount }} {{ none|default('d') }} {{ ''|default('e', true) }}",
		     NULL, "1,2,3 ['b', 'A'] Hello World AB 3 2.0 43 2   a\n  b 3 None e");
	check_render("selectattr, rejectattr and map",
		     "{{ messages|selectattr('role', 'equalto', 'user')|map(attribute='content')|list }} "
		     "{{ messages|rejectattr('role', 'in', ['user'])|list|length }} {{ [1, 2, 3]|select('odd')|list }}",
		     "[{\"role\": \"user\", \"content\": \"q\"}, {\"role\": \"assistant\", \"content\": \"a\"}]",
		     "['q'] 1 [1, 3]");
	check_render("tests", "{{ x is defined }}{{ none is none }}{{ 'a' is string }}{{ {} is mapping }}"
		     "{{ 3 is divisibleby 3 }}{{ 4 is not even }}{{ [] is iterable }}{{ 1 is number }}",
		     NULL, "FalseTrueTrueTrueTrueFalseTrueTrue");
	check_render("undefined prints as nothing and is falsy",
		     "[{{ nothing }}{{ messages[5] }}]{% if not nothing %}ok{% endif %}", NULL, "[]ok");
	check_render("and / or return an operand, inline if without else",
		     "{{ 0 or 'x' }} {{ 'a' and 'b' }} [{{ 'y' if false }}]", NULL, "x b []");
	check_render("strftime_now in the C locale", "{{ strftime_now('%d %b %Y') }}", NULL, "26 Jul 2026");
	check_render("tojson with indent and sort_keys",
		     "{{ {'b': [1, 2.5, none, true], 'a': {}}|tojson(indent=2, sort_keys=true) }}", NULL,
		     "{\n  \"a\": {},\n  \"b\": [\n    1,\n    2.5,\n    null,\n    true\n  ]\n}");
	check_render("tojson escapes quotes and control characters, keeps UTF-8",
		     "{{ messages[0].content|tojson }}",
		     "[{\"role\": \"user\", \"content\": \"say \\\"hi\\\"\\\\\\n\\t\\u0001 caf\\u00e9 \\ud83d\\ude42\"}]",
		     "\"say \\\"hi\\\"\\\\\\n\\t\\u0001 café 🙂\"");
	check_render("markup-safe strings escape what is added to them",
		     "{{ 'a<'|safe + '<b>' }} {{ '<i>'|e }}", NULL, "a<&lt;b&gt; &lt;i&gt;");
	check_render("tools are visible when given, undefined otherwise", "{{ tools is defined }}", NULL, "False");
	check_render("printf-style formatting", "{{ '%s=%05.1f'|format('x', 3.14159) }} {{ '%(a)s' % {'a': 1} }} "
		     "{{ '%d%%' % 50 }} {{ '%-4s|%#x' % ('ab', 255) }}", NULL, "x=003.1 1 50% ab  |0xff");
	check_render("sum, min, max and dictsort",
		     "{{ [1, 2, 3]|sum }} {{ ['b', 'A']|min }} {{ [3, 9, 2]|max }} {{ {'b': 1, 'a': 2}|dictsort }}", NULL,
		     "6 A 9 [('a', 2), ('b', 1)]");
}

static void check_errors(void)
{
	check_error("a syntax error names its line", "line 1\n{% if x %}\n{% endfor %}", NULL,
		    "template line 3: unexpected 'endfor'");
	check_error("an unclosed block is reported", "{% for x in y %}\nno end", NULL, "'for' on line 1 is not closed");
	check_error("an unknown filter is a syntax error", "\n{{ x|nosuchfilter }}", NULL,
		    "template line 2: no filter named 'nosuchfilter'");
	check_error("attribute access on undefined fails", "{{ foo.bar }}", NULL, "'foo' is undefined");
	check_error("item access on a missing element's attribute fails", "{{ messages[3].role }}", NULL,
		    "has no element 3");
	check_error("raise_exception gives its own message", "{{ raise_exception('No system role') }}", NULL,
		    "No system role");
	check_error("the sandbox refuses mutation", "{% set l = [] %}{{ l.append(1) }}", NULL,
		    "access to attribute 'append' of 'list' object is unsafe");
	check_error("an endless-ish loop is stopped",
		    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", NULL,
		    "loop iterations");
	check_error("runaway macro recursion is stopped", "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", NULL,
		    "nested more than 64 deep");
	check_error("ranges are limited", "{{ range(1000000)|length }}", NULL, "range() of more than");
	check_error("huge text is refused before it is made", "{{ 'x' * 1000000000 }}", NULL, "too long");
	check_error("output is limited", "{% set s = 'x' * 10000000 %}{% for i in range(100) %}{{ s }}{% endfor %}",
		    NULL, "MiB of text");
	check_error("64-bit integer overflow is an error", "{{ 2 ** 70 }}", NULL, "integer overflow");
	check_error("mixed types do not compare", "{{ 1 < 'a' }}", NULL, "not supported between");
	check_error("slicing a number fails as in Python", "{% set n = 5 %}{{ n[1:] }}", NULL, "not subscriptable");

	check_error("deeply nested lists are refused",
		    "{% set ns = namespace(l=[]) %}{% for i in range(1000) %}{% set ns.l = [ns.l] %}{% endfor %}", NULL,
		    "nested more than");

	struct strbuf out = { 0 };
	strbuf_append(&out, "kept", 4);
	ok(render("ok{{ undefined_thing.x }}", NULL, &out) == -1 && strcmp(out.data, "kept") == 0,
	   "a failed render leaves the output untouched");
	strbuf_free(&out);
}

/* head, then middle n times, then tail, in a buffer the caller frees. */
static char *repeated(const char *head, const char *middle, int n, const char *tail)
{
	struct strbuf sb = { 0 };
	strbuf_append(&sb, head, strlen(head));
	for (int i = 0; i < n; i++)
		strbuf_append(&sb, middle, strlen(middle));
	strbuf_append(&sb, tail, strlen(tail));
	return sb.data;
}

/* Deep nesting must fail cleanly rather than exhaust the stack. */
static void check_nesting(void)
{
	static const struct {
		const char *what, *head, *middle, *tail;
		int n;
	} deep[] = {
		{ "deeply nested parentheses are refused", "{{ ", "(", "", 5000 },
		{ "deeply nested blocks are refused", "", "{% if 1 %}", "", 2000 },
		{ "very long elif chains are refused", "{% if x %}", "{% elif x %}", "{% endif %}", 5000 },
		{ "very long operator chains are refused", "{{ 1", " + 1", " }}", 5000 },
	};
	for (size_t i = 0; i < ARRAY_LEN(deep); i++) {
		char *src = repeated(deep[i].head, deep[i].middle, deep[i].n, deep[i].tail);
		check_error(deep[i].what, src, NULL, "nested too deeply");
		free(src);
	}

	/* how deep this gets depends on frame sizes (sanitizers make them
	 * bigger): it may render or stop, but cleanly */
	char *src = repeated("{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) ~ 1", " + 1", 250,
			     " }}{% endif %}{% endmacro %}{{ f(60) }}");
	struct strbuf out = { 0 };
	int rc = render(src, NULL, &out);
	ok(rc == 0 || (rc == -1 && strstr(error_message(), "recurses too deeply")),
	   "deep macro recursion over long expressions renders or stops cleanly");
	strbuf_free(&out);
	free(src);
}

int main(void)
{
	fixtures_dir();
	check_features();
	check_errors();
	check_nesting();
	check_golden_cases();
	return tap_done();
}
