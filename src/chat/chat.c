/* chat.c - conversation turns over a context: render the whole conversation,
 * evaluate only the tokens after the part already in the KV cache, drop the
 * oldest turns when the context is full, and stream the reply. */
#include "config.h"

#include "chat/chat.h"

#include <stdlib.h>
#include <string.h>

#include "chat/stop.h"
#include "text/utf8.h"
#include "base/util.h"

static json_object *message_new(const char *role, const char *content)
{
	json_object *m = json_object_new_object();
	json_object_object_add(m, "role", json_object_new_string(role));
	json_object_object_add(m, "content", json_object_new_string(content));
	return m;
}

static const char *message_role(json_object *m)
{
	json_object *v;
	return json_object_object_get_ex(m, "role", &v) ? json_object_get_string(v) : "";
}

static bool has_system(const struct chat *c)
{
	return json_object_array_length(c->messages) > 0 &&
	       !strcmp(message_role(json_object_array_get_idx(c->messages, 0)), "system");
}

struct chat *chat_init(struct model *m, struct context *ctx, const struct chat_options *o, const char *system)
{
	struct chat *c = xcalloc(1, sizeof *c);
	c->model = m;
	c->ctx = ctx;
	c->opts = *o;
	if (chat_format_init(&c->format, m, o->chat_template) < 0) {
		free(c);
		return NULL;
	}
	c->sampler = sampler_init(&o->sampling, (int32_t)m->hp.n_vocab);
	c->messages = json_object_new_array();
	chat_set_system(c, system);
	return c;
}

void chat_free(struct chat *c)
{
	if (!c)
		return;
	chat_format_free(&c->format);
	sampler_free(c->sampler);
	json_object_put(c->messages);
	free(c->cached);
	free(c);
}

void chat_set_system(struct chat *c, const char *system)
{
	if (has_system(c))
		json_object_array_del_idx(c->messages, 0, 1);
	if (!system || !*system)
		return;
	/* json-c 0.16 cannot insert at the front: rebuild the list. */
	json_object *msgs = json_object_new_array();
	json_object_array_add(msgs, message_new("system", system));
	for (size_t i = 0; i < json_object_array_length(c->messages); i++)
		json_object_array_add(msgs, json_object_get(json_object_array_get_idx(c->messages, i)));
	json_object_put(c->messages);
	c->messages = msgs;
}

void chat_clear(struct chat *c)
{
	size_t keep = has_system(c) ? 1 : 0;
	size_t n = json_object_array_length(c->messages);
	if (n > keep)
		json_object_array_del_idx(c->messages, keep, n - keep);
	c->last = (struct chat_stats){ 0 };
}

void chat_set_sampling(struct chat *c, const struct sampler_params *p)
{
	c->opts.sampling = *p;
	sampler_free(c->sampler);
	c->sampler = sampler_init(p, (int32_t)c->model->hp.n_vocab);
}

/* Where each message's text stands in the rendered prompt, searched in
 * order; a message whose text the template changed beyond trimming is not
 * found and not protected. */
static size_t find_contents(json_object *messages, const char *prompt, struct text_span *spans, size_t max)
{
	size_t n = 0, cursor = 0, len = strlen(prompt);
	for (size_t i = 0; i < json_object_array_length(messages) && n < max; i++) {
		json_object *v;
		if (!json_object_object_get_ex(json_object_array_get_idx(messages, i), "content", &v))
			continue;
		const char *content = json_object_get_string(v);
		size_t clen = strlen(content);
		while (clen && strchr(" \t\n\r", content[clen - 1]))
			clen--;
		while (clen && strchr(" \t\n\r", *content))
			content++, clen--;
		const char *at = clen ? memmem(prompt + cursor, len - cursor, content, clen) : NULL;
		if (at) {
			spans[n++] = (struct text_span){ (size_t)(at - prompt), clen };
			cursor = (size_t)(at - prompt) + clen;
		}
	}
	return n;
}

/* Tokenizes a rendered prompt: the format's special-token text becomes
 * special tokens, the messages' text stays text; BOS is added when the
 * vocabulary wants it and the format did not write it already. */
static void tokenize_prompt(const struct chat *c, const char *text, int32_t **ids, size_t *n, size_t *cap)
{
	const struct tokenizer *t = c->model->tokenizer;
	size_t n_msgs = json_object_array_length(c->messages);
	struct text_span *plain = xmalloc((n_msgs + 1) * sizeof *plain);
	size_t n_plain = find_contents(c->messages, text, plain, n_msgs);
	*n = 0;
	tokenizer_encode(t, "", 0, TOKENIZE_ADD_BOS, ids, n, cap);
	tokenizer_encode_spans(t, text, strlen(text), TOKENIZE_PARSE_SPECIAL, plain, n_plain, ids, n, cap);
	if (*n >= 2 && (*ids)[0] == t->bos && (*ids)[1] == t->bos) {
		memmove(*ids, *ids + 1, (*n - 1) * sizeof **ids);
		(*n)--;
	}
	free(plain);
}

