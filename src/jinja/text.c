/* template_text.c - text helpers for the template interpreter: UTF-8, the
 * Unicode properties Python's string methods use, and Python's way of
 * writing strings, floats and JSON. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jinja/internal.h"

uint32_t tpl_utf8_next(const char *s, size_t len, size_t *pos)
{
	const unsigned char *p = (const unsigned char *)s + *pos;
	size_t left = len - *pos;
	uint32_t cp, min;
	size_t n;
	if (p[0] < 0x80) {
		*pos += 1;
		return p[0];
	}
	if ((p[0] & 0xe0) == 0xc0)
		n = 2, cp = p[0] & 0x1f, min = 0x80;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 3, cp = p[0] & 0x0f, min = 0x800;
	else if ((p[0] & 0xf8) == 0xf0)
		n = 4, cp = p[0] & 0x07, min = 0x10000;
	else
		goto raw;
	if (n > left)
		goto raw;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			goto raw;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		goto raw;
	*pos += n;
	return cp;
raw:
	*pos += 1;
	return TPL_RAW_BYTE + p[0];
}

void tpl_utf8_put(struct strbuf *sb, uint32_t cp)
{
	unsigned char b[4];
	size_t n;
	if (cp >= TPL_RAW_BYTE) {
		b[0] = (unsigned char)(cp - TPL_RAW_BYTE);
		n = 1;
	} else if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | cp >> 18);
		b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	strbuf_append(sb, b, n);
}

size_t tpl_utf8_count(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t pos = 0; pos < len; n++)
		tpl_utf8_next(s, len, &pos);
	return n;
}

/* Python's str.isspace(). */
bool tpl_is_space(uint32_t cp)
{
	return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 || cp == 0xa0 ||
	       cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
	       cp == 0x205f || cp == 0x3000;
}

/* Simple case mapping for the scripts with one-to-one upper and lower case
 * letters that chat text meets most: Latin (ASCII, Latin-1, Extended-A),
 * Greek and Cyrillic.  Other characters keep their case. */
uint32_t tpl_upper(uint32_t cp)
{
	if (cp >= 'a' && cp <= 'z')
		return cp - 32;
	if ((cp >= 0xe0 && cp <= 0xfe && cp != 0xf7))
		return cp - 32;
	if (cp == 0xff)
		return 0x178;
	if (cp >= 0x100 && cp <= 0x17f && cp != 0x130 && cp != 0x131 && cp != 0x138 && cp != 0x149 && cp != 0x17f) {
		bool odd_is_lower = !(cp >= 0x139 && cp <= 0x148) && !(cp >= 0x179 && cp <= 0x17e);
		if ((cp & 1) == (odd_is_lower ? 1u : 0u))
			return cp - 1;
		return cp;
	}
	if ((cp >= 0x3b1 && cp <= 0x3c9 && cp != 0x3c2))
		return cp - 32;
	if (cp >= 0x430 && cp <= 0x44f)
		return cp - 32;
	if (cp >= 0x450 && cp <= 0x45f)
		return cp - 80;
	return cp;
}

uint32_t tpl_lower(uint32_t cp)
{
	if (cp >= 'A' && cp <= 'Z')
		return cp + 32;
	if ((cp >= 0xc0 && cp <= 0xde && cp != 0xd7))
		return cp + 32;
	if (cp == 0x178)
		return 0xff;
	if (cp >= 0x100 && cp <= 0x17f && cp != 0x130 && cp != 0x131 && cp != 0x138 && cp != 0x149 && cp != 0x17f) {
		bool odd_is_lower = !(cp >= 0x139 && cp <= 0x148) && !(cp >= 0x179 && cp <= 0x17e);
		if ((cp & 1) != (odd_is_lower ? 1u : 0u))
			return cp + 1;
		return cp;
	}
	if ((cp >= 0x391 && cp <= 0x3a9 && cp != 0x3a2))
		return cp + 32;
	if (cp >= 0x410 && cp <= 0x42f)
		return cp + 32;
	if (cp >= 0x400 && cp <= 0x40f)
		return cp + 80;
	return cp;
}

