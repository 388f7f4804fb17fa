/* util.c - allocation, error messages, number parsing, small OS helpers. */
#include "config.h"

#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void out_of_memory(size_t n)
{
	fprintf(stderr, "nibble: out of memory allocating %zu bytes\n", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		out_of_memory(n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		out_of_memory(n * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		out_of_memory(n);
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static _Thread_local char last_error[512];

/* Error messages quote names and strings from files that may be hostile:
 * a message stays one line of text, whatever it quotes, so that it cannot
 * send the terminal escape sequences.  Control characters (C0, DEL, C1) and
 * bytes that are not UTF-8 become '?'. */
static void make_printable(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p;) {
		unsigned c = *p;
		size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 && c >= 0xc2 ? 2 : (c & 0xf0) == 0xe0 ? 3 :
			   (c & 0xf8) == 0xf0 && c <= 0xf4 ? 4 : 0;
		size_t ok = 1;
		while (ok < n && (p[ok] & 0xc0) == 0x80)
			ok++;
		if (n == 0 || ok < n || c < 0x20 || c == 0x7f || (c == 0xc2 && p[1] < 0xa0)) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
}

int error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof last_error, fmt, ap);
	va_end(ap);
	make_printable(last_error);
	return -1;
}

int error_prefix(const char *fmt, ...)
{
	char old[sizeof last_error];
	memcpy(old, last_error, sizeof old);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(last_error, sizeof last_error, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n + 2 < sizeof last_error) {
		memcpy(last_error + n, ": ", 2);
		size_t room = sizeof last_error - (size_t)n - 2, len = strnlen(old, room - 1);
		memcpy(last_error + n + 2, old, len);
		last_error[n + 2 + len] = '\0';
	}
	make_printable(last_error);
	return -1;
}

const char *error_message(void)
{
	return last_error;
}

int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || errno == ERANGE)
		return error("'%s' is not an integer", s);
	if (v < min || v > max)
		return error("%s is out of range [%lld, %lld]", s, (long long)min, (long long)max);
	*out = v;
	return 0;
}

int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	if (*s == '-')
		return error("'%s' must not be negative", s);
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *end || errno == ERANGE)
		return error("'%s' is not an unsigned integer", s);
	*out = v;
	return 0;
}

int parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (!*s || *end || errno == ERANGE || !isfinite(v))
		return error("'%s' is not a number", s);
	if (v < min || v > max)
		return error("%s is out of range [%g, %g]", s, min, max);
	*out = v;
	return 0;
}

double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

