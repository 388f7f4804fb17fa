/* fixtures.h - where the shared reference files live, and what to do when
 * they are missing: skip (exit 77), or fail when NIBBLE_REQUIRE_FIXTURES=1. */
#ifndef NIBBLE_FIXTURES_H
#define NIBBLE_FIXTURES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The shared fixtures directory; exits (skip or fail) when it is missing. */
static inline const char *fixtures_dir(void)
{
	const char *dir = getenv("NIBBLE_TEST_DATA");
	struct stat st;
	if (dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return dir;
	const char *req = getenv("NIBBLE_REQUIRE_FIXTURES");
	if (req && strcmp(req, "1") == 0) {
		printf("Bail out! fixtures not found at '%s' and NIBBLE_REQUIRE_FIXTURES=1\n", dir ? dir : "(unset)");
		exit(1);
	}
	printf("1..0 # SKIP fixtures not found (set NIBBLE_TEST_DATA)\n");
	exit(77);
}

/* dir/rel in a static buffer. */
static inline const char *fixture(const char *rel)
{
	static char path[4][4096];
	static int next;
	char *p = path[next++ % 4];
	snprintf(p, sizeof path[0], "%s/%s", fixtures_dir(), rel);
	return p;
}

#endif
