/* transcript.h - what the chat screen shows, without curses: the messages,
 * and their layout in rows of terminal cells (word wrap, wide and combining
 * characters, code blocks kept as written).  The UI draws the rows. */
#ifndef NIBBLE_TRANSCRIPT_H
#define NIBBLE_TRANSCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "text/utf8.h"
#include "base/util.h"

enum entry_kind {
	ENTRY_USER,
	ENTRY_ASSISTANT,
	ENTRY_NOTICE, /* nibble speaking: command output, warnings */
	ENTRY_ERROR,
};

enum row_style {
	ROW_LABEL, /* "You" / "Assistant" above a message */
	ROW_TEXT,
	ROW_CODE,  /* inside a ``` block: set apart, line breaks kept */
	ROW_FENCE, /* a ``` line */
	ROW_BLANK, /* the gap between messages */
	ROW_STOPPED, /* after a reply the user stopped */
};

/* One screen row: bytes [off, off+len) of its entry's text. */
struct row {
	size_t entry;
	size_t off, len;
	enum row_style style;
};

struct entry {
	enum entry_kind kind;
	struct strbuf text; /* valid UTF-8 */
	struct utf8_stream pending; /* a character still arriving in pieces */
	bool stopped;       /* a reply the user stopped */
	bool queued;        /* a message waiting for the reply before it */
};

struct transcript {
	struct entry *entries;
	size_t n_entries, cap_entries;
	struct row *rows; /* the layout at `width` */
	size_t n_rows, cap_rows;
	int width;
	bool dirty;       /* rows must be recomputed ... */
	size_t dirty_from;/* ... from this entry on (streaming touches only the last) */
};

/* Adds an entry (text is made valid UTF-8).  Returns its index. */
size_t transcript_add(struct transcript *t, enum entry_kind kind, const char *text, size_t len);
/* Appends to the text of entry i; a character split between two calls is
 * shown once it is whole.  Flags and text may also be changed directly,
 * followed by transcript_touch(). */
void transcript_append(struct transcript *t, size_t i, const char *text, size_t len);
/* Marks entry i as changed, so its rows are laid out again. */
void transcript_touch(struct transcript *t, size_t i);
/* Ends entry i's text: an unfinished character becomes U+FFFD. */
void transcript_finish(struct transcript *t, size_t i);
void transcript_clear(struct transcript *t);
void transcript_free(struct transcript *t);

/* Recomputes the rows for a screen `width` cells wide, if needed. */
void transcript_layout(struct transcript *t, int width);

#define TRANSCRIPT_TAB 4 /* a tab is shown as this many spaces */

/* Columns a code point takes: 0 (combining), 1 or 2 (wide); control
 * characters are shown as ^X and take 2.  In a non-UTF-8 locale every
 * non-ASCII character is shown as '?' and takes 1. */
int transcript_char_width(uint32_t cp);
/* Whether the terminal's locale is UTF-8 (set by transcript_init_locale). */
extern bool transcript_utf8;
/* Reads LC_CTYPE (call after setlocale). */
void transcript_init_locale(void);

/* Cells of the text s[0..len). */
int transcript_text_width(const char *s, size_t len);

/* Columns of indentation for rows of a given style. */
int transcript_indent(enum row_style style);

#endif
