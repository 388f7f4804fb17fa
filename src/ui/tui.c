/* tui.c - the full-screen chat.  One thread (this one) owns curses and
 * readline; it poll()s the keyboard, the engine's event pipe and a signal
 * pipe, applies everything that arrived, and redraws at most once per
 * wakeup, so a burst of tokens costs one screen update. */
#include "config.h"

#include "ui/tui.h"

#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ui/input.h"
#include "base/sigbus.h"
#include "base/sigpipe.h"
#include "ui/termsafe.h"
#include "ui/transcript.h"
#include "text/unicode.h"
#include "base/util.h"

#define MIN_COLS 20
#define MIN_ROWS 5
#define QUIT_WINDOW 3.0 /* seconds in which a second Ctrl-C quits */
#define PASTE_START "\033[200~"
#define PASTE_END "\033[201~"

enum colour_pair { PAIR_USER = 1, PAIR_ASSISTANT, PAIR_NOTICE, PAIR_ERROR, PAIR_CODE, PAIR_STATUS };

enum tui_state { STATE_LOADING, STATE_IDLE, STATE_BUSY, STATE_FAILED };

struct tui {
	struct transcript tr;
	struct evq q;
	struct engine *engine;
	enum tui_state state;
	double progress;
	size_t reply;          /* the entry the reply streams into */
	size_t scroll;         /* rows scrolled up from the bottom */
	bool more_below;       /* text arrived while scrolled up */
	char *queued;          /* a message sent while a reply was being written */
	struct chat_stats last;
	uint32_t n_past;
	bool color;
	double ctrl_c_at;      /* the first Ctrl-C at an idle prompt */
	char flash[256];       /* a short message in the status bar */
	char model_file[128];  /* shown while loading */
	bool quit;
	char *log_path;
	int log_fd, saved_stderr;
	bool log_reported;
};

static const int handled_signals[] = { SIGWINCH, SIGTERM, SIGHUP, SIGINT, SIGQUIT };

/* ---- stderr goes to a log while curses owns the screen ----------------- */

/* Without a log (the state folder cannot be written), stderr goes to
 * /dev/null: a message on the screen would tear the chat apart. */
static void capture_stderr(struct tui *t, bool state_writable)
{
	t->log_fd = t->saved_stderr = -1;
	t->log_path = state_writable ? xdg_path("XDG_STATE_HOME", ".local/state", "nibble.log", true) : NULL;
	if (t->log_path)
		t->log_fd = open(t->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int fd = t->log_fd >= 0 ? t->log_fd : open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	fflush(stderr);
	t->saved_stderr = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd != t->log_fd)
		close(fd);
}

static bool log_has_text(const struct tui *t)
{
	struct stat st;
	return t->log_fd >= 0 && fstat(t->log_fd, &st) == 0 && st.st_size > 0;
}

static void restore_stderr(struct tui *t)
{
	if (t->saved_stderr >= 0) {
		fflush(stderr);
		dup2(t->saved_stderr, STDERR_FILENO);
		close(t->saved_stderr);
	}
	if (log_has_text(t))
		fprintf(stderr, "nibble: messages written while the chat was open are in %s\n", t->log_path);
	if (t->log_fd >= 0)
		close(t->log_fd);
	free(t->log_path);
}

/* ---- drawing -------------------------------------------------------------- */

static attr_t style_of(const struct tui *t, int pair, attr_t extra)
{
	return (t->color ? COLOR_PAIR(pair) : 0) | extra;
}

/* Draws text[0..len) from the cursor, at most `cells` cells; controls as ^X,
 * tabs as spaces, non-ASCII as '?' outside a UTF-8 locale. */
static int draw_text(const char *s, size_t len, int cells)
{
	int used = 0;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = unicode_decode(s + i, len - i, &cp);
		int w = transcript_char_width(cp);
		if (used + w > cells)
			break;
		char shown[3];
		if (cp == '\t') {
			for (int k = 0; k < w; k++)
				addch(' ');
		} else if (cp == '\n') {
			addstr("^J");
		} else if (termsafe_control(cp, shown)) {
			addstr(shown);
		} else if (cp >= 0x80 && !transcript_utf8) {
			addch('?');
		} else {
			addnstr(s + i, (int)n);
		}
		used += w;
		i += n;
	}
	return used;
}

