/* test_unicode.c - the generated Unicode tables and the tokenizers' UTF-8
 * decoding: classes of sample code points, the white-space set, invalid
 * input read the way llama.cpp reads it. */
#include "config.h"

#include <string.h>

#include "tap.h"
#include "text/unicode.h"

static void test_classes(void)
{
	static const struct {
		uint32_t cpt;
		enum unicode_class cls;
	} cases[] = {
		{ 'a', UNICODE_LETTER },      { 'Z', UNICODE_LETTER },        { 0x00B5, UNICODE_LETTER },
		{ 0x4E00, UNICODE_LETTER },   { 0x9FFF, UNICODE_LETTER },     { 0xAC00, UNICODE_LETTER },
		{ 0x20000, UNICODE_LETTER },  { '7', UNICODE_NUMBER },        { 0x00BD, UNICODE_NUMBER },
		{ 0x0663, UNICODE_NUMBER },   { 0x2167, UNICODE_NUMBER },     { '!', UNICODE_PUNCTUATION },
		{ '_', UNICODE_PUNCTUATION }, { 0x3002, UNICODE_PUNCTUATION }, { '$', UNICODE_SYMBOL },
		{ '~', UNICODE_SYMBOL },      { 0x1F600, UNICODE_SYMBOL },    { 0xFFFD, UNICODE_SYMBOL },
		{ 0x0301, UNICODE_MARK },     { 0x17B6, UNICODE_MARK },       { ' ', UNICODE_SEPARATOR },
		{ 0x3000, UNICODE_SEPARATOR }, { 0x2029, UNICODE_SEPARATOR }, { 0, UNICODE_OTHER },
		{ '\n', UNICODE_OTHER },      { 0x200D, UNICODE_OTHER },      { 0xD800, UNICODE_OTHER },
		{ 0xE000, UNICODE_OTHER },    { 0x10FFFD, UNICODE_OTHER },    { 0x0378, UNICODE_UNASSIGNED },
		{ 0x10FFFF, UNICODE_UNASSIGNED }, { 0x110000, UNICODE_UNASSIGNED },
	};
	int bad = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (unicode_class_of(cases[i].cpt) != cases[i].cls) {
			diag("U+%04X: class %d, expected %d", cases[i].cpt, unicode_class_of(cases[i].cpt), cases[i].cls);
			bad++;
		}
	ok(bad == 0, "general-category classes of %zu sample code points", sizeof cases / sizeof cases[0]);

	int unsorted = 0;
	for (size_t i = 1; i < unicode_class_runs_len; i++)
		unsorted += unicode_class_runs[i] >> 4 <= unicode_class_runs[i - 1] >> 4;
	ok(unicode_class_runs[0] >> 4 == 0 && unsorted == 0, "class runs start at U+0000 and ascend");
}

static void test_whitespace(void)
{
	static const uint32_t spaces[] = { '\t', '\n', '\v', '\f', '\r', ' ', 0x85, 0xA0, 0x1680, 0x2000,
					   0x2005, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000 };
	static const uint32_t others[] = { 0, 0x1C, 0x1F, 'a', 0x180E, 0x200B, 0x2060, 0xFEFF, 0x110000 };
	int n = 0;
	for (uint32_t c = 0; c <= UNICODE_MAX; c++)
		n += unicode_is_whitespace(c);
	int bad = 0;
	for (size_t i = 0; i < sizeof spaces / sizeof spaces[0]; i++)
		bad += !unicode_is_whitespace(spaces[i]);
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
		bad += unicode_is_whitespace(others[i]);
	ok(n == 25 && bad == 0, "white space is the 25 White_Space code points (%d found)", n);
}

/* Decodes all of s into cpts; returns the count. */
static size_t decode_all(const char *s, size_t len, uint32_t *cpts)
{
	size_t n = 0;
	for (size_t off = 0; off < len; n++)
		off += unicode_decode(s + off, len - off, &cpts[n]);
	return n;
}

static void test_decode(void)
{
	uint32_t c[16];
	size_t n = decode_all("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10, c);
	ok(n == 4 && c[0] == 'a' && c[1] == 0xE9 && c[2] == 0x20AC && c[3] == 0x1F600, "valid UTF-8 of 1-4 bytes");

	n = decode_all("\x80x\xc3", 3, c);
	ok(n == 3 && c[0] == UNICODE_REPLACEMENT && c[1] == 'x' && c[2] == UNICODE_REPLACEMENT,
	   "a stray continuation byte and a truncated sequence read as U+FFFD, one byte each");

	n = decode_all("\xe2\x82x", 3, c);
	ok(n == 3 && c[0] == UNICODE_REPLACEMENT && c[1] == UNICODE_REPLACEMENT && c[2] == 'x',
	   "a sequence broken by an ASCII byte gives U+FFFD per byte");

	n = decode_all("\xc0\x80\xed\xa0\x80\xff\xf5\x80\x80\x80", 10, c);
	ok(n == 7 && c[0] == 0 && c[1] == 0xD800 && c[2] == UNICODE_REPLACEMENT && c[3] == UNICODE_REPLACEMENT &&
	   c[6] == UNICODE_REPLACEMENT,
	   "like llama.cpp, overlong forms and surrogates decode; FF and values above U+10FFFF do not");

	char buf[4];
	int bad = 0;
	for (uint32_t cpt = 0; cpt <= UNICODE_MAX; cpt += cpt < 0x800 ? 1 : 97) {
		uint32_t back;
		size_t k = unicode_encode(cpt, buf);
		bad += unicode_decode(buf, k, &back) != k || back != cpt;
	}
	ok(bad == 0, "encode and decode round-trip");
}

int main(void)
{
	test_classes();
	test_whitespace();
	test_decode();
	return tap_done();
}
