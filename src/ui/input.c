/* input.c - readline without a terminal of its own: the UI reads the keys
 * (curses owns the terminal) and passes their bytes here; readline edits
 * the line and keeps the history; the UI draws the result. */
#include "config.h"

#include "ui/input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "ui/transcript.h"
#include "text/unicode.h"
#include "base/util.h"

#define PROMPT "> "

static struct {
	input_line_fn *on_line;
	void *arg;
	char *history_path;
	char queue[256]; /* bytes readline has not read yet */
	size_t head, len;
	struct strbuf text; /* prompt + line, for layouts */
} in;

static int queue_getc(FILE *f)
{
	(void)f;
	if (in.len == 0)
		return EOF;
	int c = (unsigned char)in.queue[in.head];
	in.head = (in.head + 1) % sizeof in.queue;
	in.len--;
	return c;
}

static int queue_available(void)
{
	return in.len > 0;
}

static void no_redisplay(void)
{
	/* the UI draws the line itself */
}

static void no_prep(int meta)
{
	(void)meta; /* curses owns the terminal modes */
}

static void no_deprep(void)
{
}

static void on_readline_line(char *line)
{
	if (line && *line)
		add_history(line);
	in.on_line(line, in.arg);
}

static char *no_completion(const char *text, int state)
{
	(void)text;
	(void)state;
	return NULL;
}

static int insert_newline(int count, int key)
{
	(void)count;
	(void)key;
	return rl_insert_text("\n") >= 0 ? 0 : 1;
}

void input_init(input_line_fn *on_line, void *arg, const char *history_path)
{
	in.on_line = on_line;
	in.arg = arg;
	in.history_path = history_path ? xstrdup(history_path) : NULL;
	rl_readline_name = "nibble";
	rl_catch_signals = 0;
	rl_catch_sigwinch = 0;
	rl_change_environment = 0;
	rl_getc_function = queue_getc;
	rl_input_available_hook = queue_available;
	rl_redisplay_function = no_redisplay;
	rl_prep_term_function = no_prep;
	rl_deprep_term_function = no_deprep;
	rl_outstream = fopen("/dev/null", "w"); /* readline's own echo must not reach curses' screen */
	/* Bytes above 127 are text (UTF-8, or whatever the locale holds), never
	 * Meta prefixes; and there is nothing to complete. */
	rl_variable_bind("convert-meta", "off");
	rl_variable_bind("input-meta", "on");
	rl_variable_bind("output-meta", "on");
	rl_completion_entry_function = no_completion;
	using_history();
	stifle_history(1000);
	if (in.history_path)
		read_history(in.history_path);
	rl_callback_handler_install(PROMPT, on_readline_line);
	/* Ctrl-J and Alt-Enter start a new line in the message; Enter sends it. */
	rl_bind_key('\n', insert_newline);
	rl_bind_keyseq("\\e\\r", insert_newline);
	rl_bind_keyseq("\\e\\n", insert_newline);
	rl_bind_key('\t', rl_insert);
	rl_bind_keyseq("\\e[A", rl_get_previous_history);
	rl_bind_keyseq("\\e[B", rl_get_next_history);
	rl_bind_keyseq("\\e[C", rl_forward_char);
	rl_bind_keyseq("\\e[D", rl_backward_char);
	rl_bind_keyseq("\\e[3~", rl_delete);
}

void input_free(void)
{
	rl_callback_handler_remove();
	if (in.history_path && write_history(in.history_path) != 0)
		fprintf(stderr, "nibble: cannot save the input history to '%s'\n", in.history_path);
	free(in.history_path);
	if (rl_outstream && rl_outstream != stdout)
		fclose(rl_outstream);
	rl_outstream = NULL;
	strbuf_free(&in.text);
	clear_history();
	in.history_path = NULL;
}

void input_feed(const char *bytes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (in.len == sizeof in.queue)
			rl_callback_read_char();
		in.queue[(in.head + in.len) % sizeof in.queue] = bytes[i];
		in.len++;
	}
	while (in.len > 0)
		rl_callback_read_char();
}

void input_insert(const char *text, size_t n)
{
	char *copy = xstrndup(text, n);
	/* readline wants no NULs and no carriage returns in a line */
	size_t j = 0;
	for (size_t i = 0; i < n; i++)
		if (copy[i] && copy[i] != '\r')
			copy[j++] = copy[i];
		else if (copy[i] == '\r' && (i + 1 == n || copy[i + 1] != '\n'))
			copy[j++] = '\n';
	copy[j] = '\0';
	rl_insert_text(copy);
	free(copy);
}

void input_clear(void)
{
	rl_replace_line("", 0);
	rl_point = rl_end = 0;
}

bool input_is_empty(void)
{
	return rl_end == 0;
}

void input_layout(int width, struct input_layout *out)
{
	if (width < 1)
		width = 1;
	in.text.len = 0;
	strbuf_append(&in.text, PROMPT, strlen(PROMPT));
	strbuf_append(&in.text, rl_line_buffer ? rl_line_buffer : "", rl_line_buffer ? (size_t)rl_end : 0);
	const char *s = in.text.data;
	size_t len = in.text.len, cursor = strlen(PROMPT) + (size_t)rl_point;
	size_t cap = 16;
	*out = (struct input_layout){ .text = s, .prompt_len = strlen(PROMPT) };
	out->starts = xmalloc(cap * sizeof *out->starts);
	out->starts[0] = 0;
	out->n_rows = 1;
	int col = 0;
	for (size_t i = 0; i <= len;) {
		if (i == cursor) {
			out->cursor_row = out->n_rows - 1;
			out->cursor_col = col;
		}
		if (i == len)
			break;
		uint32_t cp;
		size_t n = unicode_decode(s + i, len - i, &cp);
		int w = cp == '\n' ? 0 : transcript_char_width(cp);
		bool wrap = cp != '\n' && col + w > width && col > 0;
		if (wrap || (i > 0 && s[i - 1] == '\n')) {
			if (out->n_rows + 1 >= cap)
				out->starts = xrealloc(out->starts, (cap *= 2) * sizeof *out->starts);
			out->starts[out->n_rows++] = i;
			col = 0;
			if (i == cursor) {
				out->cursor_row = out->n_rows - 1;
				out->cursor_col = 0;
			}
		}
		col += w;
		i += n;
	}
	/* A cursor after a final newline sits on a row of its own. */
	if (cursor == len && len > 0 && s[len - 1] == '\n') {
		if (out->n_rows + 1 >= cap)
			out->starts = xrealloc(out->starts, (cap *= 2) * sizeof *out->starts);
		out->starts[out->n_rows++] = len;
		out->cursor_row = out->n_rows - 1;
		out->cursor_col = 0;
	}
	out->starts[out->n_rows] = len;
}

void input_layout_free(struct input_layout *l)
{
	free(l->starts);
	l->starts = NULL;
}