static void draw_row(const struct tui *t, int y, const struct row *r, int width)
{
	const struct entry *e = &t->tr.entries[r->entry];
	move(y, 0);
	if (r->style == ROW_BLANK)
		return;
	if (r->style == ROW_STOPPED) {
		attrset(style_of(t, PAIR_NOTICE, A_DIM));
		addstr("  [stopped]");
		attrset(A_NORMAL);
		return;
	}
	if (r->style == ROW_LABEL) {
		bool user = e->kind == ENTRY_USER;
		attrset(style_of(t, user ? PAIR_USER : PAIR_ASSISTANT, A_BOLD));
		addstr(user ? "You" : "Assistant");
		attrset(style_of(t, PAIR_NOTICE, A_DIM));
		if (e->queued)
			addstr(" (waiting)");
		attrset(A_NORMAL);
		return;
	}
	int indent = transcript_indent(r->style);
	attr_t attr = A_NORMAL;
	if (e->kind == ENTRY_NOTICE)
		attr = style_of(t, PAIR_NOTICE, 0);
	else if (e->kind == ENTRY_ERROR)
		attr = style_of(t, PAIR_ERROR, A_BOLD);
	if (r->style == ROW_CODE || r->style == ROW_FENCE) {
		attrset(style_of(t, PAIR_CODE, 0));
		addstr("  \xe2\x94\x82 " + (transcript_utf8 ? 0 : 5)); /* a bar, or nothing */
		if (!transcript_utf8)
			addstr("| ");
		attr = style_of(t, PAIR_CODE, r->style == ROW_FENCE ? A_DIM : 0);
	} else {
		for (int i = 0; i < indent; i++)
			addch(' ');
	}
	attrset(attr);
	draw_text(e->text.data + r->off, r->len, width - indent);
	attrset(A_NORMAL);
}

static void draw_transcript(struct tui *t, int height, int width)
{
	size_t before = t->tr.n_rows;
	bool was_dirty = t->tr.dirty || t->tr.width != width;
	transcript_layout(&t->tr, width);
	/* Scrolled up, the view stays on the same text as rows are added. */
	if (t->scroll > 0 && was_dirty && t->tr.n_rows > before && t->tr.width == width) {
		t->scroll += t->tr.n_rows - before;
		t->more_below = true;
	}
	size_t n = t->tr.n_rows, h = (size_t)height;
	size_t max_scroll = n > h ? n - h : 0;
	if (t->scroll > max_scroll)
		t->scroll = max_scroll;
	if (t->scroll == 0)
		t->more_below = false;
	size_t first = n > h ? n - h - t->scroll : 0;
	for (size_t i = 0; i < h && first + i < n; i++)
		draw_row(t, (int)i, &t->tr.rows[first + i], width);
	if (t->scroll > 0) {
		const char *more = t->more_below ? " more below: End " : " scrolled: End ";
		int len = (int)strlen(more);
		attrset(style_of(t, PAIR_STATUS, A_REVERSE));
		mvaddstr(height - 1, width > len ? width - len : 0, more);
		attrset(A_NORMAL);
	}
}

static void status_text(const struct tui *t, struct strbuf *out)
{
	if (t->state == STATE_LOADING) {
		strbuf_printf(out, " loading %s ... %3.0f%%", t->model_file, t->progress * 100);
		return;
	}
	if (t->state == STATE_FAILED) {
		strbuf_printf(out, " no model loaded | Ctrl-D quits");
		return;
	}
	const struct engine_info *in = engine_info(t->engine);
	const char *lead = t->flash[0] ? t->flash : t->state == STATE_BUSY ? "writing... Ctrl-C stops" : NULL;
	char w[32], k[32], r[32], g[32];
	uint64_t rss = resident_bytes();
	strbuf_printf(out, " %s%s%s %s | %s | ctx %u/%u | prompt %.1f tok/s  gen %.1f tok/s | RSS %s (%s + %s KV)",
		      lead ? lead : "", lead ? " | " : "", in->name, in->quant, in->backend, t->n_past, in->n_ctx,
		      t->last.prompt_evaluated / (t->last.prompt_seconds + 1e-9),
		      t->last.reply_tokens / (t->last.reply_seconds + 1e-9), rss ? format_bytes(rss, r, sizeof r) : "?",
		      format_bytes(in->weight_bytes, w, sizeof w), format_bytes(in->kv_bytes, k, sizeof k));
	if (in->gpu_bytes)
		strbuf_printf(out, " | GPU %s", format_bytes(in->gpu_bytes, g, sizeof g));
}

