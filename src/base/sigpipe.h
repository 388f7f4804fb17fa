/* sigpipe.h - signals turned into bytes on a pipe, so a poll() loop hears
 * them safely (the handler only writes a byte, and sets an optional flag).
 * Used by the UI thread of the REPL and of the chat screen. */
#ifndef NIBBLE_SIGPIPE_H
#define NIBBLE_SIGPIPE_H

#include <stdatomic.h>
#include <stddef.h>

/* Catches the n signals in sigs; a SIGINT, SIGTERM or SIGHUP also sets
 * *on_stop (may be NULL), which stops a reply being written.  0, or -1
 * with error(). */
int sigpipe_open(const int *sigs, size_t n, atomic_bool *on_stop);
/* Restores the default actions and closes the pipe. */
void sigpipe_close(void);
/* The read end, for poll(). */
int sigpipe_fd(void);
/* The signals caught since the last call, as a bit set of (1u << sig). */
unsigned sigpipe_take(void);

#endif
