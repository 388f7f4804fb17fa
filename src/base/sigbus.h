/* sigbus.h - a model file cut short on disk while nibble has it mapped
 * (overwritten in place, truncated) makes reading its weights raise
 * SIGBUS.  That ends nibble with a one-line message and the terminal given
 * back, instead of a crash. */
#ifndef NIBBLE_SIGBUS_H
#define NIBBLE_SIGBUS_H

#include <signal.h>

/* Catches SIGBUS; remembers the terminal's settings to restore them. */
void sigbus_catch(void);
/* While the full-screen chat has the terminal, stderr_fd is where its
 * stderr went (the chat sends stderr to a log), and its alternate screen
 * is left too; -1 when the chat gives the terminal back. */
void sigbus_screen(int stderr_fd);
/* The signals a worker thread blocks, leaving them to the UI thread: all
 * but those its own faults raise (SIGBUS, SIGSEGV, SIGFPE, SIGILL), which
 * when blocked kill the process without a word. */
void sigbus_worker_mask(sigset_t *set);

#endif