static void draw(struct tui *t)
{
	int height, width;
	getmaxyx(stdscr, height, width);
	erase();
	if (width < MIN_COLS || height < MIN_ROWS) {
		mvaddnstr(0, 0, "terminal too small", width);
		wnoutrefresh(stdscr);
		doupdate();
		return;
	}
	struct input_layout in;
	input_layout(width, &in);
	int in_rows = (int)in.n_rows, max_in = height / 3 > 1 ? height / 3 : 1;
	if (in_rows > max_in)
		in_rows = max_in;
	int first_in = (int)in.cursor_row >= in_rows ? (int)in.cursor_row - in_rows + 1 : 0;
	int status_y = height - in_rows - 1;

	draw_transcript(t, status_y, width);

	struct strbuf status = { 0 };
	status_text(t, &status);
	attrset(style_of(t, PAIR_STATUS, A_REVERSE));
	move(status_y, 0);
	int used = draw_text(status.data ? status.data : "", status.len, width);
	strbuf_free(&status);
	for (; used < width; used++)
		addch(' ');
	attrset(A_NORMAL);

	for (int r = 0; r < in_rows; r++) {
		size_t row = (size_t)(first_in + r);
		size_t a = in.starts[row], b = in.starts[row + 1];
		if (b > a && in.text[b - 1] == '\n')
			b--;
		move(status_y + 1 + r, 0);
		if (row == 0) {
			attrset(style_of(t, PAIR_USER, A_BOLD));
			draw_text(in.text, in.prompt_len, width);
			attrset(A_NORMAL);
			a = in.prompt_len;
		}
		draw_text(in.text + a, b - a, width);
	}
	move(status_y + 1 + (int)in.cursor_row - first_in, in.cursor_col < width ? in.cursor_col : width - 1);
	input_layout_free(&in);
	wnoutrefresh(stdscr);
	doupdate();
}

/* ---- events from the engine ----------------------------------------------- */

static void add_note(struct tui *t, enum entry_kind kind, const char *text)
{
	transcript_add(&t->tr, kind, text, strlen(text));
}

static void start_reply(struct tui *t, const char *text)
{
	if (!engine_send(t->engine, text)) {
		add_note(t, ENTRY_ERROR, "the engine is busy; try again");
		return;
	}
	t->reply = transcript_add(&t->tr, ENTRY_ASSISTANT, "", 0);
	t->state = STATE_BUSY;
	t->scroll = 0;
}

/* Rebuilds the screen from a conversation's JSON (after /clear, /load, --resume). */
static void show_conversation(struct tui *t, const char *json)
{
	json_object *msgs = json_tokener_parse(json);
	transcript_clear(&t->tr);
	for (size_t i = 0; msgs && i < json_object_array_length(msgs); i++) {
		json_object *m = json_object_array_get_idx(msgs, i), *role, *content;
		if (!json_object_object_get_ex(m, "role", &role) || !json_object_object_get_ex(m, "content", &content))
			continue;
		const char *r = json_object_get_string(role), *c = json_object_get_string(content);
		if (!strcmp(r, "system")) {
			struct strbuf s = { 0 };
			strbuf_append(&s, "system prompt: ", 15);
			strbuf_append(&s, c, strlen(c));
			add_note(t, ENTRY_NOTICE, s.data);
			strbuf_free(&s);
		} else {
			add_note(t, !strcmp(r, "user") ? ENTRY_USER : ENTRY_ASSISTANT, c);
		}
	}
	json_object_put(msgs);
	t->scroll = 0;
}

/* Sends the message typed while the engine was busy or loading. */
static void send_queued(struct tui *t)
{
	if (!t->queued)
		return;
	for (size_t i = 0; i < t->tr.n_entries; i++)
		if (t->tr.entries[i].queued) {
			t->tr.entries[i].queued = false;
			transcript_touch(&t->tr, i);
		}
	char *text = t->queued;
	t->queued = NULL;
	start_reply(t, text);
	free(text);
}

