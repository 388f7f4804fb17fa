/* chat_format.c - built-in prompt formats of the common model families, the
 * detection of a model's family, and the fallback policy when its own
 * template cannot be rendered. */
#include "config.h"

#include "chat/format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "jinja/jinja.h"
#include "base/util.h"

static const char *const family_names[CHAT_FAMILY_COUNT] = {
	[CHAT_FAMILY_PLAIN] = "plain",
	[CHAT_FAMILY_LLAMA3] = "llama3",
	[CHAT_FAMILY_CHATML] = "chatml",
	[CHAT_FAMILY_MISTRAL] = "mistral",
	[CHAT_FAMILY_LLAMA2] = "llama2",
	[CHAT_FAMILY_PHI3] = "phi3",
	[CHAT_FAMILY_GEMMA] = "gemma",
	[CHAT_FAMILY_ZEPHYR] = "zephyr",
	[CHAT_FAMILY_VICUNA] = "vicuna",
	[CHAT_FAMILY_DEEPSEEK] = "deepseek",
	[CHAT_FAMILY_COMMAND_R] = "command-r",
};

const char *chat_family_name(enum chat_family fam)
{
	return fam < CHAT_FAMILY_COUNT ? family_names[fam] : "?";
}

int chat_family_find(const char *name)
{
	for (int i = 0; i < CHAT_FAMILY_COUNT; i++)
		if (!strcmp(name, family_names[i]))
			return i;
	return -1;
}

const char *chat_family_list(void)
{
	return "plain, llama3, chatml, mistral, llama2, phi3, gemma, zephyr, vicuna, deepseek, command-r";
}

const char *chat_family_stop(enum chat_family fam)
{
	switch (fam) {
	case CHAT_FAMILY_PLAIN: return "\nUser:";
	case CHAT_FAMILY_VICUNA: return "\nUSER:";
	default: return NULL;
	}
}

/* A family's prompt format.  In the strings, {bos} and {eos} stand for the
 * token texts and {role} for the message's role. */
struct family_style {
	bool bos_first;           /* the prompt starts with BOS */
	const char *system_open;  /* NULL: no system role; it is folded into the first user turn */
	const char *system_close;
	const char *fold;         /* how a folded system text precedes the user's (printf %s) */
	const char *user_open, *user_close;
	const char *assistant_open, *assistant_close;
	const char *generation;   /* opens the assistant's reply */
	bool trim;                /* contents are stripped of surrounding whitespace */
	bool role_headers;        /* any role is written as {role}; else others count as user */
};

#define DS_BAR "\xef\xbd\x9c" /* U+FF5C, DeepSeek's fullwidth bar */
static const struct family_style styles[CHAT_FAMILY_COUNT] = {
	[CHAT_FAMILY_PLAIN] = { false, "", "\n\n", NULL, "User: ", "\n", "Assistant: ", "\n", "Assistant:" },
	[CHAT_FAMILY_LLAMA3] = { true, "<|start_header_id|>{role}<|end_header_id|>\n\n", "<|eot_id|>", NULL,
				 "<|start_header_id|>{role}<|end_header_id|>\n\n", "<|eot_id|>",
				 "<|start_header_id|>{role}<|end_header_id|>\n\n", "<|eot_id|>",
				 "<|start_header_id|>assistant<|end_header_id|>\n\n", true, true },
	[CHAT_FAMILY_CHATML] = { false, "<|im_start|>{role}\n", "<|im_end|>\n", NULL, "<|im_start|>{role}\n",
				 "<|im_end|>\n", "<|im_start|>{role}\n", "<|im_end|>\n", "<|im_start|>assistant\n",
				 false, true },
	[CHAT_FAMILY_MISTRAL] = { true, NULL, NULL, "%s\n\n", "[INST] ", " [/INST]", "", "{eos}", "" },
	[CHAT_FAMILY_LLAMA2] = { false, NULL, NULL, "<<SYS>>\n%s\n<</SYS>>\n\n", "{bos}[INST] ", " [/INST]", " ",
				 " {eos}", "" },
	[CHAT_FAMILY_PHI3] = { false, "<|system|>\n", "<|end|>\n", NULL, "<|user|>\n", "<|end|>\n",
			       "<|assistant|>\n", "<|end|>\n", "<|assistant|>\n" },
	[CHAT_FAMILY_GEMMA] = { true, NULL, NULL, "%s\n\n", "<start_of_turn>user\n", "<end_of_turn>\n",
				"<start_of_turn>model\n", "<end_of_turn>\n", "<start_of_turn>model\n", true },
	[CHAT_FAMILY_ZEPHYR] = { false, "<|system|>\n", "{eos}\n", NULL, "<|user|>\n", "{eos}\n", "<|assistant|>\n",
				 "{eos}\n", "<|assistant|>\n" },
	[CHAT_FAMILY_VICUNA] = { false, "", "\n\n", NULL, "USER: ", "\n", "ASSISTANT: ", "{eos}\n", "ASSISTANT:" },
	[CHAT_FAMILY_DEEPSEEK] = { true, "", "", NULL, "<" DS_BAR "User" DS_BAR ">", "", "<" DS_BAR "Assistant" DS_BAR ">",
				   "<" DS_BAR "end\xe2\x96\x81of\xe2\x96\x81sentence" DS_BAR ">",
				   "<" DS_BAR "Assistant" DS_BAR ">" },
	[CHAT_FAMILY_COMMAND_R] = { true, "<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>", "<|END_OF_TURN_TOKEN|>", NULL,
				    "<|START_OF_TURN_TOKEN|><|USER_TOKEN|>", "<|END_OF_TURN_TOKEN|>",
				    "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>", "<|END_OF_TURN_TOKEN|>",
				    "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>" },
};

