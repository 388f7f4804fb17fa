/* transcript.c - messages laid out in terminal rows.  Text wraps at spaces,
 * a word longer than the row is cut, and a wide character never straddles
 * the edge; lines between ``` fences keep their breaks. */
#include "config.h"

#include "ui/transcript.h"

#include <langinfo.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "text/unicode.h"

#define INDENT_TEXT 2
#define INDENT_CODE 4 /* two of them are the bar */

bool transcript_utf8 = true;

void transcript_init_locale(void)
{
	const char *cs = nl_langinfo(CODESET);
	transcript_utf8 = cs && (!strcmp(cs, "UTF-8") || !strcmp(cs, "utf8"));
}

int transcript_char_width(uint32_t cp)
{
	if (cp == '\t')
		return TRANSCRIPT_TAB;
	if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
		return 2; /* shown as ^X (or ?? for C1) */
	if (cp < 0x7f)
		return 1;
	if (!transcript_utf8)
		return 1; /* shown as '?' */
	int w = wcwidth((wchar_t)cp);
	return w < 0 ? 1 : w;
}

int transcript_text_width(const char *s, size_t len)
{
	int w = 0;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		i += unicode_decode(s + i, len - i, &cp);
		w += transcript_char_width(cp);
	}
	return w;
}

int transcript_indent(enum row_style style)
{
	return style == ROW_CODE || style == ROW_FENCE ? INDENT_CODE : style == ROW_LABEL ? 0 : INDENT_TEXT;
}

size_t transcript_add(struct transcript *t, enum entry_kind kind, const char *text, size_t len)
{
	if (t->n_entries == t->cap_entries) {
		t->cap_entries = t->cap_entries ? t->cap_entries * 2 : 32;
		t->entries = xrealloc(t->entries, t->cap_entries * sizeof *t->entries);
	}
	size_t i = t->n_entries++;
	t->entries[i] = (struct entry){ .kind = kind };
	strbuf_append(&t->entries[i].text, "", 0);
	transcript_touch(t, i);
	transcript_append(t, i, text, len);
	if (kind != ENTRY_ASSISTANT)
		transcript_finish(t, i);
	return i;
}

void transcript_append(struct transcript *t, size_t i, const char *text, size_t len)
{
	/* Only valid UTF-8 reaches the screen. */
	utf8_stream_push(&t->entries[i].pending, text, len, &t->entries[i].text);
	transcript_touch(t, i);
}

void transcript_touch(struct transcript *t, size_t i)
{
	if (!t->dirty || i < t->dirty_from)
		t->dirty_from = i;
	t->dirty = true;
}

void transcript_finish(struct transcript *t, size_t i)
{
	utf8_stream_flush(&t->entries[i].pending, &t->entries[i].text);
	transcript_touch(t, i);
}

void transcript_clear(struct transcript *t)
{
	for (size_t i = 0; i < t->n_entries; i++)
		strbuf_free(&t->entries[i].text);
	t->n_entries = 0;
	t->n_rows = 0;
	t->dirty = true;
	t->dirty_from = 0;
}

void transcript_free(struct transcript *t)
{
	transcript_clear(t);
	free(t->entries);
	free(t->rows);
	*t = (struct transcript){ 0 };
}

static void add_row(struct transcript *t, size_t entry, size_t off, size_t len, enum row_style style)
{
	if (t->n_rows == t->cap_rows) {
		t->cap_rows = t->cap_rows ? t->cap_rows * 2 : 256;
		t->rows = xrealloc(t->rows, t->cap_rows * sizeof *t->rows);
	}
	t->rows[t->n_rows++] = (struct row){ entry, off, len, style };
}

/* Rows for one line of text (no '\n' in it). */
static void wrap_line(struct transcript *t, size_t entry, const char *text, size_t start, size_t end,
		      enum row_style style)
{
	int room = t->width - transcript_indent(style);
	if (room < 1)
		room = 1;
	if (start == end) {
		add_row(t, entry, start, 0, style);
		return;
	}
	while (start < end) {
		size_t pos = start, last_space = 0;
		int cells = 0;
		while (pos < end) {
			uint32_t cp;
			size_t n = unicode_decode(text + pos, end - pos, &cp);
			int w = transcript_char_width(cp);
			if (cells + w > room && pos > start)
				break;
			if (cp == ' ' && style == ROW_TEXT)
				last_space = pos;
			cells += w;
			pos += n;
		}
		if (pos < end && last_space > start) {
			/* Break after the last space that fits; the space stays at the row's end. */
			add_row(t, entry, start, last_space + 1 - start, style);
			start = last_space + 1;
		} else {
			add_row(t, entry, start, pos - start, style);
			start = pos;
		}
	}
}

static bool is_fence(const char *line, size_t len)
{
	size_t i = 0;
	while (i < len && line[i] == ' ')
		i++;
	return len - i >= 3 && !memcmp(line + i, "```", 3);
}

void transcript_layout(struct transcript *t, int width)
{
	if (!t->dirty && width == t->width)
		return;
	/* The same width: keep the rows of the entries before the first change. */
	size_t from = width == t->width ? t->dirty_from : 0;
	t->width = width;
	while (t->n_rows > 0 && t->rows[t->n_rows - 1].entry >= from)
		t->n_rows--;
	if (from == 0)
		t->n_rows = 0;
	for (size_t e = from; e < t->n_entries; e++) {
		const struct entry *en = &t->entries[e];
		if (e > 0)
			add_row(t, e, 0, 0, ROW_BLANK);
		if (en->kind == ENTRY_USER || en->kind == ENTRY_ASSISTANT)
			add_row(t, e, 0, 0, ROW_LABEL);
		const char *s = en->text.data;
		size_t len = en->text.len;
		bool code = false;
		for (size_t start = 0; start <= len;) {
			const char *nl = memchr(s + start, '\n', len - start);
			size_t end = nl ? (size_t)(nl - s) : len;
			bool fence = is_fence(s + start, end - start);
			enum row_style style = fence ? ROW_FENCE : code ? ROW_CODE : ROW_TEXT;
			if (fence)
				code = !code;
			/* A reply still streaming has no trailing empty row. */
			if (!(end == len && start == len && start > 0))
				wrap_line(t, e, s, start, end, style);
			start = end + 1;
		}
		if (en->stopped)
			add_row(t, e, 0, 0, ROW_STOPPED);
	}
	t->dirty = false;
}
