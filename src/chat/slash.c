/* slash.c - /help /clear /system /save /load /set /stats /quit. */
#include "config.h"

#include "chat/slash.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const char help_text[] =
	"/help               this list\n"
	"/clear              forget the conversation (keeps the system prompt)\n"
	"/system [TEXT]      show or set the system prompt\n"
	"/save FILE          save the conversation as JSON\n"
	"/load FILE          continue a saved conversation\n"
	"/set [NAME VALUE]   show or change a sampling setting (" SAMPLER_PARAM_NAMES ")\n"
	"/stats              context use, speed of the last reply, memory\n"
	"/quit               leave (also Ctrl-D)\n"
	"Enter a line of \"\"\" to start and end a message of several lines.\n";

static void show_settings(const struct chat *c, struct strbuf *out)
{
	const struct sampler_params *p = &c->opts.sampling;
	strbuf_printf(out, "temp %g, top_k %d, top_p %g, min_p %g, repeat_penalty %g, repeat_last_n %d, seed %llu\n", p->temp,
	    p->top_k, p->top_p, p->min_p, p->repeat_penalty, p->repeat_last_n, (unsigned long long)p->seed);
}

static void show_stats(const struct chat *c, struct strbuf *out)
{
	const struct chat_stats *s = &c->last;
	char w[32], k[32];
	strbuf_printf(out, "context: %u of %u tokens used\n", c->ctx->n_past, c->ctx->n_ctx);
	if (s->prompt_tokens) {
		strbuf_printf(out, "last prompt: %zu tokens, %zu evaluated (%.1f tok/s), %zu reused from the cache\n",
		    s->prompt_tokens, s->prompt_evaluated, s->prompt_evaluated / (s->prompt_seconds + 1e-9),
		    s->prompt_tokens - s->prompt_evaluated);
	}
	if (s->reply_tokens)
		strbuf_printf(out, "last reply: %zu tokens in %.2f s (%.1f tok/s)\n", s->reply_tokens, s->reply_seconds,
		    s->reply_tokens / (s->reply_seconds + 1e-9));
	strbuf_printf(out, "memory: %s weights + %s KV cache; backend %s (%s)\n",
	    format_bytes(c->model->weight_bytes, w, sizeof w),
	    format_bytes(model_kv_bytes(c->model, c->ctx->n_ctx), k, sizeof k), c->ctx->be->description,
	    c->ctx->backend_reason);
	uint64_t rss = resident_bytes();
	if (rss)
		strbuf_printf(out, "resident: %s (all of nibble now)\n", format_bytes(rss, w, sizeof w));
}

enum slash_result slash_run(struct chat *c, const char *line, struct strbuf *out)
{
	if (line[0] != '/')
		return SLASH_NOT_A_COMMAND;
	char name[32];
	size_t n = strcspn(line + 1, " \t");
	if (n == 0 || n >= sizeof name) {
		strbuf_printf(out, "'%.40s' is not a command; /help lists them\n", line);
		return SLASH_DONE;
	}
	memcpy(name, line + 1, n);
	name[n] = '\0';
	const char *arg = line + 1 + n;
	while (isspace((unsigned char)*arg))
		arg++;

	if (!strcmp(name, "quit") || !strcmp(name, "exit")) {
		return SLASH_QUIT;
	} else if (!strcmp(name, "help")) {
		strbuf_printf(out, "%s", help_text);
	} else if (!strcmp(name, "clear")) {
		chat_clear(c);
		strbuf_printf(out, "conversation cleared\n");
	} else if (!strcmp(name, "system")) {
		if (*arg) {
			chat_set_system(c, arg);
			strbuf_printf(out, "system prompt set\n");
		} else {
			json_object *first = json_object_array_get_idx(c->messages, 0), *v;
			bool has = first && json_object_object_get_ex(first, "role", &v) &&
				   !strcmp(json_object_get_string(v), "system");
			if (has && json_object_object_get_ex(first, "content", &v))
				strbuf_printf(out, "system prompt: %s\n", json_object_get_string(v));
			else
				strbuf_printf(out, "no system prompt; /system TEXT sets one\n");
		}
	} else if (!strcmp(name, "save") || !strcmp(name, "load")) {
		if (!*arg)
			strbuf_printf(out, "/%s needs a file name\n", name);
		else if ((name[0] == 's' ? chat_save(c, arg) : chat_load(c, arg)) < 0)
			strbuf_printf(out, "%s failed: %s\n", name, error_message());
		else
			strbuf_printf(out, "%s '%s' (%zu messages)\n", name[0] == 's' ? "saved to" : "loaded", arg,
			    json_object_array_length(c->messages));
	} else if (!strcmp(name, "set")) {
		char key[32];
		size_t kn = strcspn(arg, " \t");
		const char *value = arg + kn;
		while (isspace((unsigned char)*value))
			value++;
		struct sampler_params p = c->opts.sampling;
		if (!*arg) {
			show_settings(c, out);
		} else if (kn >= sizeof key || !*value) {
			strbuf_printf(out, "usage: /set NAME VALUE (%s)\n", SAMPLER_PARAM_NAMES);
		} else {
			memcpy(key, arg, kn);
			key[kn] = '\0';
			if (sampler_param_set(&p, key, value) < 0) {
				strbuf_printf(out, "/set: %s\n", error_message());
			} else {
				chat_set_sampling(c, &p);
				show_settings(c, out);
			}
		}
	} else if (!strcmp(name, "stats")) {
		show_stats(c, out);
	} else {
		strbuf_printf(out, "unknown command '/%s'; /help lists them\n", name);
	}
	return SLASH_DONE;
}
