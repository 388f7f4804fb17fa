/* tui.h - the full-screen chat (ncurses): transcript, status bar and
 * input line, with the model running on the engine thread. */
#ifndef NIBBLE_TUI_H
#define NIBBLE_TUI_H

#include <stdbool.h>

#include "chat/engine.h"

struct tui_options {
	struct engine_config engine;
	bool color;        /* false: no colour at all (NO_COLOR, --no-color, color = never) */
	bool force_color;  /* color = always */
	const char *history;       /* the input history file, or NULL */
	const char *state_warning; /* why nothing can be saved, shown once; or NULL */
};

/* Runs the chat until the user quits.  Returns an exit code. */
int tui_run(const struct tui_options *o);

#endif
