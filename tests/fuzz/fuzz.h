/* fuzz.h - what the fuzz harnesses share: their entry points, which are
 * libFuzzer's under `make fuzz` and plain named functions when the replay
 * test (tests/test_fuzz_regressions.c) links all of them into one program,
 * and a check that stops the run loudly when an invariant breaks. */
#ifndef NIBBLE_FUZZ_H
#define NIBBLE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef FUZZ_REPLAY
#define FUZZ_ONE(name) fuzz_##name##_one
#define FUZZ_INIT(name) fuzz_##name##_init
#else
#define FUZZ_ONE(name) LLVMFuzzerTestOneInput
#define FUZZ_INIT(name) LLVMFuzzerInitialize
#endif

/* The entry points of each harness, for the replay test. */
int fuzz_gguf_one(const uint8_t *data, size_t size);
int fuzz_tokenizer_one(const uint8_t *data, size_t size);
int fuzz_template_one(const uint8_t *data, size_t size);
int fuzz_utf8_one(const uint8_t *data, size_t size);
int fuzz_tokenizer_init(int *argc, char ***argv);
/* Vocabularies fuzz_tokenizer_init loaded (0: none found). */
int fuzz_tokenizer_vocab_count(void);

/* An invariant of the code under test: abort() makes libFuzzer (and the
 * replay test) report the input. */
#define FUZZ_CHECK(cond, ...)                                                        \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "%s:%d: invariant failed: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                \
			fputc('\n', stderr);                                         \
			abort();                                                     \
		}                                                                    \
	} while (0)

/* Whether s[0..n) is strict UTF-8 (RFC 3629), checked independently of
 * src/utf8.c so that the two can disagree. */
static inline int fuzz_valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t len;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			len = 2, cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3, cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4, cp = c & 0x07;
		} else {
			return 0;
		}
		if (n - i < len)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		static const uint32_t min_cp[5] = { 0, 0, 0x80, 0x800, 0x10000 };
		if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

#endif
