/* fuzz_mmap.c - makes the GGUF file the harness writes visible to
 * AddressSanitizer byte for byte.  gguf_open() maps its file, and a read
 * past the end of a mapping stays inside the last page, where no sanitizer
 * sees it; so the program is linked with -Wl,--wrap=mmap,--wrap=munmap and
 * a mapping of that one file becomes a heap copy of exactly its size. */
#include "config.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_mmap.h"

void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __real_munmap(void *addr, size_t len);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __wrap_munmap(void *addr, size_t len);

static dev_t copy_dev;
static ino_t copy_ino;
static int copy_set;
static void *copies[8];

void fuzz_mmap_copy_file(int fd)
{
	struct stat st;
	copy_set = fstat(fd, &st) == 0;
	copy_dev = st.st_dev;
	copy_ino = st.st_ino;
}

static int is_copied_file(int fd)
{
	struct stat st;
	return copy_set && fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == copy_dev && st.st_ino == copy_ino;
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (!is_copied_file(fd) || (prot & PROT_WRITE) || len == 0)
		return __real_mmap(addr, len, prot, flags, fd, off);
	for (size_t slot = 0; slot < sizeof copies / sizeof copies[0]; slot++) {
		if (copies[slot])
			continue;
		char *p = malloc(len);
		size_t done = 0;
		while (p && done < len) {
			ssize_t r = pread(fd, p + done, len - done, off + (off_t)done);
			if (r <= 0)
				break;
			done += (size_t)r;
		}
		if (!p || done < len) {
			free(p);
			return MAP_FAILED;
		}
		copies[slot] = p;
		return p;
	}
	return __real_mmap(addr, len, prot, flags, fd, off);
}

int __wrap_munmap(void *addr, size_t len)
{
	for (size_t slot = 0; slot < sizeof copies / sizeof copies[0]; slot++)
		if (addr && copies[slot] == addr) {
			free(addr);
			copies[slot] = NULL;
			return 0;
		}
	return __real_munmap(addr, len);
}