static void handle_event(struct tui *t, const struct event *ev)
{
	switch (ev->kind) {
	case EVENT_PROGRESS:
		t->progress = ev->progress;
		break;
	case EVENT_READY:
		t->state = STATE_IDLE;
		t->n_past = 0;
		send_queued(t);
		break;
	case EVENT_TEXT:
		if (t->state == STATE_BUSY)
			transcript_append(&t->tr, t->reply, ev->text, ev->len);
		break;
	case EVENT_DONE:
		if (t->state == STATE_BUSY && t->reply < t->tr.n_entries &&
		    t->tr.entries[t->reply].kind == ENTRY_ASSISTANT) {
			t->tr.entries[t->reply].stopped = ev->stats.cancelled;
			transcript_finish(&t->tr, t->reply);
		}
		if (t->state != STATE_FAILED)
			t->state = STATE_IDLE;
		t->last = ev->stats;
		t->n_past = ev->n_past;
		send_queued(t);
		break;
	case EVENT_NOTICE:
	case EVENT_REPORT:
		add_note(t, ENTRY_NOTICE, ev->text ? ev->text : "");
		break;
	case EVENT_ERROR:
		add_note(t, ENTRY_ERROR, ev->text ? ev->text : "error");
		if (t->state == STATE_LOADING) {
			t->state = STATE_FAILED;
			for (size_t i = 0; i < t->tr.n_entries; i++)
				t->tr.entries[i].queued = false; /* it will never be sent */
			transcript_touch(&t->tr, 0);
			free(t->queued);
			t->queued = NULL;
		}
		break;
	case EVENT_CONVERSATION:
		show_conversation(t, ev->text ? ev->text : "[]");
		break;
	case EVENT_QUIT:
		t->quit = true;
		break;
	}
}

/* ---- input ----------------------------------------------------------------- */

static const char tui_help[] =
	"keys: Enter sends, Alt-Enter or Ctrl-J starts a new line, Up/Down recall earlier input, "
	"PgUp/PgDn/Home/End or the mouse wheel scroll, Ctrl-C or Esc stops a reply, Ctrl-D quits";

static void on_line(char *line, void *arg)
{
	struct tui *t = arg;
	if (!line) {
		t->quit = true;
		return;
	}
	if (!line[strspn(line, " \t\n")]) {
		free(line);
		return;
	}
	if (line[0] == '/') {
		if (!strcmp(line, "/quit") || !strcmp(line, "/exit")) {
			t->quit = true;
		} else if (t->state == STATE_IDLE) {
			if (engine_command(t->engine, line) && !strncmp(line, "/help", 5))
				add_note(t, ENTRY_NOTICE, tui_help);
			t->state = STATE_BUSY;
			t->reply = (size_t)-1;
		} else {
			snprintf(t->flash, sizeof t->flash, "commands wait until the reply is done");
		}
	} else if (t->state == STATE_IDLE) {
		transcript_add(&t->tr, ENTRY_USER, line, strlen(line));
		start_reply(t, line);
	} else if ((t->state == STATE_BUSY || t->state == STATE_LOADING) && !t->queued) {
		size_t i = transcript_add(&t->tr, ENTRY_USER, line, strlen(line));
		t->tr.entries[i].queued = true; /* its rows are not laid out yet */
		t->queued = xstrdup(line);
	} else {
		snprintf(t->flash, sizeof t->flash, t->state == STATE_FAILED ? "no model is loaded"
									      : "one message is already waiting");
	}
	free(line);
}

static void scroll_by(struct tui *t, long rows)
{
	if (rows < 0 && (size_t)-rows > t->scroll)
		t->scroll = 0;
	else
		t->scroll += (size_t)rows;
}

static int page_rows(void)
{
	return LINES > 8 ? LINES - 4 : 1;
}

/* Ctrl-C or a lone Esc: stop the reply; at an idle prompt, Ctrl-C clears the
 * line, and a second one quits. */
static void interrupt(struct tui *t, bool ctrl_c)
{
	if (t->state == STATE_BUSY && t->reply != (size_t)-1) {
		engine_cancel(t->engine);
		return;
	}
	if (!ctrl_c)
		return;
	if (!input_is_empty()) {
		input_clear();
		return;
	}
	double now = now_seconds();
	if (t->ctrl_c_at > 0 && now - t->ctrl_c_at < QUIT_WINDOW) {
		t->quit = true;
		return;
	}
	t->ctrl_c_at = now;
	snprintf(t->flash, sizeof t->flash, "press Ctrl-C again or Ctrl-D to quit");
}

