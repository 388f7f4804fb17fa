/* repl.c - line-mode chat.  On a terminal, GNU readline runs in callback
 * mode inside a poll() loop, so Ctrl-C can clear the line at the prompt and
 * stop a reply (between tokens) without ending the program. */
#include "config.h"

#include "ui/repl.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "base/sigpipe.h"
#include "chat/slash.h"
#include "ui/termsafe.h"
#include "base/util.h"

#define MULTILINE_MARK "\"\"\""

static atomic_bool cancel_reply; /* set by SIGINT, SIGTERM, SIGHUP: stops the reply being written */
#define ENDING_SIGNALS (1u << SIGTERM | 1u << SIGHUP)

/* Text for stdout: on a terminal, controls are shown, never obeyed; into a
 * pipe or file it stays byte for byte what the model wrote. */
static void print_safely(const char *text, size_t len)
{
	static int tty = -1;
	if (tty < 0)
		tty = isatty(STDOUT_FILENO);
	/* a failed write shows in ferror(stdout), which repl_run checks */
	(void)termsafe_write(stdout, text, len, tty);
}

void repl_print(void *arg, const char *text, size_t len)
{
	bool *ends_line = arg;
	print_safely(text, len);
	fflush(stdout);
	if (len)
		*ends_line = text[len - 1] == '\n';
}

void repl_report_turn(struct chat *c, bool verbose)
{
	const struct chat_stats *s = &c->last;
	if (c->format.note_new && (verbose || c->format.note_warn)) {
		fprintf(stderr, "nibble: %s\n", c->format.note);
		c->format.note_new = false;
	}
	if (s->dropped_turns)
		fprintf(stderr, "nibble: the context was full: dropped the %d oldest turn%s (the system prompt is kept)\n",
			s->dropped_turns, s->dropped_turns == 1 ? "" : "s");
	if (s->cancelled)
		fprintf(stderr, "nibble: reply stopped\n");
	if (s->context_full)
		fprintf(stderr, "nibble: reply cut short: the context is full\n");
	if (verbose)
		fprintf(stderr, "nibble: prompt %zu tokens (%zu evaluated, %.1f tok/s); reply %zu tokens (%.1f tok/s)\n",
			s->prompt_tokens, s->prompt_evaluated, s->prompt_evaluated / (s->prompt_seconds + 1e-9),
			s->reply_tokens, s->reply_tokens / (s->reply_seconds + 1e-9));
}

/* ---- reading lines ---------------------------------------------------- */

struct line_reader {
	bool interactive;
	char *line;     /* a completed line from readline */
	bool eof;
	bool ended;     /* SIGTERM or SIGHUP: save and leave */
};

static struct line_reader *current_reader;

static void on_readline(char *line)
{
	if (line)
		current_reader->line = line;
	else
		current_reader->eof = true;
	rl_callback_handler_remove();
}

/* The next line (caller frees), or NULL at end of input. */
static char *read_line(struct line_reader *r, const char *prompt)
{
	if (r->ended)
		return NULL;
	if (!r->interactive) {
		char *line = NULL;
		size_t cap = 0;
		ssize_t n = getline(&line, &cap, stdin);
		if (sigpipe_take() & ENDING_SIGNALS)
			r->ended = true;
		if (n < 0 || r->ended) {
			free(line);
			return NULL;
		}
		if (n > 0 && line[n - 1] == '\n')
			line[n - 1] = '\0';
		return line;
	}
	current_reader = r;
	r->line = NULL;
	rl_callback_handler_install(prompt, on_readline);
	while (!r->line && !r->eof) {
		struct pollfd fds[2] = { { STDIN_FILENO, POLLIN, 0 }, { sigpipe_fd(), POLLIN, 0 } };
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		if (fds[1].revents & POLLIN) {
			unsigned sigs = sigpipe_take();
			if (sigs & (1u << SIGWINCH))
				rl_resize_terminal();
			if (sigs & ENDING_SIGNALS) {
				r->ended = true;
				break;
			}
			if (sigs & (1u << SIGINT)) {
				/* Ctrl-C at the prompt drops the line being typed. */
				rl_replace_line("", 0);
				rl_crlf();
				rl_on_new_line();
				rl_redisplay();
				atomic_store(&cancel_reply, false);
			}
		}
		if (fds[0].revents & (POLLIN | POLLHUP))
			rl_callback_read_char();
	}
	if (!r->line)
		rl_callback_handler_remove();
	if (r->line && *r->line)
		add_history(r->line);
	return r->line;
}

