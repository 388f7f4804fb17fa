/* engine.c - the engine thread: load the model (reporting progress), then
 * serve requests one at a time, streaming replies as events. */
#include "config.h"

#include "chat/engine.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant/quant.h"
#include "chat/slash.h"
#include "base/sigbus.h"
#include "base/util.h"

enum request_kind { REQUEST_NONE, REQUEST_SEND, REQUEST_COMMAND, REQUEST_QUIT };

struct engine {
	struct engine_config cfg;
	struct evq *q;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	enum request_kind request; /* the slot: REQUEST_NONE when free */
	char *request_text;
	atomic_bool cancel;
	struct engine_info info;
	struct model *model;
	struct context *ctx;
	struct chat *chat;
	bool autosave_failed;
};

static void post(struct engine *e, enum event_kind kind, const char *text)
{
	struct event ev = { .kind = kind };
	evq_push(e->q, &ev, text, text ? strlen(text) : 0);
}

static void post_conversation(struct engine *e)
{
	post(e, EVENT_CONVERSATION, json_object_to_json_string_ext(e->chat->messages, JSON_C_TO_STRING_PLAIN));
}

static void on_progress(void *arg, double fraction)
{
	struct engine *e = arg;
	struct event ev = { .kind = EVENT_PROGRESS, .progress = fraction };
	evq_push(e->q, &ev, NULL, 0);
}

static void fill_info(struct engine *e)
{
	struct engine_info *in = &e->info;
	const struct model *m = e->model;
	snprintf(in->name, sizeof in->name, "%s", m->name);
	uint32_t ftype;
	const char *q = gguf_get_u32(m->gguf, "general.file_type", &ftype) == 1 ? quant_file_type_name(ftype) : NULL;
	snprintf(in->quant, sizeof in->quant, "%s", q ? q : quant_name(m->tok_embd.type));
	snprintf(in->backend, sizeof in->backend, "%s", e->ctx->be->description);
	snprintf(in->backend_reason, sizeof in->backend_reason, "%s", e->ctx->backend_reason);
	snprintf(in->format, sizeof in->format, "%s", e->chat->format.note);
	in->n_ctx = e->ctx->n_ctx;
	in->weight_bytes = m->weight_bytes;
	in->kv_bytes = model_kv_bytes(m, e->ctx->n_ctx);
	struct backend *be = e->ctx->be;
	in->gpu_bytes = be->ops->device_memory ? be->ops->device_memory(be) : 0;
}

static bool load(struct engine *e)
{
	const struct engine_config *c = &e->cfg;
	e->model = model_load(c->model_path, MODEL_LOAD_FULL);
	if (!e->model) {
		error_prefix("'%s'", c->model_path);
		return false;
	}
	/* before the prefetch reads more than the machine holds */
	uint32_t n_ctx = c->ctx.n_ctx ? c->ctx.n_ctx : model_default_ctx(e->model);
	if (context_memory_check(&c->ctx, e->model, n_ctx) < 0)
		return false;
	model_prefetch(e->model, on_progress, e);
	if (!(e->ctx = context_init(e->model, &c->ctx)) || !(e->chat = chat_init(e->model, e->ctx, &c->chat, c->system)))
		return false;
	e->chat->format.note_new = false; /* the status shows it */
	fill_info(e);
	char warning[512];
	if (context_backend_warning(e->ctx, warning, sizeof warning))
		post(e, EVENT_NOTICE, warning);
	if (c->resume && chat_load(e->chat, c->resume) < 0) {
		char msg[640];
		snprintf(msg, sizeof msg, "cannot resume: %s", error_message());
		post(e, EVENT_ERROR, msg);
	}
	return true;
}

static void on_text(void *arg, const char *text, size_t len)
{
	struct engine *e = arg;
	struct event ev = { .kind = EVENT_TEXT };
	evq_push(e->q, &ev, text, len);
}

static void autosave(struct engine *e)
{
	if (!e->cfg.autosave || chat_save(e->chat, e->cfg.autosave) == 0 || e->autosave_failed)
		return;
	char msg[640];
	snprintf(msg, sizeof msg, "cannot autosave the conversation: %s", error_message());
	post(e, EVENT_NOTICE, msg);
	e->autosave_failed = true;
}

static void notices(struct engine *e)
{
	const struct chat_stats *s = &e->chat->last;
	struct chat_format *f = &e->chat->format;
	char msg[640];
	if (f->note_new && f->note_warn) {
		post(e, EVENT_NOTICE, f->note);
		snprintf(e->info.format, sizeof e->info.format, "%s", f->note);
		f->note_new = false;
	}
	if (s->dropped_turns) {
		snprintf(msg, sizeof msg, "the context was full: the %d oldest turn%s dropped (the system prompt is kept)",
			 s->dropped_turns, s->dropped_turns == 1 ? " was" : "s were");
		post(e, EVENT_NOTICE, msg);
	}
	if (s->context_full)
		post(e, EVENT_NOTICE, "the reply was cut short: the context is full");
}