/* The rest of an escape sequence already waiting, after the ESC. */
static size_t read_escape(char *buf, size_t cap)
{
	size_t n = 0;
	nodelay(stdscr, TRUE);
	int c;
	while (n < cap && (c = getch()) != ERR) {
		buf[n++] = (char)c;
		/* A CSI sequence ends with a byte in @..~; Alt-x is one byte. */
		if (n == 1 && c != '[' && c != 'O')
			break;
		if (n > 1 && c >= 0x40 && c <= 0x7e)
			break;
	}
	nodelay(stdscr, FALSE);
	return n;
}

static void read_paste(void)
{
	struct strbuf paste = { 0 };
	size_t end_len = strlen(PASTE_END);
	timeout(200);
	int c;
	while ((c = getch()) != ERR) {
		char ch = (char)c;
		strbuf_append(&paste, &ch, 1);
		if (paste.len >= end_len && !memcmp(paste.data + paste.len - end_len, PASTE_END, end_len)) {
			paste.len -= end_len;
			break;
		}
	}
	timeout(-1);
	if (paste.len)
		input_insert(paste.data, paste.len);
	strbuf_free(&paste);
}

static void handle_key(struct tui *t, int key)
{
	static const struct {
		int key;
		const char *seq;
	} keymap[] = {
		{ KEY_UP, "\033[A" }, { KEY_DOWN, "\033[B" }, { KEY_RIGHT, "\033[C" }, { KEY_LEFT, "\033[D" },
		{ KEY_DC, "\033[3~" }, { KEY_BACKSPACE, "\177" },
	};
	if (key != 3)
		t->ctrl_c_at = 0;
	if (key != 3)
		t->flash[0] = '\0';
	switch (key) {
	case 3: /* Ctrl-C: curses runs in raw mode, so it is a key, not a signal */
		interrupt(t, true);
		return;
	case 12: /* Ctrl-L */
		clearok(stdscr, TRUE);
		return;
	case KEY_PPAGE:
		scroll_by(t, page_rows());
		return;
	case KEY_NPAGE:
		scroll_by(t, -page_rows());
		return;
	case KEY_HOME:
		t->scroll = (size_t)-1 / 2; /* clamped to the top when drawn */
		return;
	case KEY_END:
		t->scroll = 0;
		return;
	case KEY_RESIZE:
		return;
	case KEY_MOUSE: {
		MEVENT me;
		if (getmouse(&me) == OK) {
			if (me.bstate & BUTTON4_PRESSED)
				scroll_by(t, 3);
#ifdef BUTTON5_PRESSED
			else if (me.bstate & BUTTON5_PRESSED)
				scroll_by(t, -3);
#endif
		}
		return;
	}
	case 27: {
		char seq[16] = { 27 };
		size_t n = 1 + read_escape(seq + 1, sizeof seq - 1);
		if (n == 1) {
			interrupt(t, false);
		} else if (n == strlen(PASTE_START) && !memcmp(seq, PASTE_START, n)) {
			read_paste();
		} else {
			input_feed(seq, n);
		}
		return;
	}
	}
	for (size_t i = 0; i < ARRAY_LEN(keymap); i++)
		if (keymap[i].key == key) {
			input_feed(keymap[i].seq, strlen(keymap[i].seq));
			return;
		}
	if (key >= 0 && key < 256) {
		char c = (char)key;
		input_feed(&c, 1);
	}
}

/* ---- the loop ---------------------------------------------------------------- */

static void resize(void)
{
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col);
	clearok(stdscr, TRUE);
}

static void init_colours(struct tui *t, const struct tui_options *o)
{
	t->color = o->color && has_colors();
	if (!t->color)
		return;
	start_color();
	use_default_colors();
	init_pair(PAIR_USER, COLOR_CYAN, -1);
	init_pair(PAIR_ASSISTANT, COLOR_GREEN, -1);
	init_pair(PAIR_NOTICE, COLOR_YELLOW, -1);
	init_pair(PAIR_ERROR, COLOR_RED, -1);
	init_pair(PAIR_CODE, COLOR_MAGENTA, -1);
	init_pair(PAIR_STATUS, COLOR_BLUE, -1);
}