bool tpl_is_cased(uint32_t cp)
{
	return tpl_upper(cp) != cp || tpl_lower(cp) != cp;
}

/* \w of Python's re: letters, digits and '_'; outside ASCII every character
 * that is not white space counts, which is right for letters of any script
 * and wrong only for symbols and punctuation. */
bool tpl_is_word_char(uint32_t cp)
{
	if (cp < 0x80)
		return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp == '_';
	return !tpl_is_space(cp) && cp < TPL_RAW_BYTE;
}

/* Characters Python's repr() writes as escapes: control characters, and the
 * common non-printable spaces and format characters. */
static bool repr_escapes(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0xa0) || cp == 0xad || (cp >= 0x2000 && cp <= 0x200f) ||
	       (cp >= 0x2028 && cp <= 0x202f) || (cp >= 0x205f && cp <= 0x206f) || cp == 0x3000 || cp == 0xfeff ||
	       (cp >= 0xd800 && cp <= 0xdfff) || cp >= TPL_RAW_BYTE;
}

void tpl_write_str_repr(struct strbuf *sb, const char *s, size_t len)
{
	char quote = memchr(s, '\'', len) && !memchr(s, '"', len) ? '"' : '\'';
	char esc[16];
	strbuf_append(sb, &quote, 1);
	for (size_t pos = 0; pos < len;) {
		uint32_t cp = tpl_utf8_next(s, len, &pos);
		if (cp == '\\' || cp == (uint32_t)quote) {
			esc[0] = '\\';
			esc[1] = (char)cp;
			strbuf_append(sb, esc, 2);
		} else if (cp == '\n') {
			strbuf_append(sb, "\\n", 2);
		} else if (cp == '\r') {
			strbuf_append(sb, "\\r", 2);
		} else if (cp == '\t') {
			strbuf_append(sb, "\\t", 2);
		} else if (repr_escapes(cp)) {
			if (cp >= TPL_RAW_BYTE)
				snprintf(esc, sizeof esc, "\\x%02x", (unsigned)(cp - TPL_RAW_BYTE));
			else if (cp < 0x100)
				snprintf(esc, sizeof esc, "\\x%02x", (unsigned)cp);
			else
				snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
			strbuf_append(sb, esc, strlen(esc));
		} else {
			tpl_utf8_put(sb, cp);
		}
	}
	strbuf_append(sb, &quote, 1);
}

/* Python's repr() of a float: the shortest digits that read back to the
 * same value, positional from 1e-4 up to 1e16, scientific outside. */
