/* fuzz_utf8.c - the streaming UTF-8 assembler (src/utf8.c) on arbitrary
 * bytes cut into arbitrary pieces: the output must be strict UTF-8, must not
 * depend on where the pieces were cut, must equal the input when that is
 * valid, and must replace each maximal invalid subpart by one U+FFFD, as a
 * whole-buffer decoder written here independently does. */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "text/utf8.h"
#include "base/util.h"

#define REPLACEMENT "\xef\xbf\xbd"

/* Length of the sequence a lead byte starts, 0 for a byte that starts none. */
static size_t lead_length(unsigned char c)
{
	return c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
}

/* Whether b may be byte k (k >= 1) of a sequence that starts with lead. */
static int may_follow(unsigned char lead, size_t k, unsigned char b)
{
	unsigned lo = 0x80, hi = 0xbf;
	if (k == 1) {
		if (lead == 0xe0)
			lo = 0xa0;
		else if (lead == 0xed)
			hi = 0x9f;
		else if (lead == 0xf0)
			lo = 0x90;
		else if (lead == 0xf4)
			hi = 0x8f;
	}
	return b >= lo && b <= hi;
}

/* The whole input decoded at once: complete characters copied, each
 * maximal subpart of a broken one (or a byte that starts none) U+FFFD. */
static void reference_decode(const unsigned char *s, size_t n, struct strbuf *out)
{
	size_t i = 0;
	while (i < n) {
		size_t len = lead_length(s[i]), k = 1;
		if (len == 0) {
			strbuf_append(out, REPLACEMENT, 3);
			i++;
			continue;
		}
		while (k < len && i + k < n && may_follow(s[i], k, s[i + k]))
			k++;
		if (k == len)
			strbuf_append(out, s + i, len);
		else
			strbuf_append(out, REPLACEMENT, 3);
		i += k;
	}
}

/* Pushes data in pieces of the lengths cut[] gives in turn (0: an empty
 * piece and then a byte), then flushes. */
static void stream_decode(const unsigned char *data, size_t n, const unsigned char *cut, size_t n_cut,
			  struct strbuf *out)
{
	struct utf8_stream u = { 0 };
	size_t off = 0, c = 0;
	while (off < n) {
		size_t len = n_cut ? cut[c++ % n_cut] % 9 : n;
		if (len == 0) { /* an empty piece, then one byte to go on */
			utf8_stream_push(&u, "", 0, out);
			len = 1;
		}
		if (len > n - off)
			len = n - off;
		utf8_stream_push(&u, (const char *)data + off, len, out);
		FUZZ_CHECK(u.n_pending >= 0 && u.n_pending < 4 && (u.n_pending == 0 || u.n_pending < u.need),
			   "%d bytes pending of %d", u.n_pending, u.need);
		off += len;
	}
	utf8_stream_flush(&u, out);
	FUZZ_CHECK(u.n_pending == 0, "%d bytes still pending after the flush", u.n_pending);
}

static int same(const struct strbuf *a, const struct strbuf *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

int FUZZ_ONE(utf8)(const uint8_t *data, size_t size)
{
	/* The first bytes say where to cut the rest. */
	size_t n_cut = size ? data[0] % 8 : 0;
	if (n_cut > size - (size ? 1 : 0))
		n_cut = 0;
	const unsigned char *cut = data + (size ? 1 : 0), *text = cut + n_cut;
	size_t n = size - (size_t)(text - data);

	struct strbuf whole = { 0 }, pieces = { 0 }, bytes = { 0 }, ref = { 0 };
	stream_decode(text, n, NULL, 0, &whole);
	stream_decode(text, n, cut, n_cut, &pieces);
	static const unsigned char one = 1;
	stream_decode(text, n, &one, 1, &bytes);
	reference_decode(text, n, &ref);

	FUZZ_CHECK(fuzz_valid_utf8((const unsigned char *)whole.data, whole.len), "the output is not UTF-8");
	FUZZ_CHECK(whole.len <= 3 * n, "%zu bytes out of %zu in", whole.len, n);
	FUZZ_CHECK(same(&whole, &pieces), "cutting the input changed the output");
	FUZZ_CHECK(same(&whole, &bytes), "feeding single bytes changed the output");
	FUZZ_CHECK(same(&whole, &ref), "the output differs from whole-buffer decoding");
	if (fuzz_valid_utf8(text, n))
		FUZZ_CHECK(whole.len == n && (n == 0 || memcmp(whole.data, text, n) == 0),
			   "valid UTF-8 did not pass through unchanged");
	strbuf_free(&whole);
	strbuf_free(&pieces);
	strbuf_free(&bytes);
	strbuf_free(&ref);
	return 0;
}
