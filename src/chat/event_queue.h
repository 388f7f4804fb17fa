/* evq.h - events from the engine thread to the UI thread: a locked FIFO
 * plus a pipe whose read end the UI poll()s, so a burst of events costs the
 * UI one wakeup and one redraw. */
#ifndef NIBBLE_EVQ_H
#define NIBBLE_EVQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chat/chat.h"

enum event_kind {
	EVENT_PROGRESS,     /* model loading: progress in [0, 1] */
	EVENT_READY,        /* the model is loaded; text describes it */
	EVENT_TEXT,         /* a piece of the reply (valid UTF-8) */
	EVENT_DONE,         /* the reply is complete: stats, n_past */
	EVENT_NOTICE,       /* something to tell the user */
	EVENT_ERROR,        /* something failed; text says what */
	EVENT_REPORT,       /* a slash command's output */
	EVENT_CONVERSATION, /* the conversation was replaced (/clear, /load, resume): text is its JSON */
	EVENT_QUIT,         /* /quit was asked for */
};

struct event {
	enum event_kind kind;
	char *text; /* owned by the event; NULL when there is none */
	size_t len;
	double progress;
	struct chat_stats stats;
	uint32_t n_past;
};

struct evq {
	pthread_mutex_t lock;
	struct event *v;
	size_t n, cap;
	int pipe[2]; /* [0]: the UI polls it; [1]: one byte per push */
};

/* 0, or -1 with error(). */
int evq_init(struct evq *q);
void evq_free(struct evq *q);

/* Queues a copy of e, with its own copy of text[0..len) (thread-safe). */
void evq_push(struct evq *q, const struct event *e, const char *text, size_t len);
/* Takes every queued event (the caller frees them with evq_events_free)
 * and clears the wakeup pipe. */
size_t evq_take(struct evq *q, struct event **out);
void evq_events_free(struct event *v, size_t n);

#endif
