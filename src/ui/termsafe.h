/* termsafe.h - text from a model (or a file) made safe for a terminal:
 * control characters are shown, never sent, so model text cannot move the
 * cursor, change colours or send the terminal escape sequences. */
#ifndef NIBBLE_TERMSAFE_H
#define NIBBLE_TERMSAFE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/util.h"

/* How code point cp is shown when it is a control character: "^[" for ESC,
 * "^X" for the other C0 controls, "^?" for DEL, "??" for a C1 control
 * (U+0080..U+009F); written into buf, which is returned.  NULL for any
 * other character, newline and tab included (the caller lays those out). */
const char *termsafe_control(uint32_t cp, char buf[3]);

/* Appends s[0..len) to out with its controls shown as above (newlines and
 * tabs kept) and invalid UTF-8 as U+FFFD.  A character split across two
 * calls is not joined: pass whole characters. */
void termsafe_append(struct strbuf *out, const char *s, size_t len);
/* Writes s[0..len) to f: shown as above when f is a terminal (tty), byte
 * for byte what the model wrote otherwise.  Whether all of it was written. */
bool termsafe_write(FILE *f, const char *s, size_t len, bool tty);
/* String s shown so, in buf (emptied first, freed by the caller). */
const char *termsafe_str(struct strbuf *buf, const char *s);

#endif