/* A whole message: one line, or the lines between two """ lines. */
static char *read_message(struct line_reader *r)
{
	char *line = read_line(r, "> ");
	if (!line || strcmp(line, MULTILINE_MARK) != 0)
		return line;
	free(line);
	struct strbuf msg = { 0 };
	while ((line = read_line(r, "... ")) && strcmp(line, MULTILINE_MARK) != 0) {
		if (msg.len)
			strbuf_append(&msg, "\n", 1);
		strbuf_append(&msg, line, strlen(line));
		free(line);
	}
	free(line);
	if (!msg.data)
		strbuf_append(&msg, "", 0);
	return msg.data;
}

int repl_run(struct chat *c, bool verbose, const char *autosave, const char *history)
{
	bool autosave_failed = false;
	struct line_reader r = { .interactive = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) };
	static const int sigs[] = { SIGINT, SIGWINCH, SIGTERM, SIGHUP };
	if (sigpipe_open(sigs, ARRAY_LEN(sigs), &cancel_reply) < 0) {
		fprintf(stderr, "nibble: %s\n", error_message());
		return 1;
	}
	if (r.interactive) {
		rl_catch_signals = 0;
		rl_catch_sigwinch = 0;
		rl_change_environment = 0;
		rl_readline_name = "nibble";
		stifle_history(1000);
		if (history)
			read_history(history);
		struct strbuf banner = { 0 };
		strbuf_printf(&banner, "nibble: chatting with %s. /help lists commands, Ctrl-D or /quit leaves.\n",
			      c->model->name);
		print_safely(banner.data, banner.len);
		strbuf_free(&banner);
	}
	if (c->format.note_new && verbose) {
		fprintf(stderr, "nibble: %s\n", c->format.note);
		c->format.note_new = false;
	}

	int rc = 0;
	char *msg;
	while ((msg = read_message(&r))) {
		if (r.ended) { /* a message of several lines cut short */
			free(msg);
			msg = NULL;
			break;
		}
		struct strbuf report = { 0 };
		enum slash_result res = slash_run(c, msg, &report);
		if (res == SLASH_QUIT) {
			free(msg);
			break;
		}
		if (res == SLASH_DONE) {
			print_safely(report.data ? report.data : "", report.len);
			fflush(stdout);
		} else if (msg[strspn(msg, " \t")]) {
			bool ends_line = true;
			atomic_store(&cancel_reply, false);
			if (chat_send(c, msg, repl_print, &ends_line, &cancel_reply) < 0) {
				fprintf(stderr, "nibble: %s\n", error_message());
			} else {
				if (!ends_line || !chat_last_reply(c) || !*chat_last_reply(c))
					putchar('\n');
				fflush(stdout);
				repl_report_turn(c, verbose);
			}
			if (autosave && !autosave_failed && chat_save(c, autosave) < 0) {
				fprintf(stderr, "nibble: cannot autosave the conversation: %s\n", error_message());
				autosave_failed = true;
			}
			if (sigpipe_take() & ENDING_SIGNALS)
				r.ended = true;
		}
		strbuf_free(&report);
		free(msg);
	}
	if (r.interactive) {
		if (!msg)
			putchar('\n'); /* Ctrl-D leaves the cursor on the prompt line */
		if (history && write_history(history) != 0)
			fprintf(stderr, "nibble: cannot save the input history to '%s'\n", history);
	}
	if (ferror(stdout))
		rc = 1;
	sigpipe_close();
	return rc;
}
