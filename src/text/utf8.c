/* utf8.c - streaming UTF-8 validation (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF). */
#include "config.h"

#include "text/utf8.h"

#include <stdbool.h>

#define REPLACEMENT "\xef\xbf\xbd"

static int sequence_length(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 0;
}

/* Whether c may follow the bytes already pending. */
static bool continues(const struct utf8_stream *u, unsigned char c)
{
	if (u->n_pending == 1) {
		switch (u->pending[0]) {
		case 0xe0: return c >= 0xa0 && c <= 0xbf; /* no overlongs */
		case 0xed: return c >= 0x80 && c <= 0x9f; /* no surrogates */
		case 0xf0: return c >= 0x90 && c <= 0xbf;
		case 0xf4: return c >= 0x80 && c <= 0x8f; /* <= U+10FFFF */
		}
	}
	return c >= 0x80 && c <= 0xbf;
}

void utf8_stream_push(struct utf8_stream *u, const char *data, size_t n, struct strbuf *out)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)data[i];
		if (u->n_pending > 0) {
			if (continues(u, c)) {
				u->pending[u->n_pending++] = c;
				if (u->n_pending == u->need) {
					strbuf_append(out, u->pending, (size_t)u->n_pending);
					u->n_pending = 0;
				}
				continue;
			}
			/* The pending character is broken; c starts afresh. */
			strbuf_append(out, REPLACEMENT, 3);
			u->n_pending = 0;
		}
		int len = sequence_length(c);
		if (len == 1) {
			strbuf_append(out, &c, 1);
		} else if (len == 0) {
			strbuf_append(out, REPLACEMENT, 3);
		} else {
			u->pending[0] = c;
			u->n_pending = 1;
			u->need = len;
		}
	}
}

void utf8_stream_flush(struct utf8_stream *u, struct strbuf *out)
{
	if (u->n_pending > 0)
		strbuf_append(out, REPLACEMENT, 3);
	u->n_pending = 0;
}
