/* chat_format.h - how a conversation becomes a prompt: the model's own Jinja
 * chat template, or a built-in format for its family when there is none or
 * it cannot be rendered. */
#ifndef NIBBLE_CHAT_FORMAT_H
#define NIBBLE_CHAT_FORMAT_H

#include <json-c/json.h>
#include <stdbool.h>

struct model;
struct strbuf;

enum chat_family {
	CHAT_FAMILY_PLAIN, /* "User: ... Assistant: ..." for models without a template */
	CHAT_FAMILY_LLAMA3,
	CHAT_FAMILY_CHATML,
	CHAT_FAMILY_MISTRAL,
	CHAT_FAMILY_LLAMA2,
	CHAT_FAMILY_PHI3,
	CHAT_FAMILY_GEMMA,
	CHAT_FAMILY_ZEPHYR,
	CHAT_FAMILY_VICUNA,
	CHAT_FAMILY_DEEPSEEK,
	CHAT_FAMILY_COMMAND_R,
	CHAT_FAMILY_COUNT
};

struct chat_format {
	char *template_src;       /* the Jinja template in use, or NULL: the built-in family */
	enum chat_family family;  /* built-in format, also the fallback for the template */
	char *bos, *eos;          /* BOS/EOS token texts, as templates see them */
	bool fold_system;         /* the template refuses a system message: merge it into the first user turn */
	char note[512];           /* what is used and why, for stderr or the status bar */
	bool note_new;            /* note changed since it was last shown */
	bool note_warn;           /* note tells of a fallback: show it even when not verbose */
};

/* Chooses the format for model m.  override: NULL, a family name ("chatml")
 * or a file holding a Jinja template.  0, or -1 with error(). */
int chat_format_init(struct chat_format *f, const struct model *m, const char *override);
void chat_format_free(struct chat_format *f);

/* Appends the prompt for messages (a json-c array of {role, content}).
 * A template that fails is retried with the system message folded into the
 * first user turn, then replaced by the built-in family for good; f->note
 * says so. */
void chat_format_render(struct chat_format *f, json_object *messages, bool add_generation_prompt,
		       struct strbuf *out);

/* Renders a built-in family directly. */
void chat_family_render(enum chat_family fam, json_object *messages, bool add_generation_prompt,
			const char *bos, const char *eos, struct strbuf *out);

const char *chat_family_name(enum chat_family fam);
/* The family of a name, or -1. */
int chat_family_find(const char *name);
/* Comma-separated list of family names. */
const char *chat_family_list(void);
/* Text that ends an assistant turn in this family besides end-of-generation
 * tokens (the plain format's "\nUser:"), or NULL. */
const char *chat_family_stop(enum chat_family fam);

#endif