void tpl_write_float(struct strbuf *sb, double d)
{
	char buf[64], digits[32], out[64];
	size_t n_digits = 0, n = 0;
	int exp10;
	if (isnan(d)) {
		strbuf_append(sb, "nan", 3);
		return;
	}
	if (isinf(d)) {
		strbuf_append(sb, d < 0 ? "-inf" : "inf", d < 0 ? 4 : 3);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	/* buf is [-]D[.DDD]e[+-]XX */
	const char *p = buf;
	if (*p == '-') {
		out[n++] = '-';
		p++;
	}
	for (; *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			digits[n_digits++] = *p;
	exp10 = atoi(p + 1);
	while (n_digits > 1 && digits[n_digits - 1] == '0')
		n_digits--;
	if (exp10 >= -4 && exp10 < 16) {
		if (exp10 < 0) {
			out[n++] = '0';
			out[n++] = '.';
			for (int i = -1; i > exp10; i--)
				out[n++] = '0';
			memcpy(out + n, digits, n_digits);
			n += n_digits;
		} else {
			for (int i = 0; i <= exp10; i++)
				out[n++] = (size_t)i < n_digits ? digits[i] : '0';
			out[n++] = '.';
			if ((size_t)exp10 + 1 < n_digits) {
				memcpy(out + n, digits + exp10 + 1, n_digits - (size_t)exp10 - 1);
				n += n_digits - (size_t)exp10 - 1;
			} else {
				out[n++] = '0';
			}
		}
	} else {
		out[n++] = digits[0];
		if (n_digits > 1) {
			out[n++] = '.';
			memcpy(out + n, digits + 1, n_digits - 1);
			n += n_digits - 1;
		}
		n += (size_t)snprintf(out + n, sizeof out - n, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
	}
	strbuf_append(sb, out, n);
}

void tpl_write_json_string(struct strbuf *sb, const char *s, size_t len, bool ascii)
{
	char esc[16];
	strbuf_append(sb, "\"", 1);
	for (size_t pos = 0; pos < len;) {
		uint32_t cp = tpl_utf8_next(s, len, &pos);
		const char *short_esc = NULL;
		switch (cp) {
		case '"': short_esc = "\\\""; break;
		case '\\': short_esc = "\\\\"; break;
		case '\n': short_esc = "\\n"; break;
		case '\r': short_esc = "\\r"; break;
		case '\t': short_esc = "\\t"; break;
		case '\b': short_esc = "\\b"; break;
		case '\f': short_esc = "\\f"; break;
		}
		if (short_esc) {
			strbuf_append(sb, short_esc, 2);
		} else if (cp < 0x20 || (ascii && cp >= 0x7f && cp < TPL_RAW_BYTE)) {
			if (cp >= 0x10000) {
				uint32_t v = cp - 0x10000;
				snprintf(esc, sizeof esc, "\\u%04x\\u%04x", 0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff));
			} else {
				snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
			}
			strbuf_append(sb, esc, strlen(esc));
		} else {
			tpl_utf8_put(sb, cp);
		}
	}
	strbuf_append(sb, "\"", 1);
}

void tpl_write_html_escaped(struct strbuf *sb, const char *s, size_t len)
{
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		const char *rep;
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&#34;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		strbuf_append(sb, s + start, i - start);
		strbuf_append(sb, rep, strlen(rep));
		start = i + 1;
	}
	strbuf_append(sb, s + start, len - start);
}

/* Copies s to buf without surrounding white space and without the single
 * '_' Python allows between digits; false when that leaves nothing sensible. */
static bool strip_number(const char *s, size_t len, char *buf, size_t size)
{
	size_t start = 0, end = len, n = 0;
	while (start < end && isspace((unsigned char)s[start]))
		start++;
	while (end > start && isspace((unsigned char)s[end - 1]))
		end--;
	if (start == end || end - start >= size)
		return false;
	for (size_t i = start; i < end; i++) {
		if (s[i] == '_') {
			bool between = i > start && i + 1 < end && isalnum((unsigned char)s[i - 1]) &&
				       isalnum((unsigned char)s[i + 1]);
			if (!between)
				return false;
			continue;
		}
		if (s[i] == '\0')
			return false;
		buf[n++] = s[i];
	}
	buf[n] = '\0';
	return true;
}

bool tpl_parse_int(const char *s, size_t len, int base, int64_t *out)
{
	char buf[128], *end;
	if (!strip_number(s, len, buf, sizeof buf) || base < 2 || base > 36)
		return false;
	const char *p = buf + (buf[0] == '+' || buf[0] == '-');
	if (!isalnum((unsigned char)*p))
		return false;
	errno = 0;
	long long v = strtoll(buf, &end, base);
	if (*end || errno == ERANGE)
		return false;
	*out = v;
	return true;
}

bool tpl_parse_float(const char *s, size_t len, double *out)
{
	char buf[128], *end;
	if (!strip_number(s, len, buf, sizeof buf))
		return false;
	const char *p = buf + (buf[0] == '+' || buf[0] == '-');
	/* strtod also reads hexadecimal floats, which Python's float() does not */
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		return false;
	errno = 0;
	double v = strtod(buf, &end);
	if (*end)
		return false;
	*out = v;
	return true;
}