int tui_run(const struct tui_options *o)
{
	struct tui t = { .state = STATE_LOADING };
	setlocale(LC_CTYPE, ""); /* the terminal's character set, for widths and input */
	transcript_init_locale();
	if (evq_init(&t.q) < 0 || sigpipe_open(handled_signals, ARRAY_LEN(handled_signals), NULL) < 0) {
		fprintf(stderr, "nibble: %s\n", error_message());
		return 1;
	}
	const char *slash = strrchr(o->engine.model_path, '/');
	snprintf(t.model_file, sizeof t.model_file, "%s", slash ? slash + 1 : o->engine.model_path);
	capture_stderr(&t, !o->state_warning);
	sigbus_screen(t.saved_stderr >= 0 ? t.saved_stderr : STDERR_FILENO);
	initscr();
	raw();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	init_colours(&t, o);
	mousemask(BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
			  | BUTTON5_PRESSED
#endif
		  , NULL);
	printf("\033[?2004h"); /* bracketed paste: a pasted text arrives marked */
	fflush(stdout);
	struct pollfd pending = { STDIN_FILENO, POLLIN, 0 };
	bool typed_ahead = poll(&pending, 1, 0) > 0;
	input_init(on_line, &t, o->history);
	if (o->state_warning)
		add_note(&t, ENTRY_NOTICE, o->state_warning);

	t.engine = engine_start(&o->engine, &t.q);
	if (!t.engine) {
		add_note(&t, ENTRY_ERROR, error_message());
		t.state = STATE_FAILED;
	}
	while (!t.quit) {
		if (!t.log_reported && log_has_text(&t)) {
			char msg[600];
			snprintf(msg, sizeof msg, "messages from the libraries are written to %s", t.log_path);
			add_note(&t, ENTRY_NOTICE, msg);
			t.log_reported = true;
		}
		draw(&t);
		struct pollfd fds[3] = { { STDIN_FILENO, POLLIN, 0 }, { t.q.pipe[0], POLLIN, 0 },
					 { sigpipe_fd(), POLLIN, 0 } };
		int timeout_ms = t.ctrl_c_at > 0 ? 500 : -1;
		if (poll(fds, 3, timeout_ms) < 0 && errno != EINTR)
			break;
		if (t.ctrl_c_at > 0 && now_seconds() - t.ctrl_c_at >= QUIT_WINDOW) {
			t.ctrl_c_at = 0;
			t.flash[0] = '\0';
		}
		if (fds[2].revents & POLLIN) {
			unsigned sigs = sigpipe_take();
			if (sigs & 1u << SIGWINCH)
				resize();
			if (sigs & 1u << SIGINT)
				interrupt(&t, true);
			if (sigs & (1u << SIGTERM | 1u << SIGHUP | 1u << SIGQUIT))
				t.quit = true; /* the engine saves the conversation on the way out */
		}
		if (fds[1].revents & POLLIN) {
			struct event *evs;
			size_t n = evq_take(&t.q, &evs);
			for (size_t i = 0; i < n; i++)
				handle_event(&t, &evs[i]);
			evq_events_free(evs, n);
		}
		if (fds[0].revents & (POLLIN | POLLHUP)) {
			/* Every key waiting, then one redraw. */
			nodelay(stdscr, TRUE);
			int key;
			while (!t.quit && (key = getch()) != ERR) {
				nodelay(stdscr, FALSE);
				/* Typed before the screen opened, Enter came through the
				 * terminal's cooked mode as a newline. */
				handle_key(&t, key == '\n' && typed_ahead ? '\r' : key);
				nodelay(stdscr, TRUE);
			}
			typed_ahead = false;
			nodelay(stdscr, FALSE);
			if (fds[0].revents & POLLHUP && !(fds[0].revents & POLLIN))
				t.quit = true; /* the terminal went away */
		}
	}
	engine_stop(t.engine); /* stops the reply; the engine saves the conversation first */
	input_free();
	printf("\033[?2004l");
	fflush(stdout);
	endwin();
	sigbus_screen(-1);
	restore_stderr(&t);
	sigpipe_close();
	transcript_free(&t.tr);
	free(t.queued);
	evq_free(&t.q);
	return t.state == STATE_FAILED ? 1 : 0;
}
