/* slash.h - the slash commands of a chat (/help, /save, /set ...), shared by
 * the plain REPL and the full-screen UI.  They only touch the chat and
 * report in text; the caller shows it. */
#ifndef NIBBLE_SLASH_H
#define NIBBLE_SLASH_H

#include <stdbool.h>

#include "chat/chat.h"
#include "base/util.h"

enum slash_result {
	SLASH_NOT_A_COMMAND, /* the line does not start with '/': send it as a message */
	SLASH_DONE,          /* handled; out says what happened */
	SLASH_QUIT,
};

/* Runs the command in line, appending its report (one or more lines, each
 * ending in '\n') to out. */
enum slash_result slash_run(struct chat *c, const char *line, struct strbuf *out);

#endif
