/* termsafe.c - control characters shown visibly (see termsafe.h). */
#include "config.h"

#include "ui/termsafe.h"

#include <string.h>

#include "text/unicode.h"
#include "text/utf8.h"

const char *termsafe_control(uint32_t cp, char buf[3])
{
	if (cp == '\n' || cp == '\t')
		return NULL;
	if (cp < 0x20 || cp == 0x7f) {
		buf[0] = '^';
		buf[1] = cp == 0x7f ? '?' : (char)(cp + '@');
	} else if (cp >= 0x80 && cp < 0xa0) {
		buf[0] = buf[1] = '?';
	} else {
		return NULL;
	}
	buf[2] = '\0';
	return buf;
}

void termsafe_append(struct strbuf *out, const char *s, size_t len)
{
	/* Stray bytes (0x9b is CSI to an 8-bit terminal) become U+FFFD first. */
	struct utf8_stream u8 = { 0 };
	struct strbuf valid = { 0 };
	utf8_stream_push(&u8, s, len, &valid);
	utf8_stream_flush(&u8, &valid);
	size_t plain = 0; /* start of the run of characters copied as they are */
	for (size_t i = 0; i < valid.len;) {
		uint32_t cp;
		size_t n = unicode_decode(valid.data + i, valid.len - i, &cp);
		char buf[3];
		if (termsafe_control(cp, buf)) {
			strbuf_append(out, valid.data + plain, i - plain);
			strbuf_append(out, buf, 2);
			plain = i + n;
		}
		i += n;
	}
	strbuf_append(out, valid.data + plain, valid.len - plain);
	strbuf_free(&valid);
}

bool termsafe_write(FILE *f, const char *s, size_t len, bool tty)
{
	if (!tty)
		return fwrite(s, 1, len, f) == len;
	struct strbuf shown = { 0 };
	termsafe_append(&shown, s, len);
	bool ok = fwrite(shown.data, 1, shown.len, f) == shown.len;
	strbuf_free(&shown);
	return ok;
}

const char *termsafe_str(struct strbuf *buf, const char *s)
{
	buf->len = 0;
	termsafe_append(buf, s, strlen(s));
	strbuf_append(buf, "", 0); /* a string even when s is empty */
	return buf->data;
}
