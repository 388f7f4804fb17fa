/* util.h - allocation that aborts on small OOM, the thread-local error message,
 * strict number parsing and a few helpers shared by every module. */
#ifndef NIBBLE_UTIL_H
#define NIBBLE_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation for small bookkeeping objects: prints a message and aborts when
 * memory runs out.  Big buffers (weights, KV cache) use malloc directly and
 * report a failure the user can act on. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Records a printf-style message as this thread's last error and returns -1,
 * so that `return error("...")` both reports and fails. */
int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Like error() but prefixes "CONTEXT: " to the message already recorded. */
int error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The last message recorded by error() on this thread ("" if none). */
const char *error_message(void);

/* Strict parsers: the whole string must be a number in [min, max].
 * Return 0 on success, -1 (with error()) otherwise. */
int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
int parse_u64(const char *s, uint64_t *out);
int parse_double(const char *s, double min, double max, double *out);

/* Monotonic time in seconds. */
double now_seconds(void);

/* Reads a whole file (or stdin for "-") into a NUL-terminated heap buffer. */
char *read_file(const char *path, size_t *len_out);

/* Writes a buffer to PATH through a temporary file and rename(), so an
 * existing file is never left half-written (full disk, crash); it keeps its
 * permissions, and a symbolic link stays, the file it names replaced.  A
 * device or FIFO (/dev/stdout) is written directly.  0, or -1 with error(). */
int write_file_atomic(const char *path, const void *data, size_t len);

/* $ENV/nibble/NAME, or $HOME/FALLBACK/nibble/NAME when ENV is unset or
 * empty (xdg_path("XDG_STATE_HOME", ".local/state", "history", true)).
 * create_dirs makes the directories above NAME.  Caller frees; NULL when
 * neither variable is set. */
char *xdg_path(const char *env, const char *fallback, const char *name, bool create_dirs);
/* Makes the folders of path down to its last '/' (mode 0700), like mkdir
 * -p.  0, or -1 with error() naming the folder that could not be made. */
int make_parent_dirs(char *path);

/* Number of physical CPU cores (falls back to online logical CPUs). */
int cpu_physical_cores(void);

/* Formats a byte count as "1.23 GiB" into buf. */
const char *format_bytes(uint64_t bytes, char *buf, size_t size);
/* This process's resident memory now (from /proc/self/statm), 0 if unknown. */
uint64_t resident_bytes(void);

/* Overflow-checked arithmetic on 64-bit sizes: return false on overflow. */
static inline bool mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
	return !__builtin_mul_overflow(a, b, out);
}
static inline bool add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
	return !__builtin_add_overflow(a, b, out);
}

/* A growable byte buffer; data is kept NUL-terminated. */
struct strbuf {
	char *data;
	size_t len, cap;
};
void strbuf_append(struct strbuf *b, const void *data, size_t n);
void strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_free(struct strbuf *b);

#endif