/* Removes the oldest turn: the first user message after the system
 * message and the replies up to the next user message.  false when only
 * the last user message is left. */
static bool drop_oldest_turn(struct chat *c)
{
	size_t first = has_system(c) ? 1 : 0, n = json_object_array_length(c->messages);
	size_t end = first + 1;
	while (end < n && strcmp(message_role(json_object_array_get_idx(c->messages, end)), "user"))
		end++;
	if (end >= n)
		return false;
	json_object_array_del_idx(c->messages, first, end - first);
	return true;
}

/* Makes the KV cache hold exactly ids[0..n), evaluating only what differs
 * from what it holds. */
static int sync_cache(struct chat *c, const int32_t *ids, size_t n)
{
	size_t common = 0;
	while (common < n && common < c->n_cached && c->cached[common] == ids[common])
		common++;
	if (common == n && n > 0)
		common--; /* the last token is evaluated again for its logits */
	context_truncate(c->ctx, (uint32_t)common);
	c->n_cached = common;
	c->last.prompt_evaluated = n - common;
	if (n > common && context_eval(c->ctx, ids + common, n - common) < 0)
		return -1;
	if (n > c->cap_cached) {
		c->cap_cached = n + 256;
		c->cached = xrealloc(c->cached, c->cap_cached * sizeof *c->cached);
	}
	memcpy(c->cached + common, ids + common, (n - common) * sizeof *ids);
	c->n_cached = n;
	for (size_t i = common; i < n; i++)
		sampler_accept(c->sampler, ids[i]);
	return 0;
}

static void cache_push(struct chat *c, int32_t id)
{
	if (c->n_cached == c->cap_cached) {
		c->cap_cached = c->cap_cached * 2 + 256;
		c->cached = xrealloc(c->cached, c->cap_cached * sizeof *c->cached);
	}
	c->cached[c->n_cached++] = id;
}

/* Renders the conversation and brings the cache in step with it, dropping
 * old turns until the prompt leaves `reserve` positions for the reply. */
static int prepare_prompt(struct chat *c, bool add_generation_prompt, size_t reserve)
{
	struct strbuf prompt = { 0 };
	int32_t *ids = NULL;
	size_t n = 0, cap = 0;
	int rc = -1;
	for (;;) {
		prompt.len = 0;
		chat_format_render(&c->format, c->messages, add_generation_prompt, &prompt);
		tokenize_prompt(c, prompt.data ? prompt.data : "", &ids, &n, &cap);
		if (n + reserve <= c->ctx->n_ctx)
			break;
		if (!drop_oldest_turn(c)) {
			error("the message is too long: the prompt needs %zu tokens, the context holds %u "
			      "(try a larger --ctx-size)", n + reserve, c->ctx->n_ctx);
			goto done;
		}
		c->last.dropped_turns++;
	}
	c->last.prompt_tokens = n;
	double t0 = now_seconds();
	rc = sync_cache(c, ids, n);
	c->last.prompt_seconds = now_seconds() - t0;
done:
	free(ids);
	strbuf_free(&prompt);
	return rc;
}

/* Generates the reply after the prompt now in the cache. */
static void generate(struct chat *c, struct strbuf *reply, chat_output_fn *out, void *arg, const atomic_bool *cancel)
{
	const struct tokenizer *t = c->model->tokenizer;
	const char *stops[16];
	size_t n_stops = 0;
	for (size_t i = 0; i < c->opts.n_stops && n_stops < ARRAY_LEN(stops) - 1; i++)
		stops[n_stops++] = c->opts.stops[i];
	if (chat_family_stop(c->format.family) && !c->format.template_src)
		stops[n_stops++] = chat_family_stop(c->format.family);
	struct stop_filter stop = { stops, n_stops, { 0 }, false };
	struct utf8_stream u8 = { 0 };
	struct strbuf piece = { 0 }, text = { 0 };
	double t0 = now_seconds();
	int32_t id = -1;
	size_t n_gen = 0;

	for (;;) {
		if (cancel && atomic_load(cancel)) {
			c->last.cancelled = true;
			break;
		}
		if (c->opts.n_predict >= 0 && n_gen >= (size_t)c->opts.n_predict)
			break;
		if (id >= 0) { /* feed back the token just shown */
			if (c->ctx->n_past >= c->ctx->n_ctx) {
				c->last.context_full = true;
				break;
			}
			if (context_eval(c->ctx, &id, 1) < 0)
				break;
			cache_push(c, id);
		}
		id = sampler_sample(c->sampler, c->ctx->logits);
		sampler_accept(c->sampler, id);
		n_gen++;
		if (tokenizer_is_eog(t, id))
			break;
		piece.len = text.len = 0;
		tokenizer_piece(t, id, false, &piece);
		struct strbuf valid = { 0 };
		utf8_stream_push(&u8, piece.data, piece.len, &valid);
		stop_filter_push(&stop, valid.data, valid.len, &text);
		strbuf_free(&valid);
		/* A reply starts at its first visible character. */
		size_t skip = 0;
		while (reply->len == 0 && skip < text.len && strchr(" \n\r\t", text.data[skip]))
			skip++;
		if (text.len > skip) {
			strbuf_append(reply, text.data + skip, text.len - skip);
			out(arg, text.data + skip, text.len - skip);
		}
		if (stop.hit)
			break;
	}
	text.len = 0;
	struct strbuf tail = { 0 };
	utf8_stream_flush(&u8, &tail);
	stop_filter_push(&stop, tail.data, tail.len, &text);
	stop_filter_flush(&stop, &text);
	if (text.len && (reply->len || text.data[strspn(text.data, " \n\r\t")])) {
		strbuf_append(reply, text.data, text.len);
		out(arg, text.data, text.len);
	}
	c->last.reply_tokens = n_gen;
	c->last.reply_seconds = now_seconds() - t0;
	strbuf_free(&tail);
	strbuf_free(&piece);
	strbuf_free(&text);
	stop_filter_free(&stop);
}

