/* stop.h - holds back streamed text that could be the start of a stop
 * string, so a stop string is never shown, not even in part. */
#ifndef NIBBLE_STOP_H
#define NIBBLE_STOP_H

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

struct stop_filter {
	const char *const *stops; /* not owned */
	size_t n_stops;
	struct strbuf held;       /* text that may still turn into a stop string */
	bool hit;                 /* a stop string was completed */
};

/* Feeds text; appends to out what can safely be shown.  After a stop string
 * completes, hit is set and it and everything after it are dropped. */
void stop_filter_push(struct stop_filter *f, const char *text, size_t len, struct strbuf *out);
/* At the end of a reply: releases the held text (no stop string came). */
void stop_filter_flush(struct stop_filter *f, struct strbuf *out);
void stop_filter_free(struct stop_filter *f);

#endif
