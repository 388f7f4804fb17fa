/* test_utf8.c - streamed UTF-8: characters split across pieces come out
 * once and whole; invalid bytes become U+FFFD.  And text made safe for a
 * terminal (termsafe.c): controls shown, never sent. */
#include "config.h"

#include <string.h>

#include "tap.h"
#include "ui/termsafe.h"
#include "text/utf8.h"

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

static void check_safe(const char *what, const char *in, size_t len, const char *want)
{
	struct strbuf out = { 0 };
	termsafe_append(&out, in, len);
	int good = out.len == strlen(want) && memcmp(out.data, want, out.len) == 0;
	ok(good, "terminal text: %s", what);
	if (!good)
		diag("got '%s'", out.data ? out.data : "");
	strbuf_free(&out);
}

#define SAFE(what, in, want) check_safe(what, in, sizeof in - 1, want)

static void terminal_text(void)
{
	SAFE("plain text, newlines and tabs stay", "caf\xc3\xa9\tok\n\xe6\x97\xa5", "caf\xc3\xa9\tok\n\xe6\x97\xa5");
	SAFE("ESC of a colour sequence is shown as ^[", "a\033[31mred\033[0m", "a^[[31mred^[[0m");
	SAFE("an OSC title sequence ending in BEL", "\033]0;pwned\007", "^[]0;pwned^G");
	SAFE("CR, backspace, NUL and DEL", "x\ry\bz\0w\177", "x^My^Hz^@w^?");
	SAFE("C1 controls (CSI U+009B, NEL U+0085) as ??", "\xc2\x9b" "2J\xc2\x85", "??2J??");
	SAFE("a raw 0x9b byte (CSI to an 8-bit terminal) is U+FFFD", "\x9b" "2J", "\xef\xbf\xbd" "2J");
	SAFE("an overlong ESC is U+FFFD, not ESC", "\xc0\x9b", "\xef\xbf\xbd\xef\xbf\xbd");
	SAFE("an unfinished character is U+FFFD", "ok\xe2\x82", "ok\xef\xbf\xbd");
	char buf[3];
	ok(termsafe_control('\n', buf) == NULL && termsafe_control('a', buf) == NULL &&
		   termsafe_control(0xa0, buf) == NULL && !strcmp(termsafe_control(0x1b, buf), "^["),
	   "termsafe_control leaves newline, text and U+00A0 alone");
}

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
	terminal_text();
	return tap_done();
}
