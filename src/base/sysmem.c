/* sysmem.c - how much memory the machine can give nibble now: what Linux
 * says is available in RAM and swap, and no more than the cgroup (a
 * container, a systemd slice) still allows. */
#include "config.h"

#include "base/sysmem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

/* The kB value of the /proc/meminfo line `key`, or -1. */
static int64_t meminfo(const char *text, const char *key)
{
	size_t n = strlen(key);
	for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		long long kb;
		if (!strncmp(line, key, n) && line[n] == ':' && sscanf(line + n + 1, "%lld", &kb) == 1)
			return kb;
	}
	return -1;
}

/* One number from a cgroup file; "max" and errors give UINT64_MAX. */
static uint64_t cgroup_value(const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof path, "/sys/fs/cgroup%s/%s", dir, name);
	size_t len;
	char *text = read_file(path, &len);
	unsigned long long v;
	uint64_t result = text && sscanf(text, "%llu", &v) == 1 ? (uint64_t)v : UINT64_MAX;
	free(text);
	return result;
}

/* What the cgroup v2 this process is in (and its parents) still allows. */
static uint64_t cgroup_room(void)
{
	size_t len;
	char *text = read_file("/proc/self/cgroup", &len);
	uint64_t room = UINT64_MAX;
	if (text && !strncmp(text, "0::", 3)) {
		char *dir = text + 3;
		dir[strcspn(dir, "\n")] = 0;
		/* each level up to the root may set a limit */
		for (;;) {
			uint64_t max = cgroup_value(dir, "memory.max"), cur = cgroup_value(dir, "memory.current");
			if (max != UINT64_MAX && cur != UINT64_MAX) {
				uint64_t left = max > cur ? max - cur : 0;
				if (left < room)
					room = left;
			}
			char *slash = strrchr(dir, '/');
			if (!slash || slash == dir)
				break;
			*slash = 0;
		}
	}
	free(text);
	return room;
}

uint64_t sysmem_available(void)
{
	size_t len;
	char *text = read_file("/proc/meminfo", &len);
	if (!text)
		return 0;
	int64_t avail = meminfo(text, "MemAvailable"), swap = meminfo(text, "SwapFree");
	free(text);
	if (avail < 0)
		return 0;
	uint64_t bytes = ((uint64_t)avail + (uint64_t)(swap > 0 ? swap : 0)) * 1024;
	uint64_t room = cgroup_room();
	return bytes < room ? bytes : room;
}
