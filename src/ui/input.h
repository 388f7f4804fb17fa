/* input.h - the chat's input line: GNU readline in callback mode, fed the
 * keys the UI reads and drawn by the UI into its input rows.  Readline's
 * state is global, so there is one input line. */
#ifndef NIBBLE_INPUT_H
#define NIBBLE_INPUT_H

#include <stdbool.h>
#include <stddef.h>

/* Called with each line entered (the callee frees it), or NULL when Ctrl-D
 * is pressed on an empty line. */
typedef void input_line_fn(char *line, void *arg);

/* Sets up readline; history is read from history_path (may be NULL). */
void input_init(input_line_fn *on_line, void *arg, const char *history_path);
/* Saves the history and releases readline. */
void input_free(void);

/* Feeds raw bytes of typed keys (escape sequences included). */
void input_feed(const char *bytes, size_t n);
/* Inserts text at the cursor as it is: a paste keeps its newlines. */
void input_insert(const char *text, size_t n);
/* Drops the line being edited. */
void input_clear(void);
bool input_is_empty(void);

/* The prompt and the line as rows of at most width cells; the cursor's row
 * and column.  Returns the number of rows (at least 1).  rows[i] holds byte
 * offsets into text, which stays valid until the next input_* call. */
struct input_layout {
	const char *text; /* prompt + line */
	size_t *starts;   /* row i is text[starts[i]..starts[i+1]) */
	size_t n_rows;
	size_t cursor_row;
	int cursor_col;
	size_t prompt_len;
};
void input_layout(int width, struct input_layout *out);
void input_layout_free(struct input_layout *l);

#endif
