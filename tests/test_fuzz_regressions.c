/* test_fuzz_regressions.c - the fuzz harnesses of tests/fuzz, built with the
 * normal compiler, run over every input of their seed corpora
 * (tests/fuzz/corpus/NAME) and every input that once made them fail
 * (tests/fuzz/regressions/NAME).  A harness aborts on a broken invariant,
 * so a finding that comes back ends this test with a failure. */
#include "config.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tap.h"
#include "base/util.h"

static const struct {
	const char *name;
	int (*one)(const uint8_t *data, size_t size);
} harnesses[] = {
	{ "gguf", fuzz_gguf_one },
	{ "tokenizer", fuzz_tokenizer_one },
	{ "template", fuzz_template_one },
	{ "utf8", fuzz_utf8_one },
};

static int is_input(const struct dirent *e)
{
	return e->d_name[0] != '.' && strcmp(e->d_name, "README") != 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Runs every file of dir through one(); returns how many there were. */
static int replay_dir(const char *label, const char *dir, int (*one)(const uint8_t *, size_t))
{
	struct dirent **names;
	int n = scandir(dir, &names, is_input, by_name);
	for (int i = 0; i < n; i++) {
		char path[4096];
		size_t len;
		snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
		char *data = read_file(path, &len);
		if (ok(data != NULL, "%s: %s is readable", label, names[i]->d_name)) {
			/* a copy of exactly its size, so a sanitizer sees an overread */
			uint8_t *copy = xmalloc(len ? len : 1);
			memcpy(copy, data, len);
			one(copy, len);
			ok(1, "%s: %s", label, names[i]->d_name);
			free(copy);
		}
		free(data);
		free(names[i]);
	}
	if (n > 0)
		free(names);
	return n < 0 ? 0 : n;
}

int main(void)
{
	const char *srcdir = getenv("NIBBLE_SRCDIR"), *require = getenv("NIBBLE_REQUIRE_FIXTURES");
	if (!srcdir)
		srcdir = ".";
	fuzz_tokenizer_init(NULL, NULL);
	for (size_t h = 0; h < ARRAY_LEN(harnesses); h++) {
		const char *name = harnesses[h].name;
		if (strcmp(name, "tokenizer") == 0 && fuzz_tokenizer_vocab_count() == 0) {
			if (require && strcmp(require, "1") == 0)
				ok(0, "tokenizer: vocabularies found (NIBBLE_TEST_DATA/vocab)");
			else
				skip("tokenizer: no vocabularies (set NIBBLE_TEST_DATA)");
			continue;
		}
		char dir[4096];
		snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", srcdir, name);
		int n = replay_dir(name, dir, harnesses[h].one);
		ok(n > 0, "%s: the seed corpus has %d inputs", name, n);
		snprintf(dir, sizeof dir, "%s/tests/fuzz/regressions/%s", srcdir, name);
		replay_dir(name, dir, harnesses[h].one);
	}
	return tap_done();
}
