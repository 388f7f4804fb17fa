/* test_transcript.c - the chat screen's layout without a terminal: display
 * widths of wide, combining and control characters, word wrap, code blocks,
 * and reply text that arrives through the event queue in pieces that split
 * characters. */
#include "config.h"

#include <locale.h>
#include <string.h>

#include "chat/event_queue.h"
#include "tap.h"
#include "ui/transcript.h"

/* The rows of entry e as strings joined by '|'. */
static void rows_of(struct transcript *t, size_t e, struct strbuf *out)
{
	out->len = 0;
	for (size_t i = 0; i < t->n_rows; i++) {
		const struct row *r = &t->rows[i];
		if (r->entry != e || r->style == ROW_LABEL || r->style == ROW_BLANK)
			continue;
		if (out->len)
			strbuf_append(out, "|", 1);
		strbuf_append(out, t->entries[e].text.data + r->off, r->len);
	}
	if (!out->data)
		strbuf_append(out, "", 0);
}

static void test_widths(void)
{
	ok(transcript_char_width('a') == 1 && transcript_char_width(0x65e5) == 2 /* 日 */ &&
		   transcript_char_width(0x1f642) == 2 /* 🙂 */ && transcript_char_width(0x301) == 0 /* combining acute */,
	   "ASCII 1, CJK and emoji 2, combining marks 0 cells");
	ok(transcript_char_width(0x1b) == 2 && transcript_char_width(0x9b) == 2 && transcript_char_width('\t') == TRANSCRIPT_TAB,
	   "controls take two cells (shown as ^X), tabs a fixed width");
	const char *s = "e\xcc\x81t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82";
	ok(transcript_text_width(s, strlen(s)) == 11, "a mixed line is measured in cells (%d)", transcript_text_width(s, strlen(s)));
}

static void test_wrap(void)
{
	struct transcript t = { 0 };
	struct strbuf rows = { 0 };
	size_t e = transcript_add(&t, ENTRY_ASSISTANT, "the quick brown fox jumps over", 30);
	transcript_layout(&t, 14); /* 12 cells after the indent */
	rows_of(&t, e, &rows);
	ok(!strcmp(rows.data, "the quick |brown fox |jumps over"), "words wrap at spaces (%s)", rows.data);

	transcript_clear(&t);
	e = transcript_add(&t, ENTRY_USER, "abcdefghijklmnopqrstuvwxyz", 26);
	transcript_layout(&t, 12);
	rows_of(&t, e, &rows);
	ok(!strcmp(rows.data, "abcdefghij|klmnopqrst|uvwxyz"), "a word longer than the row is cut (%s)", rows.data);

	/* 7 wide characters in 10 cells: 5 fit, none straddles the edge */
	const char *cjk = "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe6\x97\xa5";
	transcript_clear(&t);
	e = transcript_add(&t, ENTRY_USER, cjk, strlen(cjk));
	transcript_layout(&t, 12);
	rows_of(&t, e, &rows);
	ok(t.n_rows == 3 && rows.len == strlen(cjk) + 1 && rows.data[15] == '|', "wide characters wrap whole: 5 of 7 on the first row");

	const char *md = "Look:\n```c\nint x = 1;           // a long line of code here\n```\ndone";
	transcript_clear(&t);
	e = transcript_add(&t, ENTRY_ASSISTANT, md, strlen(md));
	transcript_layout(&t, 30);
	int code = 0, fence = 0, text = 0;
	for (size_t i = 0; i < t.n_rows; i++) {
		code += t.rows[i].style == ROW_CODE;
		fence += t.rows[i].style == ROW_FENCE;
		text += t.rows[i].style == ROW_TEXT;
	}
	ok(fence == 2 && code == 2 && text == 2, "a fenced block is set apart and its long line wrapped (%d code rows)", code);

	transcript_layout(&t, 80);
	size_t wide_rows = t.n_rows;
	transcript_layout(&t, 20);
	ok(t.n_rows > wide_rows, "a narrower screen re-wraps everything (%zu -> %zu rows)", wide_rows, t.n_rows);
	strbuf_free(&rows);
	transcript_free(&t);
}

