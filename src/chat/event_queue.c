/* evq.c - the engine-to-UI event queue. */
#include "config.h"

#include "chat/event_queue.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"

int evq_init(struct evq *q)
{
	*q = (struct evq){ 0 };
	if (pipe(q->pipe) < 0)
		return error("cannot create a pipe: %s", strerror(errno));
	for (int i = 0; i < 2; i++) {
		fcntl(q->pipe[i], F_SETFL, fcntl(q->pipe[i], F_GETFL) | O_NONBLOCK);
		fcntl(q->pipe[i], F_SETFD, FD_CLOEXEC);
	}
	pthread_mutex_init(&q->lock, NULL);
	return 0;
}

void evq_free(struct evq *q)
{
	if (!q || q->pipe[0] <= 0)
		return;
	evq_events_free(q->v, q->n);
	close(q->pipe[0]);
	close(q->pipe[1]);
	pthread_mutex_destroy(&q->lock);
	*q = (struct evq){ 0 };
}

void evq_push(struct evq *q, const struct event *e, const char *text, size_t len)
{
	struct event copy = *e;
	copy.text = text ? xstrndup(text, len) : NULL;
	copy.len = text ? len : 0;
	pthread_mutex_lock(&q->lock);
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 64;
		q->v = xrealloc(q->v, q->cap * sizeof *q->v);
	}
	q->v[q->n++] = copy;
	bool first = q->n == 1;
	pthread_mutex_unlock(&q->lock);
	/* One byte wakes the UI; more would only fill the pipe. */
	if (first && write(q->pipe[1], "", 1) < 0) {
		/* full: a wakeup is pending anyway */
	}
}

size_t evq_take(struct evq *q, struct event **out)
{
	char buf[64];
	while (read(q->pipe[0], buf, sizeof buf) > 0)
		;
	pthread_mutex_lock(&q->lock);
	*out = q->v;
	size_t n = q->n;
	q->v = NULL;
	q->n = q->cap = 0;
	pthread_mutex_unlock(&q->lock);
	return n;
}

void evq_events_free(struct event *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].text);
	free(v);
}
