/* strmap.h - an open-addressing hash map from byte strings to int32 values.
 * Keys are not copied: they must outlive the map (they usually point into
 * the mapped GGUF file). */
#ifndef NIBBLE_STRMAP_H
#define NIBBLE_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct strmap {
	struct strmap_slot {
		const char *key; /* NULL: empty */
		size_t len;
		int32_t value;
	} *slots;
	size_t cap; /* power of two */
	size_t count;
};

/* Prepares an empty map sized for about n keys. */
void strmap_init(struct strmap *m, size_t n);
void strmap_free(struct strmap *m);
/* Inserts key -> value.  Returns the existing value (and changes nothing)
 * when the key is already present, otherwise -1. */
int32_t strmap_put(struct strmap *m, const char *key, size_t len, int32_t value);
/* Returns the value for key, or -1 when absent. */
int32_t strmap_get(const struct strmap *m, const char *key, size_t len);

#endif
