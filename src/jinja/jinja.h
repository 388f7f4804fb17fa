/* template.h - renders a model's Jinja chat template over a conversation,
 * the way Hugging Face transformers does (a sandboxed Jinja2 subset). */
#ifndef NIBBLE_TEMPLATE_H
#define NIBBLE_TEMPLATE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <time.h>

struct strbuf;

struct template_vars {
	const char *bos_token;      /* NULL: "" */
	const char *eos_token;      /* NULL: "" */
	bool add_generation_prompt;
	json_object *tools;         /* optional JSON array, NULL: undefined in the template */
	time_t now;                 /* for strftime_now(); 0: the current time */
};

/* Renders the Jinja chat template `source` over `messages` (a json-c array of
 * message objects: {"role": ..., "content": ...} and whatever else they hold),
 * appending to out.  Returns 0, or -1 with error() set: a syntax error
 * ("template line 3: unexpected 'endfor'"), an unsupported feature, or the
 * text given to raise_exception().  out is left untouched on failure.  Uses
 * no global state, so threads may render at the same time. */
int template_render(const char *source, json_object *messages, const struct template_vars *vars,
		    struct strbuf *out);

#endif
