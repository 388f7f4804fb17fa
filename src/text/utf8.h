/* utf8.h - incremental UTF-8 assembly: token pieces can end in the middle
 * of a character, so bytes are held back until the character is complete,
 * and anything invalid becomes U+FFFD. */
#ifndef NIBBLE_UTF8_H
#define NIBBLE_UTF8_H

#include <stddef.h>

#include "base/util.h"

struct utf8_stream {
	unsigned char pending[4];
	int n_pending; /* bytes of an unfinished character */
	int need;      /* its full length */
};

/* Appends the complete, valid characters of data (after what was pending)
 * to out; invalid bytes become U+FFFD; an unfinished tail is kept. */
void utf8_stream_push(struct utf8_stream *u, const char *data, size_t n, struct strbuf *out);
/* Emits U+FFFD for an unfinished tail, if any. */
void utf8_stream_flush(struct utf8_stream *u, struct strbuf *out);

#endif
