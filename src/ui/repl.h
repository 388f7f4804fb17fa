/* repl.h - the plain line-mode chat: a readline prompt on a terminal, or
 * lines read from a pipe; replies stream to stdout. */
#ifndef NIBBLE_REPL_H
#define NIBBLE_REPL_H

#include <stdbool.h>

#include "chat/chat.h"

/* Runs the conversation until /quit, end of input, SIGTERM or SIGHUP,
 * saving it to autosave (if not NULL) after each turn, and on a terminal
 * the input history to history (if not NULL).  Returns an exit code. */
int repl_run(struct chat *c, bool verbose, const char *autosave, const char *history);

/* Writes reply text to stdout as it comes (a chat_output_fn). */
void repl_print(void *arg, const char *text, size_t len);

/* Prints what the last turn left to say: stopped, context full, turns
 * dropped, the chat format falling back, and with verbose its speed. */
void repl_report_turn(struct chat *c, bool verbose);

#endif
