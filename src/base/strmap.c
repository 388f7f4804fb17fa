/* strmap.c - string hash map used for GGUF keys, tensor names and vocabularies. */
#include "config.h"

#include "base/strmap.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static uint64_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h ^ (h >> 29);
}

void strmap_init(struct strmap *m, size_t n)
{
	size_t cap = 16;
	while (cap < n * 2)
		cap *= 2;
	m->slots = xcalloc(cap, sizeof *m->slots);
	m->cap = cap;
	m->count = 0;
}

void strmap_free(struct strmap *m)
{
	if (!m)
		return;
	free(m->slots);
	m->slots = NULL;
	m->cap = m->count = 0;
}

static struct strmap_slot *find_slot(const struct strmap *m, const char *key, size_t len)
{
	size_t i = hash_bytes(key, len) & (m->cap - 1);
	for (;;) {
		struct strmap_slot *s = &m->slots[i];
		if (!s->key || (s->len == len && memcmp(s->key, key, len) == 0))
			return s;
		i = (i + 1) & (m->cap - 1);
	}
}

static void grow(struct strmap *m)
{
	struct strmap old = *m;
	m->cap *= 2;
	m->slots = xcalloc(m->cap, sizeof *m->slots);
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].key)
			*find_slot(m, old.slots[i].key, old.slots[i].len) = old.slots[i];
	free(old.slots);
}

int32_t strmap_put(struct strmap *m, const char *key, size_t len, int32_t value)
{
	if ((m->count + 1) * 2 > m->cap)
		grow(m);
	struct strmap_slot *s = find_slot(m, key, len);
	if (s->key)
		return s->value;
	s->key = key;
	s->len = len;
	s->value = value;
	m->count++;
	return -1;
}

int32_t strmap_get(const struct strmap *m, const char *key, size_t len)
{
	if (!m->cap)
		return -1;
	const struct strmap_slot *s = find_slot(m, key, len);
	return s->key ? s->value : -1;
}