static const char *field(json_object *msg, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(msg, key, &v) || !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

/* Appends a style string with its placeholders filled in. */
static void put_style(struct strbuf *b, const char *s, const char *role, const char *bos, const char *eos)
{
	while (*s) {
		const char *fill = NULL;
		size_t skip = 0;
		if (!strncmp(s, "{bos}", 5))
			fill = bos, skip = 5;
		else if (!strncmp(s, "{eos}", 5))
			fill = eos, skip = 5;
		else if (!strncmp(s, "{role}", 6))
			fill = role, skip = 6;
		if (fill) {
			strbuf_append(b, fill, strlen(fill));
			s += skip;
		} else {
			strbuf_append(b, s++, 1);
		}
	}
}

/* Appends a message's content, stripped of surrounding whitespace if asked. */
static void put_content(struct strbuf *b, const char *s, bool trim)
{
	size_t len = strlen(s);
	if (trim) {
		while (len && strchr(" \t\n\r", s[len - 1]))
			len--;
		while (len && strchr(" \t\n\r", *s))
			s++, len--;
	}
	strbuf_append(b, s, len);
}

void chat_family_render(enum chat_family fam, json_object *messages, bool add_generation_prompt,
			const char *bos, const char *eos, struct strbuf *out)
{
	const struct family_style *st = &styles[fam];
	const char *folded = NULL; /* a system text waiting for the first user turn */
	bos = bos ? bos : "";
	eos = eos ? eos : "";
	if (st->bos_first)
		strbuf_append(out, bos, strlen(bos));
	size_t n = json_object_array_length(messages);
	for (size_t i = 0; i < n; i++) {
		json_object *msg = json_object_array_get_idx(messages, i);
		const char *role = field(msg, "role"), *content = field(msg, "content");
		const char *open = st->user_open, *close = st->user_close;
		if (!strcmp(role, "system")) {
			if (!st->system_open) {
				folded = content;
				continue;
			}
			open = st->system_open, close = st->system_close;
		} else if (!strcmp(role, "assistant")) {
			open = st->assistant_open, close = st->assistant_close;
		} else if (!st->role_headers) {
			role = "user";
		}
		put_style(out, open, role, bos, eos);
		if (folded && open == st->user_open) {
			struct strbuf sys = { 0 };
			put_content(&sys, folded, st->trim);
			const char *split = strstr(st->fold, "%s");
			strbuf_append(out, st->fold, (size_t)(split - st->fold));
			strbuf_append(out, sys.data, sys.len);
			strbuf_append(out, split + 2, strlen(split + 2));
			strbuf_free(&sys);
			folded = NULL;
		}
		put_content(out, content, st->trim);
		put_style(out, close, role, bos, eos);
	}
	if (add_generation_prompt)
		put_style(out, st->generation, "assistant", bos, eos);
}

static bool has_token(const struct tokenizer *t, const char *text)
{
	return t && strmap_get(&t->index, text, strlen(text)) >= 0;
}

/* The family whose markers appear in the template text or, failing that,
 * in the vocabulary. */
static enum chat_family detect_family(const char *tmpl, const struct tokenizer *t)
{
	static const struct {
		const char *marker, *also;
		enum chat_family family;
	} rules[] = {
		{ "<|start_header_id|>", NULL, CHAT_FAMILY_LLAMA3 },
		{ "<|im_start|>", NULL, CHAT_FAMILY_CHATML },
		{ "<start_of_turn>", NULL, CHAT_FAMILY_GEMMA },
		{ "<|START_OF_TURN_TOKEN|>", NULL, CHAT_FAMILY_COMMAND_R },
		{ "<" DS_BAR "User" DS_BAR ">", NULL, CHAT_FAMILY_DEEPSEEK },
		{ "<<SYS>>", NULL, CHAT_FAMILY_LLAMA2 },
		{ "[INST]", NULL, CHAT_FAMILY_MISTRAL },
		{ "<|user|>", "<|end|>", CHAT_FAMILY_PHI3 },
		{ "<|user|>", NULL, CHAT_FAMILY_ZEPHYR },
		{ "USER:", "ASSISTANT:", CHAT_FAMILY_VICUNA },
	};
	for (size_t i = 0; tmpl && i < ARRAY_LEN(rules); i++)
		if (strstr(tmpl, rules[i].marker) && (!rules[i].also || strstr(tmpl, rules[i].also)))
			return rules[i].family;
	for (size_t i = 0; i < ARRAY_LEN(rules); i++)
		if (has_token(t, rules[i].marker) && (!rules[i].also || has_token(t, rules[i].also)))
			return rules[i].family;
	return CHAT_FAMILY_PLAIN;
}

static char *token_text(const struct tokenizer *t, int32_t id)
{
	return id >= 0 ? xstrndup(t->text[id].ptr, t->text[id].len) : xstrdup("");
}

int chat_format_init(struct chat_format *f, const struct model *m, const char *override)
{
	const struct tokenizer *t = m->tokenizer;
	*f = (struct chat_format){ 0 };
	f->bos = token_text(t, t->bos);
	f->eos = token_text(t, t->eos);
	f->note_new = true;
	if (override) {
		int fam = chat_family_find(override);
		if (fam >= 0) {
			f->family = (enum chat_family)fam;
			snprintf(f->note, sizeof f->note, "chat format: built-in %s (--chat-template)", override);
			return 0;
		}
		f->template_src = read_file(override, NULL);
		if (!f->template_src) {
			chat_format_free(f);
			return error("--chat-template: '%s' is neither a format (%s) nor a readable file", override,
				     chat_family_list());
		}
		f->family = detect_family(f->template_src, t);
		snprintf(f->note, sizeof f->note, "chat format: template from '%s'", override);
		return 0;
	}
	struct gguf_str tmpl;
	if (gguf_get_str(m->gguf, "tokenizer.chat_template", &tmpl) == 1 && tmpl.len > 0) {
		f->template_src = xstrndup(tmpl.ptr, tmpl.len);
		f->family = detect_family(f->template_src, t);
		snprintf(f->note, sizeof f->note, "chat format: the model's template");
	} else {
		f->family = detect_family(NULL, t);
		snprintf(f->note, sizeof f->note, "chat format: built-in %s (the model has no chat template)",
			 chat_family_name(f->family));
	}
	return 0;
}

void chat_format_free(struct chat_format *f)
{
	if (!f)
		return;
	free(f->template_src);
	free(f->bos);
	free(f->eos);
	f->template_src = f->bos = f->eos = NULL;
}

/* A copy of messages with the system message's text put before the first
 * user message's, for templates that refuse a system role. */
static json_object *fold_system(json_object *messages)
{
	json_object *out = json_object_new_array();
	const char *system = NULL;
	for (size_t i = 0; i < json_object_array_length(messages); i++) {
		json_object *m = json_object_array_get_idx(messages, i);
		const char *role = field(m, "role");
		if (!strcmp(role, "system")) {
			system = field(m, "content");
			continue;
		}
		if (system && !strcmp(role, "user")) {
			struct strbuf text = { 0 };
			strbuf_append(&text, system, strlen(system));
			strbuf_append(&text, "\n\n", 2);
			strbuf_append(&text, field(m, "content"), strlen(field(m, "content")));
			json_object *u = json_object_new_object();
			json_object_object_add(u, "role", json_object_new_string("user"));
			json_object_object_add(u, "content", json_object_new_string(text.data));
			json_object_array_add(out, u);
			strbuf_free(&text);
			system = NULL;
			continue;
		}
		json_object_array_add(out, json_object_get(m));
	}
	return out;
}

static bool has_system(json_object *messages)
{
	for (size_t i = 0; i < json_object_array_length(messages); i++)
		if (!strcmp(field(json_object_array_get_idx(messages, i), "role"), "system"))
			return true;
	return false;
}

static void set_note(struct chat_format *f, bool warn, const char *text)
{
	snprintf(f->note, sizeof f->note, "%s", text);
	f->note_new = true;
	f->note_warn = warn;
}

void chat_format_render(struct chat_format *f, json_object *messages, bool add_generation_prompt,
		       struct strbuf *out)
{
	if (f->template_src) {
		struct template_vars vars = { .bos_token = f->bos, .eos_token = f->eos,
					      .add_generation_prompt = add_generation_prompt };
		bool fold = f->fold_system && has_system(messages);
		json_object *msgs = fold ? fold_system(messages) : json_object_get(messages);
		int rc = template_render(f->template_src, msgs, &vars, out);
		json_object_put(msgs);
		if (rc < 0 && !fold && has_system(messages)) {
			msgs = fold_system(messages);
			rc = template_render(f->template_src, msgs, &vars, out);
			json_object_put(msgs);
			if (rc == 0) {
				f->fold_system = true;
				set_note(f, true, "chat format: the model's template refuses a system prompt; "
						  "it is put at the start of the first user message instead");
			}
		}
		if (rc == 0)
			return;
		char note[sizeof f->note];
		snprintf(note, sizeof note, "chat format: the model's template failed (%s); using the built-in %s "
			 "format instead", error_message(), chat_family_name(f->family));
		set_note(f, true, note);
		free(f->template_src);
		f->template_src = NULL;
	}
	chat_family_render(f->family, messages, add_generation_prompt, f->bos, f->eos, out);
}
