/* engine.h - the inference thread of the full-screen chat: it alone loads
 * the model and runs the conversation; the UI sends it requests through one
 * request slot and hears back through the event queue. */
#ifndef NIBBLE_ENGINE_H
#define NIBBLE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "chat/chat.h"
#include "chat/event_queue.h"

struct engine_config {
	const char *model_path;
	struct context_params ctx;
	struct chat_options chat;  /* its stops must outlive the engine */
	const char *system;        /* or NULL */
	const char *resume;        /* a saved conversation to continue, or NULL */
	const char *autosave;      /* where each turn is saved, or NULL */
};

/* What the status bar shows; filled in before EVENT_READY. */
struct engine_info {
	char name[128];
	char quant[16];
	char backend[64];
	char backend_reason[200]; /* why that backend */
	char format[512];      /* how prompts are formatted */
	uint32_t n_ctx;
	uint64_t weight_bytes, kv_bytes;
	uint64_t gpu_bytes;    /* in the GPU's memory (0: CPU only) */
};

struct engine;

/* Starts the thread, which loads the model and then waits for requests.
 * NULL with error() when the thread cannot start. */
struct engine *engine_start(const struct engine_config *cfg, struct evq *q);
/* Cancels what runs, stops the thread and frees everything (e may be NULL). */
void engine_stop(struct engine *e);

/* Asks for a reply to text.  false when a request is still pending. */
bool engine_send(struct engine *e, const char *text);
/* Runs a slash command line.  false when a request is still pending. */
bool engine_command(struct engine *e, const char *line);
/* Stops the reply being written, within a token. */
void engine_cancel(struct engine *e);

/* Valid after EVENT_READY. */
const struct engine_info *engine_info(const struct engine *e);

#endif