int chat_send(struct chat *c, const char *text, chat_output_fn *out, void *arg, const atomic_bool *cancel)
{
	c->last = (struct chat_stats){ 0 };
	json_object_array_add(c->messages, message_new("user", text));
	/* Room for the reply: what -n asks, or 256 tokens, at most a quarter of the context. */
	size_t reserve = c->opts.n_predict > 0 ? (size_t)c->opts.n_predict : 256;
	if (reserve > c->ctx->n_ctx / 4)
		reserve = c->ctx->n_ctx / 4;
	if (prepare_prompt(c, true, reserve) < 0) {
		size_t n = json_object_array_length(c->messages);
		json_object_array_del_idx(c->messages, n - 1, 1);
		return -1;
	}

	struct strbuf reply = { 0 };
	generate(c, &reply, out, arg, cancel);
	json_object_array_add(c->messages, message_new("assistant", reply.data ? reply.data : ""));
	strbuf_free(&reply);
	return 0;
}

const char *chat_last_reply(const struct chat *c)
{
	size_t n = json_object_array_length(c->messages);
	if (n == 0)
		return NULL;
	json_object *v;
	json_object *m = json_object_array_get_idx(c->messages, n - 1);
	return json_object_object_get_ex(m, "content", &v) ? json_object_get_string(v) : NULL;
}

int chat_save(const struct chat *c, const char *path)
{
	const char *json = json_object_to_json_string_ext(c->messages, JSON_C_TO_STRING_PRETTY |
								       JSON_C_TO_STRING_SPACED |
								       JSON_C_TO_STRING_NOSLASHESCAPE);
	struct strbuf b = { 0 };
	strbuf_append(&b, json, strlen(json));
	strbuf_append(&b, "\n", 1);
	int rc = write_file_atomic(path, b.data, b.len);
	strbuf_free(&b);
	return rc;
}

/* A list of {role, content} objects with string values, or an error. */
static int check_messages(json_object *msgs)
{
	if (!msgs || !json_object_is_type(msgs, json_type_array))
		return error("expected a JSON list of messages");
	for (size_t i = 0; i < json_object_array_length(msgs); i++) {
		json_object *m = json_object_array_get_idx(msgs, i), *v;
		if (!json_object_is_type(m, json_type_object))
			return error("message %zu is not an object", i + 1);
		if (!json_object_object_get_ex(m, "role", &v) || !json_object_is_type(v, json_type_string))
			return error("message %zu has no \"role\" string", i + 1);
		if (!json_object_object_get_ex(m, "content", &v) || !json_object_is_type(v, json_type_string))
			return error("message %zu has no \"content\" string", i + 1);
	}
	return 0;
}

int chat_load(struct chat *c, const char *path)
{
	size_t len;
	char *text = read_file(path, &len);
	if (!text)
		return -1;
	struct json_tokener *tok = json_tokener_new();
	json_object *msgs = json_tokener_parse_ex(tok, text, (int)(len < INT32_MAX ? len : INT32_MAX));
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	json_tokener_free(tok);
	free(text);
	if (jerr != json_tokener_success) {
		json_object_put(msgs);
		return error("'%s': invalid JSON: %s", path, json_tokener_error_desc(jerr));
	}
	if (check_messages(msgs) < 0) {
		json_object_put(msgs);
		return error_prefix("'%s'", path);
	}
	json_object *old = c->messages;
	c->messages = msgs;
	c->last = (struct chat_stats){ 0 };
	if (prepare_prompt(c, false, 0) < 0) {
		c->messages = old;
		json_object_put(msgs);
		return -1;
	}
	json_object_put(old);
	return 0;
}
