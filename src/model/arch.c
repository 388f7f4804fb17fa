/* arch.c - supported architectures and what sets them apart. */
#include "config.h"

#include "model/arch.h"

#include <string.h>

static const struct arch archs[] = {
	/* Llama 1/2/3.x, Mistral, TinyLlama, SmolLM, the TinyStories models.
	 * Their GGUF converters permute Q/K so rope pairs adjacent dims. */
	{ .name = "llama", .rope = ROPE_ADJACENT },
};

const struct arch *arch_find(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++)
		if (strlen(archs[i].name) == len && memcmp(archs[i].name, name, len) == 0)
			return &archs[i];
	return NULL;
}

const char *arch_list(void)
{
	return "llama";
}
