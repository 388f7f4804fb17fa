/* unicode.c - UTF-8 decoding for tokenization and look-ups in the generated
 * Unicode tables. */
#include "config.h"

#include "text/unicode.h"

static bool is_continuation(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

size_t unicode_decode(const char *s, size_t len, uint32_t *cpt)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n;
	uint32_t v;
	if (u[0] < 0x80) {
		*cpt = u[0];
		return 1;
	}
	if ((u[0] & 0xE0) == 0xC0) {
		n = 2;
		v = u[0] & 0x1F;
	} else if ((u[0] & 0xF0) == 0xE0) {
		n = 3;
		v = u[0] & 0x0F;
	} else if ((u[0] & 0xF8) == 0xF0) {
		n = 4;
		v = u[0] & 0x07;
	} else {
		goto invalid; /* a continuation byte, or F8..FF */
	}
	if (n > len)
		goto invalid;
	for (size_t i = 1; i < n; i++) {
		if (!is_continuation(u[i]))
			goto invalid;
		v = v << 6 | (u[i] & 0x3F);
	}
	if (v > UNICODE_MAX)
		goto invalid;
	*cpt = v;
	return n;
invalid:
	*cpt = UNICODE_REPLACEMENT;
	return 1;
}

size_t unicode_encode(uint32_t cpt, char out[4])
{
	if (cpt < 0x80) {
		out[0] = (char)cpt;
		return 1;
	}
	if (cpt < 0x800) {
		out[0] = (char)(0xC0 | cpt >> 6);
		out[1] = (char)(0x80 | (cpt & 0x3F));
		return 2;
	}
	if (cpt < 0x10000) {
		out[0] = (char)(0xE0 | cpt >> 12);
		out[1] = (char)(0x80 | (cpt >> 6 & 0x3F));
		out[2] = (char)(0x80 | (cpt & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | cpt >> 18);
	out[1] = (char)(0x80 | (cpt >> 12 & 0x3F));
	out[2] = (char)(0x80 | (cpt >> 6 & 0x3F));
	out[3] = (char)(0x80 | (cpt & 0x3F));
	return 4;
}

enum unicode_class unicode_class_of(uint32_t cpt)
{
	if (cpt > UNICODE_MAX)
		return UNICODE_UNASSIGNED;
	/* The last run whose first code point is <= cpt. */
	size_t lo = 0, hi = unicode_class_runs_len;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (unicode_class_runs[mid] >> 4 <= cpt)
			lo = mid;
		else
			hi = mid;
	}
	return (enum unicode_class)(unicode_class_runs[lo] & 0xF);
}

bool unicode_is_whitespace(uint32_t cpt)
{
	for (size_t i = 0; i < unicode_whitespace_len && unicode_whitespace[i].first <= cpt; i++)
		if (cpt <= unicode_whitespace[i].last)
			return true;
	return false;
}
