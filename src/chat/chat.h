/* chat.h - a conversation with a model: the messages, their prompt in the
 * model's format, and the KV cache kept in step with it, so each turn only
 * evaluates what is new.  No terminal code: the REPL and the TUI drive it. */
#ifndef NIBBLE_CHAT_H
#define NIBBLE_CHAT_H

#include <json-c/json.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chat/format.h"
#include "model/context.h"
#include "model/sampler.h"

struct chat_options {
	struct sampler_params sampling;
	int32_t n_predict;         /* most tokens per reply; -1: until the turn ends */
	const char *const *stops;  /* extra stop strings (not owned) */
	size_t n_stops;
	const char *chat_template; /* --chat-template NAME|FILE, or NULL */
};

/* What the last turn did. */
struct chat_stats {
	size_t prompt_tokens;      /* tokens of the whole prompt */
	size_t prompt_evaluated;   /* of which evaluated (the rest came from the cache) */
	double prompt_seconds;
	size_t reply_tokens;
	double reply_seconds;
	int dropped_turns;         /* old turns dropped to fit the context */
	bool cancelled;            /* stopped by the user */
	bool context_full;         /* stopped because the context filled */
};

struct chat {
	struct model *model;       /* not owned */
	struct context *ctx;       /* not owned */
	struct chat_options opts;
	struct chat_format format;
	struct sampler *sampler;
	json_object *messages;     /* [{role, content}], a system message first if any */
	int32_t *cached;           /* the tokens whose keys and values are in ctx */
	size_t n_cached, cap_cached;
	struct chat_stats last;
};

/* Called with each piece of visible reply text, as it is produced. */
typedef void chat_output_fn(void *arg, const char *text, size_t len);

/* Sets up a conversation on model m and context ctx (both must outlive
 * it).  system may be NULL.  NULL with error(). */
struct chat *chat_init(struct model *m, struct context *ctx, const struct chat_options *o, const char *system);
void chat_free(struct chat *c);

/* Adds a user message and generates the reply, streaming it to out.  The
 * reply (also a partial one, when cancel is set or the context fills) is
 * added to the conversation.  0, or -1 with error() (then the user message is
 * not kept). */
int chat_send(struct chat *c, const char *text, chat_output_fn *out, void *arg, const atomic_bool *cancel);

/* Forgets the turns; keeps the system message. */
void chat_clear(struct chat *c);
/* Replaces the system message (NULL or "" removes it). */
void chat_set_system(struct chat *c, const char *system);
/* Applies new sampling settings from now on. */
void chat_set_sampling(struct chat *c, const struct sampler_params *p);

/* Writes the messages as JSON to path, atomically.  0 or -1 with error(). */
int chat_save(const struct chat *c, const char *path);
/* Replaces the conversation with the messages in path and evaluates them.
 * 0 or -1 with error() (the conversation is then unchanged). */
int chat_load(struct chat *c, const char *path);

/* The text of the last message, or NULL. */
const char *chat_last_reply(const struct chat *c);

#endif
