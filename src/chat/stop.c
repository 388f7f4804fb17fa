/* stop.c - stop strings over streamed text. */
#include "config.h"

#include "chat/stop.h"

#include <string.h>

void stop_filter_push(struct stop_filter *f, const char *text, size_t len, struct strbuf *out)
{
	if (f->hit)
		return;
	strbuf_append(&f->held, text, len);
	const char *h = f->held.data;
	size_t n = f->held.len;

	/* A complete stop string: show what precedes the earliest one. */
	size_t first = n;
	for (size_t i = 0; i < f->n_stops; i++) {
		size_t sl = strlen(f->stops[i]);
		const char *at = sl ? memmem(h, n, f->stops[i], sl) : NULL;
		if (at && (size_t)(at - h) < first)
			first = (size_t)(at - h);
	}
	if (first < n) {
		strbuf_append(out, h, first);
		f->hit = true;
		f->held.len = 0;
		return;
	}

	/* Keep the longest tail that begins some stop string. */
	size_t keep = 0;
	for (size_t i = 0; i < f->n_stops; i++) {
		size_t sl = strlen(f->stops[i]);
		if (sl == 0)
			continue;
		for (size_t k = sl > n ? n : sl - 1; k > keep; k--)
			if (memcmp(h + n - k, f->stops[i], k) == 0) {
				keep = k;
				break;
			}
	}
	strbuf_append(out, h, n - keep);
	memmove(f->held.data, h + n - keep, keep);
	f->held.len = keep;
}

void stop_filter_flush(struct stop_filter *f, struct strbuf *out)
{
	if (!f->hit)
		strbuf_append(out, f->held.data, f->held.len);
	f->held.len = 0;
}

void stop_filter_free(struct stop_filter *f)
{
	strbuf_free(&f->held);
}
