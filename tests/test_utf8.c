/* test_utf8.c - streamed UTF-8: characters split across pieces come out
 * once and whole; invalid bytes become U+FFFD. */
#include "config.h"

#include <string.h>

#include "tap.h"
#include "utf8.h"

/* Feeds the pieces one by one and compares the total output. */
static void check(const char *what, const char *const *pieces, int n, const char *want)
{
	struct utf8_stream u = { 0 };
	struct strbuf out = { 0 };
	for (int i = 0; i < n; i++)
		utf8_stream_push(&u, pieces[i], strlen(pieces[i]), &out);
	utf8_stream_flush(&u, &out);
	int good = out.len == strlen(want) && memcmp(out.data, want, out.len) == 0;
	ok(good, "%s", what);
	strbuf_free(&out);
}

#define CHECK(what, want, ...)                                                   \
	do {                                                                     \
		const char *const p[] = { __VA_ARGS__ };                          \
		check(what, p, (int)(sizeof p / sizeof p[0]), want);              \
	} while (0)

int main(void)
{
	CHECK("ASCII passes through", "hello world", "hello", " world");
	CHECK("a 3-byte character split 1+2", "caf\xe2\x82\xac!", "caf\xe2", "\x82\xac!");
	CHECK("a 4-byte emoji split into single bytes", "\xf0\x9f\x98\x80", "\xf0", "\x9f", "\x98", "\x80");
	CHECK("a stray continuation byte", "a\xef\xbf\xbd" "b", "a\x80" "b");
	CHECK("an invalid lead byte", "\xef\xbf\xbd\xef\xbf\xbd", "\xc0\xff");
	CHECK("a broken sequence then ASCII", "\xef\xbf\xbdx", "\xe2\x82", "x");
	CHECK("an overlong 3-byte form", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "\xe0\x80\x80");
	CHECK("a surrogate", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "\xed\xa0\x80");
	CHECK("above U+10FFFF", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "\xf4\x90\x80\x80");
	CHECK("an unfinished tail at the end", "ok\xef\xbf\xbd", "ok\xf0\x9f\x98");
	CHECK("the highest code point", "\xf4\x8f\xbf\xbf", "\xf4\x8f", "\xbf\xbf");
	return tap_done();
}