static bool same_rows(const struct transcript *a, const struct transcript *b)
{
	if (a->n_rows != b->n_rows)
		return false;
	for (size_t i = 0; i < a->n_rows; i++)
		if (a->rows[i].entry != b->rows[i].entry || a->rows[i].off != b->rows[i].off ||
		    a->rows[i].len != b->rows[i].len || a->rows[i].style != b->rows[i].style)
			return false;
	return true;
}

/* Laying out only what changed gives the rows a layout from scratch gives. */
static void test_incremental(void)
{
	struct transcript live = { 0 }, fresh = { 0 };
	const char *words[] = { "Once ", "upon a ", "time\n```\ncode ", "here\n``", "`\nthe end of a long story" };
	transcript_add(&live, ENTRY_USER, "tell me a story", 15);
	size_t reply = transcript_add(&live, ENTRY_ASSISTANT, "", 0);
	transcript_layout(&live, 20);
	struct strbuf all = { 0 };
	for (size_t i = 0; i < ARRAY_LEN(words); i++) {
		transcript_append(&live, reply, words[i], strlen(words[i]));
		strbuf_append(&all, words[i], strlen(words[i]));
		transcript_layout(&live, 20);
	}
	live.entries[0].queued = true; /* a flag on an earlier entry */
	transcript_touch(&live, 0);
	live.entries[reply].stopped = true;
	transcript_touch(&live, reply);
	transcript_add(&live, ENTRY_NOTICE, "saved", 5);
	transcript_layout(&live, 20);

	transcript_add(&fresh, ENTRY_USER, "tell me a story", 15);
	transcript_add(&fresh, ENTRY_ASSISTANT, all.data, all.len);
	fresh.entries[0].queued = true;
	fresh.entries[1].stopped = true;
	transcript_add(&fresh, ENTRY_NOTICE, "saved", 5);
	transcript_layout(&fresh, 20);
	ok(same_rows(&live, &fresh), "streamed layout equals a layout from scratch (%zu rows)", live.n_rows);
	strbuf_free(&all);
	transcript_free(&live);
	transcript_free(&fresh);
}

static void test_event_path(void)
{
	struct evq q;
	struct transcript t = { 0 };
	ok(evq_init(&q) == 0, "event queue opens");
	/* 日 (E6 97 A5) and 🙂 (F0 9F 99 82), each split between two events */
	const char *pieces[] = { "a\xe6\x97", "\xa5" "b\xf0\x9f", "\x99", "\x82" };
	for (size_t i = 0; i < ARRAY_LEN(pieces); i++) {
		struct event ev = { .kind = EVENT_TEXT };
		evq_push(&q, &ev, pieces[i], strlen(pieces[i]));
	}
	struct event *evs;
	size_t n = evq_take(&q, &evs);
	size_t e = transcript_add(&t, ENTRY_ASSISTANT, "", 0);
	for (size_t i = 0; i < n; i++)
		transcript_append(&t, e, evs[i].text, evs[i].len);
	evq_events_free(evs, n);
	transcript_finish(&t, e);
	const char *want = "a\xe6\x97\xa5" "b\xf0\x9f\x99\x82";
	ok(n == 4 && !strcmp(t.entries[e].text.data, want), "characters split across events arrive once and whole");
	ok(transcript_text_width(t.entries[e].text.data, t.entries[e].text.len) == 6, "and take their true width");

	size_t f = transcript_add(&t, ENTRY_ASSISTANT, "x\xe6\x97", 3);
	transcript_finish(&t, f);
	ok(!strcmp(t.entries[f].text.data, "x\xef\xbf\xbd"), "a character cut off for good becomes U+FFFD");
	evq_free(&q);
	transcript_free(&t);
}

int main(void)
{
	if (!setlocale(LC_CTYPE, "C.UTF-8")) {
		printf("1..0 # SKIP no C.UTF-8 locale\n");
		return 77;
	}
	transcript_init_locale();
	test_widths();
	test_wrap();
	test_incremental();
	test_event_path();
	return tap_done();
}