char *read_file(const char *path, size_t *len_out)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f) {
		error("cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	size_t cap = 4096, len = 0;
	char *buf = xmalloc(cap);
	for (;;) {
		if (len + 1 >= cap)
			buf = xrealloc(buf, cap *= 2);
		size_t n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	int failed = ferror(f);
	if (f != stdin)
		fclose(f);
	if (failed) {
		free(buf);
		error("cannot read '%s'", path);
		return NULL;
	}
	buf[len] = '\0';
	if (len_out)
		*len_out = len;
	return buf;
}

/* Writes all of data to fd; 0, or -1 with errno set. */
static int write_all(int fd, const char *p, size_t left)
{
	while (left > 0) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		left -= (size_t)w;
	}
	return 0;
}

/* A device or a FIFO (/dev/stdout, /dev/full) has no old contents to keep,
 * and renaming a file over it would replace the device node itself. */
static int write_in_place(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return error("cannot open '%s': %s", path, strerror(errno));
	if (write_all(fd, data, len) < 0) {
		error("cannot write '%s': %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (close(fd) != 0)
		return error("cannot write '%s': %s", path, strerror(errno));
	return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len)
{
	struct stat st, lst;
	bool exists = stat(path, &st) == 0;
	if (exists && !S_ISREG(st.st_mode))
		return write_in_place(path, data, len);
	/* Through a symbolic link, the file it names is replaced and the link stays. */
	char *target = exists && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode) ? realpath(path, NULL) : NULL;
	const char *dest = target ? target : path;
	size_t n = strlen(dest) + 16;
	char *tmp = xmalloc(n);
	snprintf(tmp, n, "%s.tmpXXXXXX", dest);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		error("cannot create a file next to '%s': %s", dest, strerror(errno));
		free(tmp);
		free(target);
		return -1;
	}
	if (write_all(fd, data, len) < 0 || (fsync(fd) != 0 && errno != EINVAL)) {
		error("cannot write '%s': %s", path, strerror(errno));
		goto fail;
	}
	/* A replaced file keeps its permissions; a new one gets the umask's. */
	mode_t mask = umask(0);
	umask(mask);
	fchmod(fd, exists ? st.st_mode & 07777 : 0666 & ~mask);
	if (close(fd) != 0) {
		fd = -1;
		error("cannot write '%s': %s", path, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, dest) != 0) {
		error("cannot replace '%s': %s", dest, strerror(errno));
		goto fail;
	}
	free(tmp);
	free(target);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	free(target);
	return -1;
}

/* make_parent_dirs(), with error() only when report is set. */
static int make_dirs(char *path, bool report)
{
	char *last = strrchr(path, '/');
	for (char *p = path + 1; last && p <= last; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int failed = mkdir(path, 0700) != 0 && errno != EEXIST;
		if (failed && report)
			error("cannot create '%s': %s", path, strerror(errno));
		*p = '/';
		if (failed)
			return -1;
	}
	return 0;
}

char *xdg_path(const char *env, const char *fallback, const char *name, bool create_dirs)
{
	const char *base = getenv(env), *home = getenv("HOME");
	struct strbuf path = { 0 };
	if (base && *base) {
		strbuf_append(&path, base, strlen(base));
	} else if (home && *home) {
		strbuf_append(&path, home, strlen(home));
		strbuf_append(&path, "/", 1);
		strbuf_append(&path, fallback, strlen(fallback));
	} else {
		return NULL;
	}
	strbuf_append(&path, "/nibble/", 8);
	strbuf_append(&path, name, strlen(name));
	/* a folder that cannot be made shows when the file is written */
	if (create_dirs)
		(void)make_dirs(path.data, false);
	return path.data;
}

int make_parent_dirs(char *path)
{
	return make_dirs(path, true);
}

int cpu_physical_cores(void)
{
	/* Count distinct (package, core) pairs; hyper-threads share a core and
	 * add little to memory-bound kernels. */
	enum { MAX_CPUS = 1024 };
	static long seen[MAX_CPUS];
	int n_seen = 0;
	for (int cpu = 0; cpu < MAX_CPUS; cpu++) {
		char path[128];
		long core = -1, pkg = -1;
		snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/core_id", cpu);
		FILE *f = fopen(path, "r");
		if (!f)
			break;
		if (fscanf(f, "%ld", &core) != 1)
			core = -1;
		fclose(f);
		snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/physical_package_id", cpu);
		f = fopen(path, "r");
		if (f) {
			if (fscanf(f, "%ld", &pkg) != 1)
				pkg = -1;
			fclose(f);
		}
		long key = pkg * 100000 + core;
		bool dup = false;
		for (int i = 0; i < n_seen; i++)
			dup |= seen[i] == key;
		if (!dup)
			seen[n_seen++] = key;
	}
	if (n_seen > 0)
		return n_seen;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

const char *format_bytes(uint64_t bytes, char *buf, size_t size)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	size_t u = 0;
	while (v >= 1024 && u + 1 < ARRAY_LEN(units)) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, size, "%.2f %s", v, units[u]);
	return buf;
}

uint64_t resident_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long long size, pages;
	int n = f ? fscanf(f, "%llu %llu", &size, &pages) : 0;
	if (f)
		fclose(f);
	long page = sysconf(_SC_PAGESIZE);
	return n == 2 && page > 0 ? pages * (uint64_t)page : 0;
}

void strbuf_append(struct strbuf *b, const void *data, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	if (n) /* data may be NULL when n is 0 */
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	strbuf_append(b, "", 0);
	if (b->len + (size_t)n + 1 > b->cap) {
		b->cap = b->len + (size_t)n + 1;
		b->data = xrealloc(b->data, b->cap);
	}
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void strbuf_free(struct strbuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