static void serve_send(struct engine *e, const char *text)
{
	if (chat_send(e->chat, text, on_text, e, &e->cancel) < 0) {
		post(e, EVENT_ERROR, error_message());
		return;
	}
	autosave(e);
	notices(e);
}

static void serve_command(struct engine *e, const char *line)
{
	struct strbuf out = { 0 };
	enum slash_result r = slash_run(e->chat, line, &out);
	if (r == SLASH_QUIT) {
		post(e, EVENT_QUIT, NULL);
	} else {
		/* The command name: /clear and /load replace what the screen shows. */
		if (!strncmp(line, "/clear", 6) || !strncmp(line, "/load ", 6))
			post_conversation(e);
		if (out.len && out.data[out.len - 1] == '\n')
			out.data[--out.len] = '\0';
		post(e, EVENT_REPORT, out.data ? out.data : "");
		autosave(e);
	}
	strbuf_free(&out);
}

static void *engine_main(void *arg)
{
	struct engine *e = arg;
	bool ready = load(e);
	if (ready) {
		post(e, EVENT_READY, NULL);
		if (e->cfg.resume)
			post_conversation(e);
	} else {
		post(e, EVENT_ERROR, error_message());
	}
	pthread_mutex_lock(&e->lock);
	for (;;) {
		while (e->request == REQUEST_NONE)
			pthread_cond_wait(&e->wake, &e->lock);
		enum request_kind kind = e->request;
		char *text = e->request_text;
		e->request_text = NULL;
		pthread_mutex_unlock(&e->lock);
		if (kind == REQUEST_QUIT) {
			free(text);
			break;
		}
		if (!ready)
			post(e, EVENT_ERROR, "no model is loaded");
		else if (kind == REQUEST_SEND)
			serve_send(e, text);
		else
			serve_command(e, text);
		free(text);
		/* The slot is free before the UI hears that the request is done,
		 * so it can send the next one at once. */
		pthread_mutex_lock(&e->lock);
		if (e->request != REQUEST_QUIT) /* engine_stop may have asked meanwhile */
			e->request = REQUEST_NONE;
		pthread_mutex_unlock(&e->lock);
		struct event done = { .kind = EVENT_DONE };
		if (ready) {
			done.stats = e->chat->last;
			done.n_past = e->ctx->n_past;
		}
		evq_push(e->q, &done, NULL, 0);
		pthread_mutex_lock(&e->lock);
	}
	return NULL;
}

struct engine *engine_start(const struct engine_config *cfg, struct evq *q)
{
	struct engine *e = xcalloc(1, sizeof *e);
	e->cfg = *cfg;
	e->q = q;
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->wake, NULL);
	/* The engine never handles signals: the UI thread owns them. */
	sigset_t all, old;
	sigbus_worker_mask(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&e->thread, NULL, engine_main, e);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		error("cannot start the engine thread: %s", strerror(rc));
		pthread_mutex_destroy(&e->lock);
		pthread_cond_destroy(&e->wake);
		free(e);
		return NULL;
	}
	return e;
}

static bool request(struct engine *e, enum request_kind kind, const char *text)
{
	pthread_mutex_lock(&e->lock);
	bool free_slot = e->request == REQUEST_NONE;
	if (free_slot) {
		atomic_store(&e->cancel, false); /* a Ctrl-C from now on stops this request */
		e->request = kind;
		e->request_text = text ? xstrdup(text) : NULL;
		pthread_cond_signal(&e->wake);
	}
	pthread_mutex_unlock(&e->lock);
	return free_slot;
}

bool engine_send(struct engine *e, const char *text)
{
	return request(e, REQUEST_SEND, text);
}

bool engine_command(struct engine *e, const char *line)
{
	return request(e, REQUEST_COMMAND, line);
}

void engine_cancel(struct engine *e)
{
	atomic_store(&e->cancel, true);
}

void engine_stop(struct engine *e)
{
	if (!e)
		return;
	engine_cancel(e);
	pthread_mutex_lock(&e->lock);
	/* QUIT overrides whatever waits in the slot; a running request ends at
	 * the next token, as cancel is set. */
	free(e->request_text);
	e->request_text = NULL;
	e->request = REQUEST_QUIT;
	pthread_cond_signal(&e->wake);
	pthread_mutex_unlock(&e->lock);
	pthread_join(e->thread, NULL);
	chat_free(e->chat);
	context_free(e->ctx);
	model_free(e->model);
	pthread_mutex_destroy(&e->lock);
	pthread_cond_destroy(&e->wake);
	free(e);
}

const struct engine_info *engine_info(const struct engine *e)
{
	return &e->info;
}
