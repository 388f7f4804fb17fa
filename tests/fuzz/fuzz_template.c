/* fuzz_template.c - the Jinja chat-template interpreter on an arbitrary
 * template over arbitrary messages.  The input is the template, a NUL, the
 * messages as JSON (a fixed conversation when they are missing or not a JSON
 * array), a NUL and the tools as JSON.  A render must end (the interpreter
 * bounds loops, recursion and output), must leave the output untouched when
 * it fails, and the chat's own path (template, then the system prompt
 * folded in, then a built-in format) must run to its end. */
#include "config.h"

#include <string.h>

#include "chat/format.h"
#include "fuzz.h"
#include "jinja/jinja.h"
#include "base/util.h"

static const char default_messages[] =
	"[{\"role\": \"system\", \"content\": \"You are terse.\"},"
	" {\"role\": \"user\", \"content\": \"Hi <b>there</b> \\u00e9\\ud83d\\ude00\"},"
	" {\"role\": \"assistant\", \"content\": \"Hello.\"},"
	" {\"role\": \"user\", \"content\": \"Again?\"}]";

/* The next NUL-terminated part of the input, copied; NULL when none is left. */
static char *next_part(const uint8_t **p, const uint8_t *end)
{
	if (*p > end)
		return NULL;
	const uint8_t *nul = memchr(*p, '\0', (size_t)(end - *p));
	size_t len = nul ? (size_t)(nul - *p) : (size_t)(end - *p);
	char *s = xstrndup((const char *)*p, len);
	*p += len + 1;
	return s;
}

static json_object *parse_array(const char *json)
{
	json_object *j = json ? json_tokener_parse(json) : NULL;
	if (j && !json_object_is_type(j, json_type_array)) {
		json_object_put(j);
		j = NULL;
	}
	return j;
}

int FUZZ_ONE(template)(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	char *src = next_part(&p, end), *msgs_json = next_part(&p, end), *tools_json = next_part(&p, end);
	json_object *messages = parse_array(msgs_json);
	if (!messages)
		messages = json_tokener_parse(default_messages);
	json_object *tools = parse_array(tools_json);

	struct template_vars vars = { .bos_token = "<s>", .eos_token = "</s>", .add_generation_prompt = true,
				      .tools = tools, .now = 1785024000 };
	struct strbuf out = { 0 };
	strbuf_append(&out, "before", 6);
	if (template_render(src, messages, &vars, &out) < 0)
		FUZZ_CHECK(out.len == 6 && memcmp(out.data, "before", 6) == 0,
			   "a failed render changed the output");
	FUZZ_CHECK(strlen(error_message()) < 1 << 20, "an unbounded error message");

	/* the chat's path, with a built-in family chosen by the input */
	struct chat_format f = { .template_src = xstrdup(src), .family = (enum chat_family)(size % CHAT_FAMILY_COUNT),
				 .bos = xstrdup("<s>"), .eos = xstrdup("</s>") };
	out.len = 0;
	chat_format_render(&f, messages, false, &out);
	chat_format_free(&f);

	strbuf_free(&out);
	json_object_put(messages);
	json_object_put(tools);
	free(src);
	free(msgs_json);
	free(tools_json);
	return 0;
}
