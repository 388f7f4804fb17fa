/* sessions.h - where conversations are saved on their own: one JSON file a
 * session in $XDG_STATE_HOME/nibble/sessions/, so a crash or a closed SSH
 * connection loses nothing and `nibble chat --resume` can go on. */
#ifndef NIBBLE_SESSIONS_H
#define NIBBLE_SESSIONS_H

/* Makes the state folders ($XDG_STATE_HOME/nibble and its sessions/) and
 * checks that files can be created in them, so the chat can warn once at
 * the start instead of at every save.  0, or -1 with error() naming the
 * folder and why. */
int sessions_check_dir(void);
/* A new file name for this session (the folder is created).  Caller frees;
 * NULL with error() when there is no place for it. */
char *sessions_new_path(void);
/* The most recently saved session.  Caller frees; NULL with error() when
 * there is none. */
char *sessions_latest(void);

#endif
